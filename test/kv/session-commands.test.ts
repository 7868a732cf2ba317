/**
 * Session-level commands checked against kv_engine's executors: VERBOSITY (mcbp_executors.cc
 * verbosity_executor, privilege_chains.cc), LIST_BUCKETS (list_bucket_executor.cc) and GET_CLUSTER_CONFIG with the client's known
 * (epoch, revision) in the extras (get_cluster_config_executor, 7.x).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Datatype, Feature, Opcode, Status, encodeGetClusterConfigRequest, makeRequest } from '../../src/codec/index.js';
import { RAW_TEST, withServer } from './fixture.js';
import { expectStatus, hello } from './raw-client.js';

function verbosity(level: number, more: { key?: string } = {}): ReturnType<typeof makeRequest> {
  const extras = Buffer.alloc(4);
  extras.writeUInt32BE(level >>> 0);
  return makeRequest(Opcode.Verbosity, { extras, ...(more.key ? { key: Buffer.from(more.key) } : {}) });
}

describe('VERBOSITY', () => {
  test('an administrator sets it (any level); others get EACCESS; a bad layout is EINVAL', RAW_TEST, () =>
    withServer(async (f) => {
      await f.server.server.users.setBucketUser('carol', 'carol-pw', ['default']);
      const admin = await f.open();
      expectStatus(await admin.request(verbosity(2)), Status.Success);
      expectStatus(await admin.request(verbosity(-1)), Status.Success, 'clamped, not refused');
      expectStatus(await admin.request(makeRequest(Opcode.Verbosity)), Status.Einval, 'no extras');
      expectStatus(await admin.request(verbosity(1, { key: 'k' })), Status.Einval, 'a key');
      const carol = await f.open({ user: 'carol', password: 'carol-pw' });
      expectStatus(await carol.request(verbosity(1)), Status.Eaccess);
    }));
});

describe('GET_CLUSTER_CONFIG with a known version', () => {
  test('a client as new as the server, or newer, gets an empty reply; an older one the map', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      // kv grants the feature that announces this (hello_packet_executor.cc: informative).
      assert.deepEqual(await hello(kv, [Feature.GetClusterConfigWithKnownVersion, Feature.Xerror]), [Feature.Xerror, Feature.GetClusterConfigWithKnownVersion]);
      const full = expectStatus(await kv.request(encodeGetClusterConfigRequest()), Status.Success);
      const { rev, revEpoch } = JSON.parse(full.value.toString()) as { rev: number; revEpoch: number };
      assert.ok(rev > 0 && revEpoch > 0);
      const ask = async (epoch: number, revision: number) => expectStatus(await kv.request(encodeGetClusterConfigRequest({ epoch, revision })), Status.Success);
      for (const [epoch, revision] of [[revEpoch, rev], [revEpoch, rev + 5], [revEpoch + 1, 0]] as const) {
        const same = await ask(epoch, revision);
        assert.equal(same.value.length, 0, `${epoch}/${revision}`);
        assert.equal(same.datatype, Datatype.Raw);
      }
      for (const [epoch, revision] of [[revEpoch, rev - 1], [revEpoch - 1, rev + 100]] as const) {
        const older = await ask(epoch, revision);
        assert.equal((JSON.parse(older.value.toString()) as { rev: number }).rev, rev, `${epoch}/${revision}`);
        assert.equal(older.datatype, Datatype.Json);
      }
    }));
});

describe('LIST_BUCKETS', () => {
  test('the buckets the user may access, space-separated; none before authentication', RAW_TEST, () =>
    withServer(async (f) => {
      await f.engine.createBucket('second', { numVBuckets: 8 });
      await f.engine.createBucket('third', { numVBuckets: 8 });
      await f.server.server.users.setBucketUser('carol', 'carol-pw', ['default', 'third']);
      const admin = await f.open({ bucket: null });
      assert.equal(expectStatus(await admin.request(makeRequest(Opcode.ListBuckets)), Status.Success).value.toString(), 'default second third');
      const carol = await f.open({ user: 'carol', password: 'carol-pw', bucket: null });
      assert.equal(expectStatus(await carol.request(makeRequest(Opcode.ListBuckets)), Status.Success).value.toString(), 'default third');
      const anonymous = await f.connect();
      expectStatus(await anonymous.request(makeRequest(Opcode.ListBuckets)), Status.Eaccess);
    }));
});
