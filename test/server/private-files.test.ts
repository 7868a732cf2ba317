/**
 * Private files (store/private-files.ts): a new data directory is 0700 and every file in it 0600;
 * an existing directory or file open to group/others is reported as a warning at start. The
 * consumer's and the follower's checkpoint files are owner-only as well.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startTestServer, tempDir } from '../helpers/server.js';
import { FileCheckpointStore } from '../../src/consumer/checkpoint-store.js';
import { FileSeqStore } from '../../src/replicator/seq-store.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

/** A pino logger whose JSON lines land in an array. */
function capturingLogger(): { logger: pino.Logger; records: () => Array<{ level: number; msg: string; path?: string; mode?: string }> } {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
  return { logger, records: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; path?: string; mode?: string }) };
}

describe('server > private data directory', () => {
  test('a new data directory is created 0700 with 0600 files, and nothing is reported', async (t) => {
    const root = tempDir('freshet-modes-');
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dataDir = join(root, 'a', 'data');
    const { logger, records } = capturingLogger();
    const s = await startTestServer({ dataDir, logger });
    // Write something so every file LMDB keeps exists and has been written.
    await s.server.engine.requireBucket('default').set('k', '{"secret":true}');
    assert.equal(mode(join(root, 'a')), 0o700);
    assert.equal(mode(dataDir), 0o700);
    const files = readdirSync(dataDir).sort();
    assert.deepEqual(files, ['freshet.lock', 'freshet.mdb', 'freshet.mdb-lock']);
    for (const f of files) assert.equal(mode(join(dataDir, f)), 0o600, f);
    await s.server.close();
    for (const f of readdirSync(dataDir)) assert.equal(mode(join(dataDir, f)), 0o600, `${f} after close`);
    assert.deepEqual(records().filter((r) => /accessible to other users/.test(r.msg)), []);
  });

  test('an existing 0755 directory and a 0644 file are reported with the path, mode and fix', async (t) => {
    const root = tempDir('freshet-modes-');
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dataDir = join(root, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const first = await startTestServer({ dataDir });
    await first.server.close();
    chmodSync(join(dataDir, 'freshet.mdb'), 0o644);

    const { logger, records } = capturingLogger();
    const s = await startTestServer({ dataDir, logger });
    await s.server.close();
    const warned = records().filter((r) => r.level === 40 && /accessible to other users/.test(r.msg));
    assert.deepEqual(
      warned.map((r) => [r.path, r.mode]),
      [[dataDir, '755'], [join(dataDir, 'freshet.mdb'), '644']],
    );
    assert.match(warned[0]!.msg, new RegExp(`chmod 700 ${dataDir}$`));
    assert.match(warned[1]!.msg, /chmod 600 .*freshet\.mdb$/);
    assert.equal(mode(dataDir), 0o755, 'existing modes are reported, not changed');
  });

  test('checkpoint files of the consumer and the changes follower are owner-only', async (t) => {
    const root = tempDir('freshet-modes-');
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const cp = join(root, 'cp', 'tail.json');
    await new FileCheckpointStore(cp).save({ version: 1, bucket: 'default', vbuckets: {} });
    assert.equal(mode(join(root, 'cp')), 0o700);
    assert.equal(mode(cp), 0o600);
    const seq = join(root, 'seq', 'follow.json');
    await new FileSeqStore(seq).save('12-abc');
    assert.equal(mode(join(root, 'seq')), 0o700);
    assert.equal(mode(seq), 0o600);
  });
});
