/**
 * Scopes, collections and bucket maxTTL over raw HTTP (undici): ns_server's status codes and
 * bodies, which the SDKs map to their error classes by text.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, arr, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';

const SCOPES = '/pools/default/buckets/default/scopes';
const global = (message: string): unknown => ({ errors: { _: message } });

describe('scopes and collections over REST', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
  });
  after(() => s.t.close());

  const expect = async (method: string, path: string, form: Record<string, string> | undefined, status: number, body: unknown): Promise<void> => {
    const r = await mgmt.call(method, path, form === undefined ? {} : { form });
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(form)}: ${r.text}`);
    if (body !== undefined) assert.deepEqual(typeof body === 'string' ? r.text : JSON.parse(r.text), body, `${method} ${path}`);
  };

  test('the manifest starts with _default; each change answers the new uid in hex', async () => {
    // ns_server 7.6 lists the properties it stores: maxTTL always (0: the bucket's), history on
    // every collection but _default.
    assert.deepEqual(await mgmt.json(SCOPES), { uid: '0', scopes: [{ name: '_default', uid: '0', collections: [{ name: '_default', uid: '0', maxTTL: 0 }] }] });
    await expect('POST', SCOPES, { name: 'inventory' }, 200, { uid: '1' });
    await expect('POST', `${SCOPES}/inventory/collections`, { name: 'airport', maxTTL: '3600', history: 'false' }, 200, { uid: '2' });
    await expect('POST', `${SCOPES}/inventory/collections`, { name: 'hotel' }, 200, { uid: '3' });
    const m = obj(await mgmt.json(SCOPES));
    assert.equal(m.uid, '3');
    assert.deepEqual(m.scopes, [
      { name: '_default', uid: '0', collections: [{ name: '_default', uid: '0', maxTTL: 0 }] },
      {
        name: 'inventory',
        uid: '8',
        collections: [
          { name: 'airport', uid: '8', maxTTL: 3600, history: false },
          { name: 'hotel', uid: '9', maxTTL: 0, history: false },
        ],
      },
    ]);
    assert.equal(s.t.server.engine.bucket('default')!.manifest.collectionByPath('inventory', 'airport')?.maxTTL, 3600);

    await expect('DELETE', `${SCOPES}/inventory/collections/hotel`, undefined, 200, { uid: '4' });
    await expect('DELETE', `${SCOPES}/inventory`, undefined, 200, { uid: '5' });
    assert.equal(s.t.server.engine.bucket('default')!.manifest.scopeByName('inventory'), undefined);
  });

  test('duplicates, unknown names and _default are refused with ns_server texts', async () => {
    await expect('POST', SCOPES, { name: 'dup' }, 200, undefined);
    await expect('POST', `${SCOPES}/dup/collections`, { name: 'c' }, 200, undefined);
    await expect('POST', SCOPES, { name: 'dup' }, 400, global('Scope with name "dup" already exists'));
    await expect('POST', `${SCOPES}/dup/collections`, { name: 'c' }, 400, global('Collection with name "c" in scope "dup" already exists'));
    await expect('POST', `${SCOPES}/nosuch/collections`, { name: 'c' }, 404, global('Scope with name "nosuch" is not found'));
    await expect('DELETE', `${SCOPES}/nosuch`, undefined, 404, global('Scope with name "nosuch" is not found'));
    await expect('DELETE', `${SCOPES}/dup/collections/nosuch`, undefined, 404, global('Collection with name "nosuch" in scope "dup" is not found'));
    await expect('DELETE', `${SCOPES}/nosuch/collections/c`, undefined, 404, global('Scope with name "nosuch" is not found'));
    await expect('DELETE', `${SCOPES}/_default`, undefined, 400, global('Deleting _default scope is not allowed'));
  });

  test('form validation: one message per field, as validator.erl words it', async () => {
    const long = 'a'.repeat(252);
    await expect('POST', SCOPES, {}, 400, { errors: { name: 'The value must be supplied' } });
    await expect('POST', SCOPES, { name: '' }, 400, { errors: { name: 'Name length (0) must be in the range from 1 to 251, inclusive' } });
    await expect('POST', SCOPES, { name: long }, 400, { errors: { name: 'Name length (252) must be in the range from 1 to 251, inclusive' } });
    await expect('POST', SCOPES, { name: 'a.b' }, 400, {
      errors: { name: 'Invalid value "a.b" : Can only contain characters A-Z, a-z, 0-9 and the following symbols _ - %' },
    });
    await expect('POST', SCOPES, { name: '_x' }, 400, { errors: { name: 'First character must not be _ or %' } });
    await expect('POST', SCOPES, { name: '%x' }, 400, { errors: { name: 'First character must not be _ or %' } });
    await expect('POST', SCOPES, { name: 'ok', color: 'red' }, 400, { errors: { color: 'Unsupported key' } });
    // 251 characters of every allowed kind is fine.
    await expect('POST', SCOPES, { name: `A-z0%_${'b'.repeat(245)}` }, 200, undefined);

    await expect('POST', SCOPES, { name: 'v' }, 200, undefined);
    const coll = `${SCOPES}/v/collections`;
    await expect('POST', coll, { name: 'c', maxTTL: 'soon' }, 400, { errors: { maxTTL: 'The value must be an integer' } });
    await expect('POST', coll, { name: 'c', maxTTL: ' 5' }, 400, { errors: { maxTTL: 'The value must be an integer' } });
    await expect('POST', coll, { name: 'c', maxTTL: '-2' }, 400, { errors: { maxTTL: 'The value must be in range from -1 to 2147483647' } });
    await expect('POST', coll, { name: 'c', maxTTL: '2147483648' }, 400, { errors: { maxTTL: 'The value must be in range from -1 to 2147483647' } });
    await expect('POST', coll, { name: 'c', history: 'maybe' }, 400, { errors: { history: 'The value must be one of the following: [true,false]' } });
    await expect('POST', coll, { name: 'c', history: 'true' }, 400, 'Not allowed on this type of bucket');
    await expect('POST', coll, { name: '_c', maxTTL: 'x' }, 400, {
      errors: { name: 'First character must not be _ or %', maxTTL: 'The value must be an integer' },
    });
    // Validation comes before the scope is looked up, as in ns_server.
    await expect('POST', `${SCOPES}/nosuch/collections`, { name: '_c' }, 400, { errors: { name: 'First character must not be _ or %' } });
    await expect('POST', coll, { name: 'c' }, 200, undefined);
    // erlang:list_to_integer("+7") is 7.
    await expect('POST', coll, { name: 'plus', maxTTL: '+7' }, 200, undefined);
    assert.equal(s.t.server.engine.bucket('default')!.manifest.collectionByPath('v', 'plus')?.maxTTL, 7);
    const twice = await fetch(`${mgmt.base}${coll}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=d&maxTTL=1&maxTTL=2',
    });
    assert.equal(twice.status, 400);
    assert.deepEqual(await twice.json(), { errors: { maxTTL: 'Key specified more than once' } });
  });

  test('a body that is not a form counts as an empty form (mochiweb parse_post), not a 400 for its type', async () => {
    const json = { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'viajson' }) };
    const r = await mgmt.call('POST', SCOPES, json);
    assert.deepEqual([r.status, JSON.parse(r.text)], [400, { errors: { name: 'The value must be supplied' } }]);
    const plain = await mgmt.call('POST', SCOPES, { headers: { 'content-type': 'text/plain' }, body: 'name=viatext' });
    assert.deepEqual([plain.status, JSON.parse(plain.text)], [400, { errors: { name: 'The value must be supplied' } }]);
    assert.equal(s.t.server.engine.bucket('default')!.manifest.scopeByName('viajson'), undefined);
    // With the form type (parameters allowed) the same fields are read.
    const form = await mgmt.call('POST', SCOPES, { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body: 'name=viaform' });
    assert.equal(form.status, 200, form.text);
  });

  test('PATCH changes maxTTL (-1: never expire); the same settings answer the current uid', async () => {
    await expect('POST', SCOPES, { name: 'p' }, 200, undefined);
    await expect('POST', `${SCOPES}/p/collections`, { name: 'c', maxTTL: '60' }, 200, undefined);
    await expect('POST', `${SCOPES}/p/collections`, { name: 'never', maxTTL: '-1' }, 200, undefined);
    const bucket = s.t.server.engine.bucket('default')!;
    const uid = bucket.manifest.uid;
    await expect('PATCH', `${SCOPES}/p/collections/c`, { maxTTL: '60', history: 'false' }, 200, { uid: uid.toString(16) });
    await expect('PATCH', `${SCOPES}/p/collections/c`, { maxTTL: '61' }, 200, { uid: (uid + 1).toString(16) });
    await expect('PATCH', `${SCOPES}/p/collections/c`, { maxTTL: '-1' }, 200, { uid: (uid + 2).toString(16) });
    await expect('PATCH', `${SCOPES}/p/collections/never`, { maxTTL: '0' }, 200, { uid: (uid + 3).toString(16) });
    const p = arr(obj(await mgmt.json(SCOPES)).scopes).map(obj).find((sc) => sc.name === 'p');
    assert.deepEqual(
      arr(p?.collections).map(obj).map(({ name, maxTTL, history }) => ({ name, maxTTL, history })),
      [
        { name: 'c', maxTTL: -1, history: false },
        { name: 'never', maxTTL: 0, history: false },
      ],
    );
    await expect('PATCH', `${SCOPES}/p/collections/c`, { maxTTL: '-2' }, 400, { errors: { maxTTL: 'The value must be in range from -1 to 2147483647' } });
    await expect('PATCH', `${SCOPES}/p/collections/c`, { name: 'x' }, 400, { errors: { name: 'Unsupported key' } });
    await expect('PATCH', `${SCOPES}/p/collections/nosuch`, { maxTTL: '1' }, 404, global('Collection with name "nosuch" in scope "p" is not found'));
    await expect('PATCH', `${SCOPES}/nosuch/collections/c`, { maxTTL: '1' }, 404, global('Scope with name "nosuch" is not found'));
    assert.equal(bucket.manifest.uid, uid + 3, 'refusals change nothing');
  });

  test('@ensureManifest waits for the manifest uid: 200 once reached, 504 timeout, 400 bad uid or form', async () => {
    const bucket = s.t.server.engine.bucket('default')!;
    const ensure = (uid: string): string => `${SCOPES}/@ensureManifest/${uid}`;
    const now = bucket.manifest.uid.toString(16);
    await expect('POST', ensure(now), undefined, 200, '');
    await expect('POST', ensure('0'), undefined, 200, '');
    await expect('POST', ensure('zz'), undefined, 400, 'Invalid UID');
    await expect('POST', ensure('-1'), undefined, 400, 'Invalid UID');
    const next = (bucket.manifest.uid + 1).toString(16);
    await expect('POST', ensure(next), { timeout: '0' }, 504, 'timeout');
    await expect('POST', ensure(next), { timeout: 'x' }, 400, { errors: { timeout: 'The value must be an integer' } });
    await expect('POST', ensure(next), { timeout: '300001' }, 400, { errors: { timeout: 'The value must be in range from 0 to 300000' } });
    await expect('POST', ensure(next), { nodes: 'elsewhere:1' }, 400, { errors: { nodes: 'Invalid nodes : elsewhere:1' } });
    await expect('POST', ensure(next), { color: 'red' }, 400, { errors: { color: 'Unsupported key' } });
    // A change made while the request waits answers it.
    const waiting = mgmt.call('POST', ensure(next), { form: { timeout: '5000', nodes: `127.0.0.1:${new URL(mgmt.base).port}` } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await bucket.createScope('ensured');
    const r = await waiting;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '');
    await expect('POST', '/pools/default/buckets/nosuch/scopes/@ensureManifest/1', undefined, 404, undefined);
  });

  test('unknown bucket is 404; permissions come first (403 before 404)', async () => {
    await expect('GET', '/pools/default/buckets/nosuch/scopes', undefined, 404, 'Requested resource not found.\r\n');
    await expect('POST', '/pools/default/buckets/nosuch/scopes', { name: 'x' }, 404, 'Requested resource not found.\r\n');
    await expect('DELETE', '/pools/default/buckets/nosuch/scopes/x', undefined, 404, undefined);

    await s.t.server.users.setBucketUser('fiona', 'fiona-secret', ['default']);
    const fiona = { username: 'fiona', password: 'fiona-secret' };
    // bucket_full_access reads the manifest (collections!read) but cannot change it.
    assert.equal((await mgmt.get(SCOPES, fiona)).status, 200);
    const post = await mgmt.call('POST', SCOPES, { creds: fiona, form: { name: 'x' } });
    assert.equal(post.status, 403);
    assert.deepEqual(JSON.parse(post.text), {
      message: 'Forbidden. User needs the following permissions',
      permissions: ['cluster.bucket[default].collections!write'],
    });
    const nosuch = await mgmt.get('/pools/default/buckets/nosuch/scopes', fiona);
    assert.equal(nosuch.status, 403);
    // A scoped reader may read the bucket's settings but not the manifest (ns_server's data_reader
    // has no collections!read).
    const put = await mgmt.call('PUT', '/settings/rbac/users/local/gus', { form: { password: 'gus-secret', roles: 'data_reader[default:_default:_default]' } });
    assert.equal(put.status, 200, put.text);
    const gus = { username: 'gus', password: 'gus-secret' };
    assert.equal((await mgmt.get('/pools/default/buckets/default', gus)).status, 200);
    const denied = await mgmt.get(SCOPES, gus);
    assert.equal(denied.status, 403);
    assert.deepEqual(obj(JSON.parse(denied.text)).permissions, ['cluster.collection[default:.:.].collections!read']);
  });

  test('bucket maxTTL on create and edit, shown in the bucket JSON', async () => {
    const created = await mgmt.post('/pools/default/buckets', { name: 'ttl', numVBuckets: '2', maxTTL: '600' });
    assert.equal(created.status, 202, created.text);
    assert.equal(s.t.server.engine.bucket('ttl')!.maxTTL, 600);
    assert.equal(obj(await mgmt.json('/pools/default/buckets/ttl')).maxTTL, 600);

    const edited = await mgmt.post('/pools/default/buckets/ttl', { maxTTL: '30', ramQuotaMB: '100', flushEnabled: '0' });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(s.t.server.engine.bucket('ttl')!.maxTTL, 30);
    assert.equal(obj(await mgmt.json('/pools/default/buckets/ttl')).maxTTL, 30);
    assert.equal(obj(await mgmt.json('/pools/default/buckets/default')).maxTTL, 0);

    const message = { errors: { maxTTL: 'Max TTL must be an integer between 0 and 2147483647' } };
    for (const bad of ['-1', 'x', '2147483648']) {
      const r = await mgmt.post('/pools/default/buckets/ttl', { maxTTL: bad });
      assert.equal(r.status, 400, bad);
      assert.deepEqual(obj(JSON.parse(r.text)).errors, message.errors);
      const c = await mgmt.post('/pools/default/buckets', { name: 'ttl2', maxTTL: bad });
      assert.equal(c.status, 400, bad);
      assert.deepEqual(obj(JSON.parse(c.text)).errors, message.errors);
    }
    assert.equal(s.t.server.engine.bucket('ttl')!.maxTTL, 30);
    const vbs = await mgmt.post('/pools/default/buckets/ttl', { numVBuckets: '4' });
    assert.equal(vbs.status, 400);
    assert.deepEqual(obj(JSON.parse(vbs.text)).errors, { numVBuckets: 'Number of vBuckets cannot be changed' });
    assert.equal((await mgmt.post('/pools/default/buckets/nosuch', { maxTTL: '1' })).status, 404);

    await s.t.server.users.setBucketUser('hal', 'hal-secret', ['ttl']);
    const forbidden = await mgmt.post('/pools/default/buckets/ttl', { maxTTL: '1' }, { username: 'hal', password: 'hal-secret' });
    assert.equal(forbidden.status, 403);
    assert.equal(s.t.server.engine.bucket('ttl')!.maxTTL, 30);
  });
});
