import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GO_COUCHBASE_BUCKET, GO_COUCHBASE_POOL, GO_COUCHBASE_POOLS, GO_COUCHBASE_POOL_SERVICES, GOCBCORE_CFG_BUCKET, goDecodeErrors } from './go-json.js';
import { Mgmt, arr, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';
import { Db, writeDoc } from '../../src/couchdb/index.js';
import { parseDocument } from '../../src/couch/doc.js';

const ALICE = { username: 'alice', password: 'alice-secret' };

describe('cluster-manager REST: documents and access', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;

  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
    await s.t.server.engine.createBucket('other', { numVBuckets: 4 });
    await s.t.server.users.setBucketUser(ALICE.username, ALICE.password, ['default']);
  });
  after(() => s.t.close());

  test('GET / answers 200 without credentials (SDK ping)', async () => {
    const r = await mgmt.get('/', null);
    assert.equal(r.status, 200);
  });

  test('missing or wrong credentials get 401 with the Basic challenge, unknown paths 404', async () => {
    for (const creds of [null, { username: 'Administrator', password: 'wrong' }, { username: 'nobody', password: 'x' }]) {
      const r = await mgmt.get('/pools', creds);
      assert.equal(r.status, 401, JSON.stringify(creds));
      assert.equal(r.headers['www-authenticate'], 'Basic realm="Couchbase Server Admin / REST"');
    }
    for (const authorization of ['Basic !!!not-base64', 'Bearer abc', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      const r = await mgmt.call('GET', '/pools/default', { creds: null, headers: { authorization } });
      assert.equal(r.status, 401, authorization);
    }
    const missing = await mgmt.get('/no/such/thing');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'Requested resource not found.\r\n');
    // Only `default` is a pool; `nodes` is ns_server's old alias of it (MB-10859).
    assert.equal((await mgmt.get('/pools/other')).status, 404);
    const alias = obj(await mgmt.json('/pools/nodes'));
    assert.deepEqual(Object.keys(alias).sort(), Object.keys(obj(await mgmt.json('/pools/default'))).sort());
    assert.ok(Array.isArray(alias.nodes));
  });

  test('cbdatasource walk: /pools -> pool uri -> buckets uri -> bucket uri -> nodeServices', async () => {
    const { ports, engine } = s.t.server;
    const pools = obj(await mgmt.json('/pools'));
    assert.deepEqual(goDecodeErrors(pools, GO_COUCHBASE_POOLS), []);
    assert.equal(pools.isAdminCreds, true);
    assert.equal(pools.uuid, engine.uuid);
    const entry = obj(arr(pools.pools)[0]);
    assert.equal(entry.name, 'default');

    const pool = obj(await mgmt.json(String(entry.uri)));
    assert.deepEqual(goDecodeErrors(pool, GO_COUCHBASE_POOL), []);
    const node = obj(arr(pool.nodes)[0]);
    assert.equal(node.hostname, `127.0.0.1:${ports.mgmt}`);
    assert.equal(node.configuredHostname, node.hostname);
    assert.deepEqual(node.ports, { direct: ports.kv });
    assert.equal(node.thisNode, true);

    const buckets = arr(await mgmt.json(String(obj(pool.buckets).uri)));
    assert.deepEqual(goDecodeErrors(buckets, { slice: GO_COUCHBASE_BUCKET }), []);
    assert.deepEqual(buckets.map((b) => obj(b).name), ['default', 'other']);
    const def = obj(buckets[0]);
    assert.equal(def.uuid, engine.requireBucket('default').uuid);

    const bucket = obj(await mgmt.json(String(def.uri)));
    const vbsm = obj(bucket.vBucketServerMap);
    assert.deepEqual(vbsm.serverList, [`127.0.0.1:${ports.kv}`]);
    assert.equal(arr(vbsm.vBucketMap).length, 8);
    assert.ok(arr(vbsm.vBucketMap).every((row) => JSON.stringify(row) === '[0]'));
    assert.equal(obj(bucket.quota).rawRAM, 104857600);
    assert.equal(JSON.stringify(bucket).includes('$HOST'), false);

    const services = obj(await mgmt.json('/pools/default/nodeServices'));
    assert.deepEqual(goDecodeErrors(services, GO_COUCHBASE_POOL_SERVICES), []);
    const ext = obj(arr(services.nodesExt)[0]);
    assert.deepEqual(ext.services, { kv: ports.kv, mgmt: ports.mgmt, capi: ports.http });
    assert.equal(ext.thisNode, true);
  });

  test('the terse config has "$HOST" replaced by the address the client connected to', async () => {
    const { ports } = s.t.server;
    const r = await mgmt.get('/pools/default/b/default');
    assert.equal(r.status, 200);
    assert.equal(r.text.includes('$HOST'), false);
    const config = obj(JSON.parse(r.text));
    assert.deepEqual(goDecodeErrors(config, GOCBCORE_CFG_BUCKET), []);
    assert.equal(config.rev, s.t.server.topology.rev);
    assert.equal(typeof config.revEpoch, 'number');
    assert.deepEqual(obj(config.vBucketServerMap).serverList, [`127.0.0.1:${ports.kv}`]);
    assert.deepEqual(arr(config.nodes).map((n) => obj(n).hostname), [`127.0.0.1:${ports.mgmt}`]);
    // The KV face gets the same document with the placeholder kept.
    const cccp = s.t.server.topology.bucketConfigJson('default');
    assert.equal(cccp.replaceAll('$HOST', '127.0.0.1'), r.text);
  });

  test('uuid and bucket_uuid query parameters must match, as cbdatasource sends them back', async () => {
    const { engine } = s.t.server;
    assert.equal((await mgmt.get(`/pools/default?uuid=${engine.uuid}`)).status, 200);
    const wrongCluster = await mgmt.get('/pools/default?uuid=nope');
    assert.equal(wrongCluster.status, 404);
    assert.equal(wrongCluster.text, 'Cluster uuid does not match the requested.\r\n');
    const uuid = engine.requireBucket('default').uuid;
    assert.equal((await mgmt.get(`/pools/default/buckets/default?bucket_uuid=${uuid}`)).status, 200);
    const wrongBucket = await mgmt.get('/pools/default/buckets/default?bucket_uuid=nope');
    assert.equal(wrongBucket.status, 404);
    assert.equal(wrongBucket.text, 'Bucket uuid does not match the requested.\r\n');
  });

  test('a bucket user sees only its own bucket: 403 for another (existing or not), not listed', async () => {
    const pools = obj(await mgmt.json('/pools', ALICE));
    assert.equal(pools.isAdminCreds, false);
    const list = arr(await mgmt.json('/pools/default/buckets', ALICE));
    assert.deepEqual(list.map((b) => obj(b).name), ['default']);
    for (const path of ['/pools/default/buckets/default', '/pools/default/b/default']) {
      assert.equal((await mgmt.get(path, ALICE)).status, 200, path);
    }
    for (const name of ['other', 'missing']) {
      const r = await mgmt.get(`/pools/default/buckets/${name}`, ALICE);
      assert.equal(r.status, 403, name);
      assert.deepEqual(JSON.parse(r.text), {
        message: 'Forbidden. User needs the following permissions',
        permissions: [`cluster.bucket[${name}].settings!read`],
      });
      assert.equal((await mgmt.get(`/pools/default/b/${name}`, ALICE)).status, 403);
    }
  });

  test('GET /nodes/self: this node as /pools/default lists it, with its data directory and disk', async () => {
    const self = obj(await mgmt.json('/nodes/self'));
    const listed = arr(obj(await mgmt.json('/pools/default')).nodes).map(obj).find((n) => n.thisNode === true);
    assert.ok(listed);
    assert.equal(self.hostname, listed.hostname);
    assert.equal(self.status, 'healthy');
    assert.equal(self.thisNode, true);
    const dataDir = s.t.server.engine.options.dataDir;
    assert.equal(obj(arr(obj(self.storage).hdd)[0]).path, dataDir);
    const disk = obj(arr(obj(self.availableStorage).hdd)[0]);
    assert.equal(disk.path, dataDir);
    assert.ok(Number(disk.sizeKBytes) > 0);
    const hdd = obj(obj(self.storageTotals).hdd);
    assert.ok(Number(hdd.total) >= Number(hdd.free) && Number(hdd.free) > 0);
    const other = await mgmt.get('/nodes/ns_1@10.0.0.9');
    assert.equal(other.status, 404);
    assert.equal(JSON.parse(other.text), 'Node is unknown to this cluster.');
    assert.equal((await mgmt.get('/nodes/self', null)).status, 401);
  });

  test('GET /pools/default/buckets/B/ddocs lists the design documents in ns_server\'s shape', async () => {
    const engine = s.t.server.engine;
    const bucket = engine.requireBucket('default');
    const db = new Db(bucket);
    const rev = await writeDoc(db, '_design/dd', parseDocument({ views: { v: { map: 'function (d) { emit(d._id); }' } } }), { newEdits: true });
    const listed = obj(await mgmt.json('/pools/default/buckets/default/ddocs'));
    const row = arr(listed.rows).map(obj).find((r) => obj(obj(r.doc).meta).id === '_design/dd');
    assert.ok(row, 'the design document is listed');
    assert.deepEqual(obj(row.doc), { meta: { id: '_design/dd', rev }, json: { views: { v: { map: 'function (d) { emit(d._id); }' } } } });
    assert.equal(obj(row.controllers).compact, '/pools/default/buckets/default/ddocs/_design%2Fdd/controller/compactView');
    assert.equal((await mgmt.get('/pools/default/buckets/missing/ddocs')).status, 404);
  });

  test('the admin gets 404 for a bucket that does not exist', async () => {
    for (const path of ['/pools/default/buckets/missing', '/pools/default/b/missing', '/pools/default/bs/missing']) {
      const r = await mgmt.get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.text, 'Requested resource not found.\r\n');
    }
    assert.equal((await mgmt.get('/pools/missing')).status, 404);
  });

  test('bucket names with URL-special characters are decoded per path segment', async () => {
    await s.t.server.engine.createBucket('a%b', { numVBuckets: 2 });
    const bucket = obj(await mgmt.json('/pools/default/buckets/a%25b'));
    assert.equal(bucket.name, 'a%b');
    assert.equal(bucket.uri, `/pools/default/buckets/a%25b?bucket_uuid=${String(bucket.uuid)}`);
    assert.equal((await mgmt.json(String(bucket.uri)) as { name: string }).name, 'a%b');
  });
});
