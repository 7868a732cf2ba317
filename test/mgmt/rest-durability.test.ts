/**
 * The bucket setting `durabilityMinLevel` (issue #16) on the cluster-manager REST API, as ns_server
 * has it (menelaus_web_buckets.erl: accepted on create and edit, shown in the bucket JSON, a bad
 * value is 400 keyed `durability_min_level`), through the SDK's bucket manager, and through
 * `freshet bucket create|edit --durability`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DurabilityLevel } from 'couchbase';
import { FreshetServer } from '../../src/server/freshet-server.js';
import { connectSdk, SDK_TEST_TIMEOUT } from '../kv/sdk.js';
import { obj, runBucketCli as run, startMgmtServer } from './rest-helpers.js';

const BAD_LEVEL = "Durability minimum level must be one of 'none', 'majority', 'majorityAndPersistActive', or 'persistToMajority'";

describe('durabilityMinLevel over REST', () => {
  test('create and edit set it, the bucket JSON shows it, bad values are 400 and change nothing', async () => {
    const { t, mgmt } = await startMgmtServer();
    try {
      const { engine } = t.server;
      const level = async (name: string): Promise<unknown> => obj(await mgmt.json(`/pools/default/buckets/${name}`)).durabilityMinLevel;
      assert.equal(await level('default'), 'none', 'the default bucket has none');

      assert.equal((await mgmt.post('/pools/default/buckets', { name: 'plain', ramQuotaMB: '100' })).status, 202);
      assert.equal(engine.requireBucket('plain').durabilityMinLevel, 'none');
      assert.equal(await level('plain'), 'none');

      for (const l of ['majority', 'majorityAndPersistActive', 'persistToMajority'] as const) {
        const r = await mgmt.post('/pools/default/buckets', { name: `b-${l}`, ramQuotaMB: '100', durabilityMinLevel: l });
        assert.equal(r.status, 202, r.text);
        assert.equal(engine.requireBucket(`b-${l}`).durabilityMinLevel, l);
        assert.equal(await level(`b-${l}`), l);
      }
      const list = (await mgmt.json('/pools/default/buckets')) as unknown[];
      assert.ok(list.map(obj).some((b) => b.name === 'b-persistToMajority' && b.durabilityMinLevel === 'persistToMajority'));

      const bad = await mgmt.post('/pools/default/buckets', { name: 'bad', ramQuotaMB: '100', durabilityMinLevel: 'always' });
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(bad.text).errors, { durability_min_level: BAD_LEVEL });
      assert.equal(engine.bucket('bad'), undefined);

      const edit = await mgmt.post('/pools/default/buckets/plain', { durabilityMinLevel: 'majorityAndPersistActive' });
      assert.equal(edit.status, 200, edit.text);
      assert.equal(engine.requireBucket('plain').durabilityMinLevel, 'majorityAndPersistActive');
      assert.equal(await level('plain'), 'majorityAndPersistActive');
      const badEdit = await mgmt.post('/pools/default/buckets/plain', { durabilityMinLevel: 'Majority' });
      assert.equal(badEdit.status, 400);
      assert.deepEqual(JSON.parse(badEdit.text).errors, { durability_min_level: BAD_LEVEL });
      assert.equal(engine.requireBucket('plain').durabilityMinLevel, 'majorityAndPersistActive');
      assert.equal((await mgmt.post('/pools/default/buckets/plain', { durabilityMinLevel: 'none' })).status, 200);
      assert.equal(await level('plain'), 'none');
    } finally {
      await t.close();
    }
  });

  test('the setting survives a restart', async () => {
    const { t, mgmt } = await startMgmtServer();
    const dataDir = t.dataDir;
    try {
      assert.equal((await mgmt.post('/pools/default/buckets/default', { durabilityMinLevel: 'persistToMajority' })).status, 200);
      await t.server.close();
      const again = await FreshetServer.start({ dataDir, kvPort: 0, mgmtPort: 0, httpPort: 0, username: 'Administrator', password: 'password', fastHashing: true });
      try {
        assert.equal(again.engine.requireBucket('default').durabilityMinLevel, 'persistToMajority');
      } finally {
        await again.close();
      }
    } finally {
      await t.close().catch(() => undefined);
    }
  });

  test("the SDK's bucket manager creates with minimumDurabilityLevel and reads it back", { timeout: SDK_TEST_TIMEOUT }, async () => {
    const { t } = await startMgmtServer();
    try {
      const cluster = await connectSdk(t.server.ports.kv);
      try {
        await cluster.buckets().createBucket({ name: 'sdk', ramQuotaMB: 100, minimumDurabilityLevel: DurabilityLevel.MajorityAndPersistOnMaster });
        assert.equal(t.server.engine.requireBucket('sdk').durabilityMinLevel, 'majorityAndPersistActive');
        const settings = await cluster.buckets().getBucket('sdk');
        assert.equal(settings.minimumDurabilityLevel, DurabilityLevel.MajorityAndPersistOnMaster);
      } finally {
        await cluster.close();
      }
    } finally {
      await t.close();
    }
  });
});

describe('freshet bucket create|edit --durability', () => {
  test('sets and changes durabilityMinLevel; a bad level is a usage error', async () => {
    const { t } = await startMgmtServer();
    const conn = ['--mgmt-port', String(t.server.ports.mgmt), '-u', 'Administrator', '-p', 'password'];
    try {
      const { engine } = t.server;
      assert.deepEqual(await run(['create', 'safe', '--vbuckets', '4', '--durability', 'persistToMajority', ...conn]), [
        'created bucket safe (4 vbuckets, durability persistToMajority)',
      ]);
      assert.equal(engine.requireBucket('safe').durabilityMinLevel, 'persistToMajority');
      assert.deepEqual(await run(['create', 'quick', '--vbuckets', '4', ...conn]), ['created bucket quick (4 vbuckets)']);
      assert.equal(engine.requireBucket('quick').durabilityMinLevel, 'none');

      assert.deepEqual(await run(['edit', 'safe', '--durability', 'majority', ...conn]), ['bucket safe: durability majority']);
      assert.equal(engine.requireBucket('safe').durabilityMinLevel, 'majority');
      assert.deepEqual(await run(['edit', 'safe', '--durability', 'none', '--max-ttl', '60', ...conn]), ['bucket safe: max TTL 60s, durability none']);
      assert.equal(engine.requireBucket('safe').durabilityMinLevel, 'none');
      assert.equal(engine.requireBucket('safe').maxTTL, 60);

      await assert.rejects(run(['create', 'nope', '--durability', 'always', ...conn]), /Allowed choices are none, majority, majorityAndPersistActive, persistToMajority/);
      assert.equal(engine.bucket('nope'), undefined);
      await assert.rejects(run(['edit', 'safe', ...conn]), /bucket edit needs --max-ttl, --durability or --enable-flush/);
    } finally {
      await t.close();
    }
  });
});
