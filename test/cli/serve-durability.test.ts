/**
 * `freshet serve --durability LEVEL` as a real process: the `default` bucket it creates on first
 * start gets that durabilityMinLevel (none without the flag, as Couchbase's default), shown by the
 * REST bucket JSON; a level that is not one of Couchbase's four is a usage error. With
 * `--enable-flush` that bucket may be flushed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/server.js';
import { cli, startCli, until } from './run-cli.js';

const AUTH = { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` };

async function defaultBucket(args: string[]): Promise<Record<string, unknown>> {
  const dir = tempDir('freshet-cli-');
  const run = startCli(['serve', '--data', join(dir, 'data'), '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', '4', ...args]);
  try {
    await until(() => run.stdout.includes('freshet ready'), 'the ready line');
    const mgmt = Number(/mgmt=(\d+)/.exec(run.stdout)![1]);
    const bucket = (await (await fetch(`http://127.0.0.1:${mgmt}/pools/default/buckets/default`, { headers: AUTH })).json()) as Record<string, unknown>;
    return bucket;
  } finally {
    run.child.kill('SIGTERM');
    await run.done;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('cli > serve --durability', () => {
  test('sets the default bucket durabilityMinLevel on first start; none without it', async () => {
    assert.equal((await defaultBucket(['--durability', 'persistToMajority'])).durabilityMinLevel, 'persistToMajority');
    const plain = await defaultBucket([]);
    assert.equal(plain.durabilityMinLevel, 'none');
    assert.equal((plain.controllers as Record<string, unknown>).flush, undefined, 'not flushable without --enable-flush');
  });

  test('--enable-flush makes the default bucket flushable (its config lists the flush controller)', async () => {
    assert.equal(((await defaultBucket(['--enable-flush'])).controllers as Record<string, unknown>).flush, '/pools/default/buckets/default/controller/doFlush');
  });

  test('an unknown level is a usage error naming the levels', async () => {
    const dir = tempDir('freshet-cli-');
    try {
      const r = await cli(['serve', '--data', join(dir, 'data'), '--durability', 'sometimes']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /none, majority, majorityAndPersistActive, persistToMajority/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
