/**
 * Cluster-manager REST details checked against ns_server's menelaus_web.erl and
 * menelaus_web_buckets.erl: unrouted methods, the bucket form's reply shape and `just_validate`.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, StreamReader, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';
import { ADMIN } from '../helpers/server.js';
import { connect } from 'node:net';
import { once } from 'node:events';
import { formatBasicAuth } from '../../src/auth/basic.js';

describe('cluster-manager REST fidelity', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
  });
  after(() => s.t.close());

  test('an unrouted DELETE, PUT, PATCH or OPTIONS is 405 "Method Not Allowed", GET and POST 404, before credentials', async () => {
    for (const [method, path] of [
      ['DELETE', '/pools'],
      ['PUT', '/pools/default/buckets/default'],
      ['PATCH', '/pools/default'],
      ['OPTIONS', '/pools'],
      ['DELETE', '/no/such/thing'],
    ] as const) {
      for (const creds of [undefined, null]) {
        const r = await mgmt.call(method, path, { creds });
        assert.deepEqual([r.status, r.text, r.headers['content-type']], [405, 'Method Not Allowed', 'text/plain'], `${method} ${path}`);
      }
    }
    for (const [method, path] of [['GET', '/no/such'], ['POST', '/pools'], ['POST', '/no/such']] as const) {
      const r = await mgmt.call(method, path, { creds: null });
      assert.deepEqual([r.status, r.text], [404, 'Requested resource not found.\r\n'], `${method} ${path}`);
    }
  });

  test('a refused bucket form answers its errors with the RAM and disk summaries', async () => {
    const r = await mgmt.post('/pools/default/buckets', { name: '.bad', ramQuota: '200' });
    assert.equal(r.status, 400);
    const body = obj(JSON.parse(r.text));
    assert.deepEqual(Object.keys(body), ['errors', 'summaries']);
    assert.deepEqual(body.errors, { name: 'Bucket name cannot start with dot.' });
    const summaries = obj(body.summaries);
    const ram = obj(summaries.ramSummary);
    assert.deepEqual(Object.keys(ram), ['total', 'otherBuckets', 'nodesCount', 'perNodeMegs', 'thisAlloc', 'thisUsed', 'free']);
    assert.deepEqual([ram.nodesCount, ram.perNodeMegs, ram.thisAlloc, ram.thisUsed], [1, 200, 200 * 1024 * 1024, 0]);
    assert.equal(ram.free, Number(ram.total) - Number(ram.otherBuckets) - Number(ram.thisAlloc));
    const hdd = obj(summaries.hddSummary);
    assert.deepEqual(Object.keys(hdd), ['total', 'otherData', 'otherBuckets', 'thisUsed', 'free']);
    assert.equal(hdd.free, Number(hdd.total) - Number(hdd.otherData) - Number(hdd.otherBuckets));
    // An edit's summary counts the bucket's own store as thisUsed.
    await s.t.server.engine.requireBucket('default').quiesce();
    const edit = await mgmt.post('/pools/default/buckets/default', { maxTTL: '-1' });
    assert.equal(obj(obj(obj(JSON.parse(edit.text)).summaries).hddSummary).thisUsed, s.t.server.engine.requireBucket('default').diskBytes());
  });

  test('just_validate=1 checks a create or an edit and changes nothing', async () => {
    const { engine } = s.t.server;
    const create = await mgmt.post('/pools/default/buckets?just_validate=1', { name: 'jv', ramQuota: '100', numVBuckets: '4' });
    assert.equal(create.status, 200, create.text);
    assert.deepEqual(obj(JSON.parse(create.text)).errors, {});
    assert.equal(engine.bucket('jv'), undefined);

    const bad = await mgmt.post('/pools/default/buckets?just_validate=1', { name: 'jv', maxTTL: '-1' });
    assert.deepEqual([bad.status, obj(JSON.parse(bad.text)).errors], [400, { maxTTL: 'Max TTL must be an integer between 0 and 2147483647' }]);

    // One node places no replica: ns_server's warning is an error of a validation only, unless ignored.
    const replicas = await mgmt.post('/pools/default/buckets?just_validate=1', { name: 'jv', replicaNumber: '1' });
    const warning = 'Warning: you do not have enough data servers or server groups to support this number of replicas.';
    assert.deepEqual([replicas.status, obj(JSON.parse(replicas.text)).errors], [400, { replicaNumber: warning }]);
    const ignored = await mgmt.post('/pools/default/buckets?just_validate=1&ignore_warnings=1', { name: 'jv', replicaNumber: '1' });
    assert.deepEqual([ignored.status, obj(JSON.parse(ignored.text)).errors], [200, {}]);
    const withError = await mgmt.post('/pools/default/buckets', { name: 'jv', replicaNumber: '1', flushEnabled: 'x' });
    assert.deepEqual(obj(JSON.parse(withError.text)).errors, { flushEnabled: 'flushEnabled can only be 1 or 0', replicaNumber: warning });
    assert.equal(engine.bucket('jv'), undefined);

    const edit = await mgmt.post('/pools/default/buckets/default?just_validate=1', { maxTTL: '60' });
    assert.deepEqual([edit.status, obj(JSON.parse(edit.text)).errors], [202, {}]);
    assert.equal(engine.requireBucket('default').maxTTL, 0);
    const editReplicas = await mgmt.post('/pools/default/buckets/default?just_validate=1', { replicaNumber: '2' });
    assert.deepEqual(obj(JSON.parse(editReplicas.text)).errors, {
      replicaNumber: 'Warning: you do not have enough data servers or server groups to support this number of replicas and changing replica number may require rebalance.',
    });
    // Without just_validate a valid form is applied, warnings or not.
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'jv', replicaNumber: '1', numVBuckets: '4' })).status, 202);
    assert.notEqual(engine.bucket('jv'), undefined);
  });

  test('skipMap=true leaves the vbucket map out of the one-shot bucket documents only', async () => {
    assert.ok('vBucketServerMap' in obj(await mgmt.json('/pools/default/buckets/default')));
    assert.ok('vBucketServerMap' in obj(await mgmt.json('/pools/default/buckets/default?skipMap=1')));
    const skipped = obj(await mgmt.json('/pools/default/buckets/default?skipMap=true'));
    assert.equal('vBucketServerMap' in skipped, false);
    assert.equal(skipped.name, 'default');
    const list = await mgmt.json('/pools/default/buckets?skipMap=true');
    assert.ok(Array.isArray(list) && list.length > 0 && list.every((b) => !('vBucketServerMap' in obj(b))));
  });

  test('the compaction controllers are listed and answer 200; unsafePurgeBucket purges every tombstone', async () => {
    const { engine } = s.t.server;
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'cmp', numVBuckets: '4' })).status, 202);
    const controllers = obj(obj(await mgmt.json('/pools/default/buckets/cmp')).controllers);
    assert.deepEqual(controllers, {
      compactAll: '/pools/default/buckets/cmp/controller/compactBucket',
      compactDB: '/pools/default/buckets/cmp/controller/compactDatabases',
      purgeDeletes: '/pools/default/buckets/cmp/controller/unsafePurgeBucket',
    });
    const coll = engine.requireBucket('cmp').collection(0);
    await coll.set('gone', '{}');
    await coll.delete('gone');
    for (const uri of [controllers.compactAll, controllers.compactDB, '/pools/default/buckets/cmp/controller/cancelBucketCompaction', '/pools/default/buckets/cmp/controller/cancelDatabasesCompaction']) {
      const r = await mgmt.call('POST', String(uri));
      assert.deepEqual([r.status, r.text], [200, ''], String(uri));
    }
    // A fresh tombstone is younger than the purge age: only the purge removes it.
    assert.equal(coll.lookup(Buffer.from('gone'))?.deleted, true);
    assert.equal((await mgmt.call('POST', String(controllers.purgeDeletes))).status, 200);
    assert.equal(coll.lookup(Buffer.from('gone')), undefined);
    assert.equal((await mgmt.call('POST', '/pools/default/buckets/nosuch/controller/compactBucket')).status, 404);
  });

  test('a password must be valid UTF-8 without control characters, at least 6 bytes long', async () => {
    const put = (body: string) =>
      mgmt.call('PUT', '/settings/rbac/users/local/pw', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    for (const [password, message] of [
      ['%FF%FE%FD%FC%FB%FA', 'The password must be valid utf8'],
      ['secret%01x', 'The password must not contain control characters'],
      ['secret%7F', 'The password must not contain control characters'],
      ['%C3%A9%C3%A9', 'The password must be at least 6 characters long.'],
    ]) {
      const r = await put(`password=${password}&roles=`);
      assert.deepEqual([r.status, JSON.parse(r.text)], [400, { errors: { password: message } }], password);
    }
    assert.equal(s.t.server.users.has('pw'), false);
    // Six bytes, three characters: ns_server counts the bytes parse_post hands it.
    assert.equal((await put('password=%C3%A9%C3%A9%C3%A9&roles=')).status, 200);
    assert.equal(await s.t.server.users.verifyAsync('pw', '\u00e9\u00e9\u00e9'), true);
    const own = await mgmt.call('POST', '/controller/changePassword', {
      creds: { username: 'pw', password: '\u00e9\u00e9\u00e9' },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'password=abc%00defg',
    });
    assert.deepEqual([own.status, JSON.parse(own.text)], [400, { errors: { password: 'The password must not contain control characters' } }]);
  });

  test('GET /versions answers the version fields of /pools to any signed-in caller', async () => {
    assert.equal((await mgmt.get('/versions', null)).status, 401);
    const pools = obj(await mgmt.json('/pools'));
    assert.deepEqual(await mgmt.json('/versions'), { implementationVersion: pools.implementationVersion, componentsVersion: pools.componentsVersion });
  });

  test('the one-shot bucket documents carry basicStats with ns_server\'s keys; the streaming one does not', async () => {
    const { engine } = s.t.server;
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'stats', numVBuckets: '4' })).status, 202);
    const coll = engine.requireBucket('stats').collection(0);
    for (let i = 0; i < 3; i++) await coll.set(`k${i}`, '{"a":1}');
    await coll.delete('k0');
    await engine.requireBucket('stats').quiesce();
    const stats = obj(obj(await mgmt.json('/pools/default/buckets/stats')).basicStats);
    assert.deepEqual(Object.keys(stats), ['quotaPercentUsed', 'opsPerSec', 'diskFetches', 'itemCount', 'diskUsed', 'dataUsed', 'memUsed', 'vbActiveNumNonResident']);
    assert.equal(stats.itemCount, 2);
    assert.ok(Number(stats.diskUsed) > 0);
    const listed = (await mgmt.json('/pools/default/buckets')) as unknown[];
    assert.equal(obj(obj(listed.map(obj).find((b) => b.name === 'stats')).basicStats).itemCount, 2);
    const stream = await StreamReader.open(mgmt, '/pools/default/bucketsStreaming/stats');
    const first = obj(JSON.parse((await stream.next()) ?? '{}'));
    await stream.close();
    assert.equal(first.name, 'stats');
    assert.equal('basicStats' in first, false);
  });

  test('a new bucket name may not differ from an existing one only in case', async () => {
    for (const name of ['Default', 'DEFAULT']) {
      const r = await mgmt.post('/pools/default/buckets', { name, numVBuckets: '4' });
      assert.deepEqual([r.status, obj(JSON.parse(r.text)).errors], [400, { name: 'Bucket with given name already exists' }], name);
    }
    assert.equal(s.t.server.engine.bucket('Default'), undefined);
  });

  test('users without a domain are external ones: Community Edition\'s 400, with its header; the name is checked first', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const r = await mgmt.call(method, '/settings/rbac/users/someone', { form: { password: 'secret-1' } });
      assert.deepEqual([r.status, r.text, r.headers['x-enterprise-edition-needed']], [400, 'This http API endpoint requires enterprise edition', '1'], method);
    }
    const badName = await mgmt.call('PUT', '/settings/rbac/users/nowhere/a%20b', { form: { password: 'secret-1' } });
    assert.equal(badName.status, 400);
    assert.match(String(obj(obj(JSON.parse(badName.text)).errors)._), /^Username must not contain spaces/);
    assert.equal((await mgmt.call('PUT', '/settings/rbac/users/nowhere/ab', { form: { password: 'secret-1' } })).status, 404);
  });

  test('a user holding no role may sign in but not read the pools or the bucket list (403)', async () => {
    assert.equal((await mgmt.call('PUT', '/settings/rbac/users/local/roleless', { form: { password: 'secret-1', roles: '' } })).status, 200);
    const roleless = { username: 'roleless', password: 'secret-1' };
    const denied = (permission: string) => ({ message: 'Forbidden. User needs the following permissions', permissions: [permission] });
    for (const path of ['/pools', '/pools/default', '/pools/default/nodeServices']) {
      const r = await mgmt.get(path, roleless);
      assert.deepEqual([r.status, JSON.parse(r.text)], [403, denied('cluster.pools!read')], path);
    }
    const list = await mgmt.get('/pools/default/buckets', roleless);
    assert.deepEqual([list.status, JSON.parse(list.text)], [403, denied('cluster.bucket[.].settings!read')]);
    assert.deepEqual(await mgmt.json('/whoami', roleless), { id: 'roleless', domain: 'local', roles: [] });
    assert.equal((await mgmt.get('/versions', roleless)).status, 200);
    // One role on one bucket is enough for both.
    assert.equal((await mgmt.call('PUT', '/settings/rbac/users/local/roleless', { form: { roles: 'data_reader[default]' } })).status, 200);
    assert.equal((await mgmt.get('/pools', roleless)).status, 200);
    assert.equal((await mgmt.get('/pools/default/buckets', roleless)).status, 200);
  });

  test('a bucket that can have views lists its ddocs uri, which answers', async () => {
    const doc = obj(await mgmt.json('/pools/default/buckets/default'));
    assert.ok((doc.bucketCapabilities as string[]).includes('couchapi'));
    assert.deepEqual(doc.ddocs, { uri: '/pools/default/buckets/default/ddocs' });
    assert.deepEqual(await mgmt.json(String(obj(doc.ddocs).uri)), { rows: [] });
  });

  test('a durability minimum cannot go with 3 replicas, on create or edit', async () => {
    const message = 'Durability minimum level cannot be specified with 3 replicas';
    const create = await mgmt.post('/pools/default/buckets', { name: 'dur3', replicaNumber: '3', durabilityMinLevel: 'majority' });
    assert.deepEqual([create.status, obj(obj(JSON.parse(create.text)).errors).durability_min_level], [400, message]);
    assert.equal(s.t.server.engine.bucket('dur3'), undefined);
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'dur3', replicaNumber: '3', durabilityMinLevel: 'none', numVBuckets: '4' })).status, 202);
    const edit = await mgmt.post('/pools/default/buckets/dur3', { replicaNumber: '3', durabilityMinLevel: 'persistToMajority' });
    assert.deepEqual([edit.status, obj(obj(JSON.parse(edit.text)).errors).durability_min_level], [400, message]);
    assert.equal(s.t.server.engine.requireBucket('dur3').durabilityMinLevel, 'none');
  });

  test('GET /pools/default/nodeServicesStreaming streams the nodeServices document and its changes', async () => {
    const stream = await StreamReader.open(mgmt, '/pools/default/nodeServicesStreaming');
    assert.deepEqual([stream.status, stream.headers['content-type']], [200, 'application/json; charset=utf-8']);
    const first = obj(JSON.parse((await stream.next()) ?? '{}'));
    assert.deepEqual(first, obj(await mgmt.json('/pools/default/nodeServices')));
    assert.ok(Array.isArray(first.nodesExt));
    // A new bucket moves the cluster map on: the stream sends the new revision.
    await s.t.server.engine.createBucket('ns-stream', { numVBuckets: 4 });
    const next = obj(JSON.parse((await stream.next()) ?? '{}'));
    assert.ok(Number(next.rev) > Number(first.rev));
    await stream.close();
  });

  test('bucket_full_access may flush its bucket; other users get 403 naming cluster.bucket[B]!flush', async () => {
    assert.equal((await mgmt.post('/pools/default/buckets', { name: 'fl2', numVBuckets: '4', flushEnabled: '1' })).status, 202);
    await s.t.server.engine.requireBucket('fl2').collection(0).set('doc', '{}');
    assert.equal((await mgmt.call('PUT', '/settings/rbac/users/local/app', { form: { password: 'secret-1', roles: 'bucket_full_access[fl2],data_reader[default]' } })).status, 200);
    const app = { username: 'app', password: 'secret-1' };
    const flushed = await mgmt.call('POST', '/pools/default/buckets/fl2/controller/doFlush', { creds: app });
    assert.deepEqual([flushed.status, flushed.text], [200, '']);
    assert.equal(s.t.server.engine.requireBucket('fl2').collection(0).lookup(Buffer.from('doc'))?.deleted ?? true, true);
    for (const bucket of ['default', 'nosuch']) {
      const r = await mgmt.call('POST', `/pools/default/buckets/${bucket}/controller/doFlush`, { creds: app });
      assert.deepEqual([r.status, JSON.parse(r.text)], [403, { message: 'Forbidden. User needs the following permissions', permissions: [`cluster.bucket[${bucket}]!flush`] }], bucket);
    }
  });

  test('writing users needs cluster.admin.security!write, as the 403 says', async () => {
    assert.equal((await mgmt.call('PUT', '/settings/rbac/users/local/plain', { form: { password: 'secret-1', roles: 'data_reader[default]' } })).status, 200);
    const plain = { username: 'plain', password: 'secret-1' };
    for (const method of ['PUT', 'DELETE']) {
      const r = await mgmt.call(method, '/settings/rbac/users/local/other', { creds: plain, form: { password: 'secret-2' } });
      assert.deepEqual([r.status, JSON.parse(r.text)], [403, { message: 'Forbidden. User needs the following permissions', permissions: ['cluster.admin.security!write'] }], method);
    }
  });

  test('threadsNumber, replicaIndex and proxyPort are validated as ns_server does', async () => {
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ threadsNumber: 'x' }, { threadsNumber: 'The number of threads must be an integer between 2 and 8, inclusive' }],
      [{ threadsNumber: '1' }, { threadsNumber: "The number of threads can't be less than 2" }],
      [{ threadsNumber: '9' }, { threadsNumber: "The number of threads can't be greater than 8" }],
      [{ replicaIndex: '2' }, { replicaIndex: 'replicaIndex can only be 1 or 0' }],
      [{ proxyPort: '11211' }, { proxyPort: 'Setting proxy port is not allowed on this version of the cluster' }],
    ];
    for (const [form, errors] of cases) {
      const r = await mgmt.post('/pools/default/buckets', { name: 'vt', numVBuckets: '1', ...form });
      assert.deepEqual([r.status, obj(JSON.parse(r.text)).errors], [400, errors], JSON.stringify(form));
    }
    const edit = await mgmt.post('/pools/default/buckets/default', { threadsNumber: '9', replicaIndex: 'x' });
    assert.deepEqual(obj(JSON.parse(edit.text)).errors, { threadsNumber: "The number of threads can't be greater than 8" });
    const ok = await mgmt.post('/pools/default/buckets', { name: 'vt', numVBuckets: '1', threadsNumber: '8', replicaIndex: '1', proxyPort: 'none' });
    assert.equal(ok.status, 202, ok.text);
  });

  test('the administrator is no local user: deleting local/NAME of it is 404 "User was not found."', async () => {
    const r = await mgmt.call('DELETE', `/settings/rbac/users/local/${ADMIN.username}`);
    assert.deepEqual([r.status, JSON.parse(r.text)], [404, 'User was not found.']);
    assert.equal(s.t.server.users.isAdmin(ADMIN.username), true);
  });

  test('an edit whose bucket is deleted while its form arrives is 400 "Bucket with given name doesn\'t exist", not a 500', async () => {
    const { engine } = s.t.server;
    await engine.createBucket('going', { numVBuckets: 1 });
    const body = 'maxTTL=5&durabilityMinLevel=majority';
    const socket = connect(mgmt.port, '127.0.0.1');
    await once(socket, 'connect');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.write(
      `POST /pools/default/buckets/going HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: ${formatBasicAuth(ADMIN.username, ADMIN.password)}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    await engine.deleteBucket('going');
    socket.end(body.slice(5));
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.deepEqual(obj(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).errors, { name: "Bucket with given name doesn't exist" });
  });
});
