/**
 * The logger contract (src/common/logger.ts): the library entry points default to silence without
 * loading pino, and a pino logger fits the contract as is (only src/cli creates pino loggers).
 *
 * The load check runs a real child process that imports `freshet`, `freshet/consumer` and
 * `freshet/replicator` from source, starts a FreshetServer and a ReplicatorManager with no logger
 * (the default paths), and records every module resolved, through an ESM resolve hook
 * (test/fixtures/record-imports.mjs) and node's CommonJS cache. The same probe on src/cli/serve-run.ts,
 * which does load pino, shows the check can fail.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SILENT_LOGGER, type Logger } from '../../src/common/logger.js';
import { SILENT_LOGGER as CONSUMER_SILENT, type ConsumerLogger } from '../../src/consumer/index.js';

const run = promisify(execFile);

/** Imports `imports` in a fresh node (with tsx), runs `body`, and lists what it loaded. */
async function loadedModules(imports: string[], body = ''): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'freshet-imports-'));
  try {
    const record = join(dir, 'resolved.txt');
    const script = [
      `import { createRequire } from 'node:module';`,
      ...imports.map((m, i) => `const m${i} = await import(${JSON.stringify(m)});`),
      body,
      `console.log(JSON.stringify(Object.keys(createRequire(process.cwd() + '/').cache)));`,
    ].join('\n');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--import', './test/fixtures/record-imports.mjs', '--input-type=module', '-e', script],
      { env: { ...process.env, RECORD_IMPORTS_FILE: record, FRESHET_TMP: dir }, timeout: 120_000 },
    );
    const cjs = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
    const esm = (await readFile(record, 'utf8')).split('\n').filter((l) => l !== '');
    return [...esm, ...cjs];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const isPino = (line: string): boolean => /(^|[\t/])pino([\t/]|$)|node_modules\/pino\//.test(line);

describe('common > logger', () => {
  test('importing and running the library entry points with default loggers never loads pino', async () => {
    const loaded = await loadedModules(
      ['./src/index.ts', './src/consumer/index.ts', './src/replicator/index.ts'],
      [
        // The default-logger paths: a server and a replication manager started without a logger.
        `const server = await m0.FreshetServer.start({ dataDir: process.env.FRESHET_TMP + '/data', kvPort: 0, mgmtPort: 0, httpPort: 0, fastHashing: true, numVBuckets: 4 });`,
        `const manager = new m2.ReplicatorManager({ nodeUuid: 'n' });`,
        `await manager.close();`,
        `await server.close();`,
      ].join('\n'),
    );
    assert.ok(loaded.some((l) => l.includes('/src/engine/engine.ts')), 'the recorder saw the engine load');
    assert.deepEqual(loaded.filter(isPino), []);
  });

  test('the probe does see pino where the CLI loads it', async () => {
    const loaded = await loadedModules(['./src/cli/serve-run.ts']);
    assert.ok(loaded.some(isPino), 'src/cli/serve-run.ts imports pino');
  });

  test('a pino logger is a Logger: levels and child bindings reach its output', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logger: Logger = pino({ level: 'trace', base: undefined, timestamp: false }, sink);
    const child = logger.child({ component: 'test' });
    child.warn({ vb: 3 }, 'fields and message');
    child.trace('message only');
    logger.fatal({ code: 1 });
    assert.deepEqual(lines, [
      { level: 40, component: 'test', vb: 3, msg: 'fields and message' },
      { level: 10, component: 'test', msg: 'message only' },
      { level: 60, code: 1 },
    ]);
  });

  test('SILENT_LOGGER writes nothing, its children are silent too, and the consumer shares it', () => {
    const consumer: ConsumerLogger = CONSUMER_SILENT;
    assert.equal(consumer, SILENT_LOGGER);
    assert.equal(SILENT_LOGGER.child({ a: 1 }), SILENT_LOGGER);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) {
      assert.equal(SILENT_LOGGER[level]({ x: 1 }, 'm'), undefined);
      assert.equal(SILENT_LOGGER[level]('m'), undefined);
    }
  });
});
