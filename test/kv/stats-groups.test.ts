/**
 * STAT `connections` (kv stats.cc stat_connections_executor, Connection::to_json) and `config`
 * (ep_engine.cc doConfigStats) as kv_engine serves them.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Feature, Status, encodeHelloRequest, encodeStatRequest, isStatTerminator, type Packet } from '../../src/codec/index.js';
import { RAW_TEST, withServer } from './fixture.js';
import { expectStatus, statGroup, type RawKv } from './raw-client.js';

interface ConnJson {
  socket: number;
  peername: { ip: string; port: number };
  user?: { name: string; domain: string };
  agent_name?: string;
  connection_id?: string;
  features: string[];
  bucket_index: number;
  dcp: boolean;
  ssl: boolean;
  datatype: string;
}

/** The replies of one STAT request: its statistics, or the error reply. */
async function stat(kv: RawKv, group: string): Promise<Packet[]> {
  kv.send(encodeStatRequest({ group }, { opaque: kv.opaque() }));
  return kv.collect((p) => p.status !== Status.Success || isStatTerminator(p));
}

async function connections(kv: RawKv, arg = ''): Promise<ConnJson[]> {
  const packets = await stat(kv, `connections${arg === '' ? '' : ` ${arg}`}`);
  expectStatus(packets[packets.length - 1]!, Status.Success);
  return packets.slice(0, -1).map((p) => {
    assert.equal(p.key.length, 0, 'each connection is a statistic with an empty key');
    return JSON.parse(p.value.toString()) as ConnJson;
  });
}

describe('STAT connections', () => {
  test('one JSON object per connection; others need the Stats privilege', RAW_TEST, () =>
    withServer(async (f) => {
      await f.server.server.users.setBucketUser('carol', 'carol-pw', ['default']);
      const other = await f.connect();
      expectStatus(await other.request(encodeHelloRequest({ agent: '{"a":"my-sdk/1.0","i":"0123456789abcdef/0011223344556677"}', features: [Feature.Xerror] })), Status.Success);
      const admin = await f.open({ features: [Feature.Xerror, Feature.Json, Feature.MutationSeqno, Feature.Collections] });

      const all = await connections(admin);
      assert.ok(all.length >= 2);
      const self = (await connections(admin, 'self'))[0]!;
      assert.deepEqual(self.user, { name: 'Administrator', domain: 'local' });
      assert.deepEqual(self.features, ['mutation extras', 'xerror', 'collections']);
      assert.equal(self.datatype, 'json');
      assert.ok(self.bucket_index > 0, 'default is selected');
      assert.equal(self.ssl, false);
      assert.equal(self.peername.ip.length > 0 && self.peername.port > 0, true);
      const hello = all.find((c) => c.agent_name === 'my-sdk/1.0');
      assert.ok(hello, 'the HELLO agent JSON is parsed');
      assert.equal(hello.connection_id, '0123456789abcdef/0011223344556677');
      assert.equal(hello.user, undefined);
      assert.equal(hello.bucket_index, 0);
      assert.deepEqual((await connections(admin, String(hello.socket))).map((c) => c.socket), [hello.socket]);

      const carol = await f.open({ user: 'carol', password: 'carol-pw' });
      const mine = await connections(carol);
      assert.equal(mine.length, 1, 'without the privilege: its own connection only');
      assert.equal(mine[0]!.user?.name, 'carol');
      expectStatus((await stat(carol, `connections ${hello.socket}`))[0]!, Status.Eaccess);
      expectStatus((await stat(carol, 'connections nope'))[0]!, Status.Einval);
    }));
});

describe('STAT config', () => {
  test("the bucket's configuration as ep_ parameters; no bucket is NO_BUCKET", RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const config = await statGroup(kv, 'config');
      assert.equal(config.get('ep_bucket_type'), 'persistent');
      assert.equal(config.get('ep_couch_bucket'), 'default');
      assert.equal(config.get('ep_max_vbuckets'), String(f.bucket.numVBuckets));
      assert.equal(config.get('ep_conflict_resolution_type'), 'seqno');
      assert.equal(config.get('ep_durability_min_level'), 'none');
      const bare = await f.open({ bucket: null });
      expectStatus((await stat(bare, 'config'))[0]!, Status.NoBucket);
    }));
});
