/**
 * Time-boxed (about 2 s) seeded fuzz of the parser and the family decoders: only
 * ProtocolError may escape, valid streams must parse exactly, and the loop must finish
 * (it runs in a worker; a worker that does not report back is terminated and fails).
 * Replay a failure with FUZZ_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

interface Report {
  readonly ok: boolean;
  readonly error?: string;
  readonly iterations?: number;
  readonly packets?: number;
  readonly protocolErrors?: number;
}

test('codec > parser > fuzz: only ProtocolError, no hang', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? 0x5eed1);
  // the .mjs entry registers tsx inside the worker, then loads fixtures/fuzz-worker.ts
  const worker = new Worker(new URL('./fixtures/fuzz-worker-entry.mjs', import.meta.url), {
    workerData: { seed, durationMs: 2000 },
  });
  // Hang detector, not a timing assertion: the loop stops itself after 2 s.
  const watchdogMs = 60_000;
  let timer: NodeJS.Timeout | undefined;
  const report = await Promise.race([
    new Promise<Report>((resolve, reject) => {
      worker.once('message', (m: Report) => resolve(m));
      worker.once('error', reject);
    }),
    new Promise<Report>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `no report within ${watchdogMs} ms (hang?)` }), watchdogMs);
    }),
  ]).finally(async () => {
    clearTimeout(timer);
    await worker.terminate();
  });
  assert.equal(report.error, undefined, `seed ${seed}`);
  assert.equal(report.ok, true);
  assert.ok((report.iterations ?? 0) > 100, 'fuzz loop made progress');
  assert.ok((report.packets ?? 0) > 0, 'some inputs produced packets');
  assert.ok((report.protocolErrors ?? 0) > 0, 'some inputs were rejected');
});
