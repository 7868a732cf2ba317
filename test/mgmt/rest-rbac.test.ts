import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, arr, obj, startMgmtServer, type MgmtServer } from './rest-helpers.js';

const USERS = '/settings/rbac/users';

describe('users over REST (/settings/rbac/users)', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
    await s.t.server.engine.createBucket('b1', { numVBuckets: 2 });
    await s.t.server.engine.createBucket('b2', { numVBuckets: 2 });
  });
  after(() => s.t.close());

  test('a user created with bucket_full_access can then authenticate and read only its bucket', async () => {
    const put = await mgmt.call('PUT', `${USERS}/local/dave`, { form: { password: 'dave-secret', roles: 'bucket_full_access[b1]' } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.text, '""');
    const dave = { username: 'dave', password: 'dave-secret' };
    assert.equal((await mgmt.get('/pools/default/buckets/b1', dave)).status, 200);
    assert.equal((await mgmt.get('/pools/default/buckets/b2', dave)).status, 403);
    assert.equal((await mgmt.get('/pools', { username: 'dave', password: 'wrong' })).status, 401);
    assert.equal(s.t.server.users.canAccessBucket('dave', 'b1'), true);

    // Roles change without a password: the password is kept.
    const roles = await mgmt.call('PUT', `${USERS}/local/dave`, { form: { roles: 'bucket_full_access[b1],bucket_full_access[b2]' } });
    assert.equal(roles.status, 200, roles.text);
    assert.equal((await mgmt.get('/pools/default/buckets/b2', dave)).status, 200);

    const list = arr(await mgmt.json(USERS)).map((u) => {
      const { password_change_date: changed, ...rest } = obj(u);
      assert.match(String(changed), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return rest;
    });
    assert.deepEqual(list, [
      {
        id: 'dave',
        domain: 'local',
        roles: [
          { role: 'bucket_full_access', bucket_name: 'b1', origins: [{ type: 'user' }] },
          { role: 'bucket_full_access', bucket_name: 'b2', origins: [{ type: 'user' }] },
        ],
        groups: [],
        external_groups: [],
      },
    ]);
    assert.equal(obj(await mgmt.json(`${USERS}/local/dave`)).id, 'dave');

    const del = await mgmt.call('DELETE', `${USERS}/local/dave`);
    assert.equal(del.status, 200);
    assert.equal((await mgmt.get('/pools', dave)).status, 401);
    const gone = await mgmt.call('DELETE', `${USERS}/local/dave`);
    assert.equal(gone.status, 404);
    assert.equal(JSON.parse(gone.text), 'User was not found.');
  });

  test("a user's full name and password change date, as user_to_json lists them (the Java SDK's displayName and passwordChanged)", async () => {
    const user = `${USERS}/local/fay`;
    // What the Java SDK's upsertUser sends: name (its displayName, possibly empty), roles, password.
    assert.equal((await mgmt.call('PUT', user, { form: { name: 'Fay Smith', roles: 'bucket_full_access[b1]', password: 'fay-secret' } })).status, 200);
    const first = obj(await mgmt.json(user));
    assert.equal(first.name, 'Fay Smith');
    const changed = Date.parse(String(first.password_change_date));
    assert.match(String(first.password_change_date), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.now() - changed) < 60_000, String(first.password_change_date));
    assert.deepEqual(Object.keys(first), ['id', 'domain', 'roles', 'groups', 'external_groups', 'name', 'password_change_date']);

    // A PUT without a password keeps the password and its date; its name replaces the old one.
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await mgmt.call('PUT', user, { form: { name: 'Fay Jones', roles: 'bucket_full_access[b2]' } })).status, 200);
    const renamed = obj(await mgmt.json(user));
    assert.equal(renamed.name, 'Fay Jones');
    assert.equal(renamed.password_change_date, first.password_change_date);
    // A PUT without `name` leaves the user without one (ns_server replaces the user's props).
    assert.equal((await mgmt.call('PUT', user, { form: { roles: 'bucket_full_access[b2]' } })).status, 200);
    assert.equal('name' in obj(await mgmt.json(user)), false);
    // An empty name, as the Java SDK sends for a user without a display name, is kept as given.
    assert.equal((await mgmt.call('PUT', user, { form: { name: '', roles: 'bucket_full_access[b2]' } })).status, 200);
    assert.equal(obj(await mgmt.json(user)).name, '');

    // A new password dates the change; the user's own changePassword keeps its full name.
    assert.equal((await mgmt.call('PUT', user, { form: { name: 'Fay', roles: 'bucket_full_access[b2]', password: 'fay-secret-2' } })).status, 200);
    const repassed = obj(await mgmt.json(user));
    assert.ok(Date.parse(String(repassed.password_change_date)) > changed);
    const own = await mgmt.call('POST', '/controller/changePassword', { form: { password: 'fay-secret-3' }, creds: { username: 'fay', password: 'fay-secret-2' } });
    assert.equal(own.status, 200, own.text);
    assert.equal(obj(await mgmt.json(user)).name, 'Fay');
    const listed = arr(await mgmt.json(USERS)).map(obj).find((u) => u.id === 'fay');
    assert.equal(listed?.name, 'Fay');

    // Deleting its last bucket drops the role; a user that keeps another keeps its name too.
    assert.equal((await mgmt.call('PUT', user, { form: { name: 'Fay', roles: 'bucket_full_access[b1],bucket_full_access[b2]' } })).status, 200);
    await s.t.server.engine.createBucket('b3', { numVBuckets: 2 });
    assert.equal((await mgmt.call('PUT', user, { form: { name: 'Fay', roles: 'bucket_full_access[b2],bucket_full_access[b3]' } })).status, 200);
    assert.equal((await mgmt.call('DELETE', '/pools/default/buckets/b3')).status, 200);
    assert.equal(obj(await mgmt.json(user)).name, 'Fay');
    assert.equal((await mgmt.call('DELETE', user)).status, 200);
  });

  test('a user with no roles is accepted (roles default to none, as ns_server): it signs in and reaches no bucket', async () => {
    for (const form of [{ password: 'nora-secret' }, { password: 'nora-secret', roles: '' }] as Record<string, string>[]) {
      const put = await mgmt.call('PUT', `${USERS}/local/nora`, { form });
      assert.equal(put.status, 200, put.text);
    }
    assert.deepEqual(obj(await mgmt.json(`${USERS}/local/nora`)).roles, []);
    const nora = { username: 'nora', password: 'nora-secret' };
    assert.equal((await mgmt.get('/whoami', nora)).status, 200);
    assert.equal((await mgmt.get('/pools/default/buckets/b1', nora)).status, 403);
    assert.equal((await mgmt.call('DELETE', `${USERS}/local/nora`)).status, 200);
  });

  test('GET /whoami names the caller and its roles; /settings/rbac/roles is for the administrator', async () => {
    assert.deepEqual(await mgmt.json('/whoami'), { id: 'Administrator', domain: 'admin', roles: [{ role: 'admin' }] });
    const put = await mgmt.call('PUT', `${USERS}/local/wanda`, { form: { password: 'wanda-secret', roles: 'bucket_full_access[b1],data_reader[b2]' } });
    assert.equal(put.status, 200, put.text);
    const wanda = { username: 'wanda', password: 'wanda-secret' };
    const me = await mgmt.get('/whoami', wanda);
    assert.equal(me.status, 200);
    assert.deepEqual(JSON.parse(me.text), {
      id: 'wanda',
      domain: 'local',
      roles: [
        { role: 'bucket_full_access', bucket_name: 'b1' },
        { role: 'data_reader', bucket_name: 'b2', scope_name: '*', collection_name: '*' },
      ],
    });
    assert.equal((await mgmt.get('/whoami', { username: 'wanda', password: 'nope' })).status, 401);
    const roles = arr(await mgmt.json('/settings/rbac/roles')).map(obj);
    assert.deepEqual(roles.map((r) => r.role), ['admin', 'bucket_full_access', 'data_reader', 'data_writer']);
    assert.equal((await mgmt.get('/settings/rbac/roles', wanda)).status, 403);
    assert.equal((await mgmt.call('DELETE', `${USERS}/local/wanda`)).status, 200);
  });

  test('POST /controller/changePassword changes the caller\'s own password; groups answer as Community Edition', async () => {
    const put = await mgmt.call('PUT', `${USERS}/local/carol`, { form: { password: 'carol-secret', roles: 'bucket_full_access[b1]' } });
    assert.equal(put.status, 200, put.text);
    const carol = { username: 'carol', password: 'carol-secret' };
    const short = await mgmt.call('POST', '/controller/changePassword', { creds: carol, form: { password: 'abc' } });
    assert.equal(short.status, 400);
    assert.deepEqual(JSON.parse(short.text), { errors: { password: 'The password must be at least 6 characters long.' } });
    const changed = await mgmt.call('POST', '/controller/changePassword', { creds: carol, form: { password: 'carol-new-secret' } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await mgmt.get('/pools', carol)).status, 401, 'the old password no longer works');
    const fresh = { username: 'carol', password: 'carol-new-secret' };
    assert.equal((await mgmt.get('/pools/default/buckets/b1', fresh)).status, 200, 'the roles are kept');
    assert.equal((await mgmt.call('POST', '/controller/changePassword', { creds: null, form: { password: 'whatever1' } })).status, 401);
    const groups = await mgmt.get('/settings/rbac/groups');
    assert.equal(groups.status, 400);
    assert.match(groups.text, /requires enterprise edition/);
    assert.equal((await mgmt.call('DELETE', `${USERS}/local/carol`)).status, 200);
  });

  test('errors: unknown roles and buckets, short or missing passwords, bad ids and domains', async () => {
    const bad = (roles: string): unknown => ({
      errors: {
        roles: `Cannot assign roles to user because the following roles are unknown, malformed or role parameters are undefined: [${roles}]`,
      },
    });
    const cases: [string, Record<string, string>, number, unknown][] = [
      ['local/erin', { password: 'erin-secret', roles: 'bucket_full_access[nosuch]' }, 400, bad('bucket_full_access[nosuch]')],
      ['local/erin', { password: 'erin-secret', roles: 'query_select[b1]' }, 400, bad('query_select[b1]')],
      ['local/erin', { password: 'erin-secret', roles: 'data_reader[b1:nosuch]' }, 400, bad('data_reader[b1:nosuch]')],
      ['local/erin', { password: 'erin-secret', roles: 'data_reader[b1:_default:nosuch]' }, 400, bad('data_reader[b1:_default:nosuch]')],
      ['local/erin', { password: 'erin-secret', roles: 'data_writer[b1:_default:_default:x]' }, 400, bad('data_writer[b1:_default:_default:x]')],
      ['local/erin', { password: 'erin-secret', roles: 'bucket_full_access[b1:_default]' }, 400, bad('bucket_full_access[b1:_default]')],
      ['local/erin', { password: 'erin-secret', roles: 'data_reader' }, 400, bad('data_reader')],
      ['local/erin', { password: 'erin-secret', roles: 'bucket_full_access[*]' }, 400, bad('bucket_full_access[*]')],
      ['local/erin', { password: 'short', roles: 'bucket_full_access[b1]' }, 400, { errors: { password: 'The password must be at least 6 characters long.' } }],
      ['local/erin', { roles: 'bucket_full_access[b1]' }, 400, { errors: { password: 'Password is required for new user.' } }],
      ['local/erin', { password: 'erin-secret', roles: 'bucket_full_access[b1]', color: 'red' }, 400, { errors: { color: 'Unsupported key' } }],
      ['local/erin', { password: 'erin-secret', roles: 'admin' }, 400, undefined],
      ['local/bad%20name', { password: 'erin-secret', roles: 'bucket_full_access[b1]' }, 400, undefined],
      ['ldap/erin', { password: 'erin-secret', roles: 'bucket_full_access[b1]' }, 404, 'Unknown user domain.'],
    ];
    for (const [path, form, status, body] of cases) {
      const r = await mgmt.call('PUT', `${USERS}/${path}`, { form });
      assert.equal(r.status, status, `${path} ${JSON.stringify(form)}: ${r.text}`);
      if (body !== undefined) assert.deepEqual(JSON.parse(r.text), body, JSON.stringify(form));
    }
    assert.equal(s.t.server.users.has('erin'), false);
  });

  test("the administrator's password can be changed with role admin; the admin cannot be deleted (no such local user)", async () => {
    const users = s.t.server.users;
    const r = await mgmt.call('PUT', `${USERS}/local/Administrator`, { form: { password: 'new-password', roles: 'admin' } });
    assert.equal(r.status, 200, r.text);
    const admin = { username: 'Administrator', password: 'new-password' };
    assert.equal((await mgmt.get('/pools', admin)).status, 200);
    assert.equal((await mgmt.call('DELETE', `${USERS}/local/Administrator`, { creds: admin })).status, 404);
    await users.setAdmin('Administrator', 'password');
    assert.equal(users.isAdmin('Administrator'), true);
  });

  test('only the administrator manages users', async () => {
    await s.t.server.users.setBucketUser('frank', 'frank-secret', ['b1']);
    const frank = { username: 'frank', password: 'frank-secret' };
    assert.equal((await mgmt.get(USERS, frank)).status, 403);
    const put = await mgmt.call('PUT', `${USERS}/local/frank`, { creds: frank, form: { roles: 'bucket_full_access[b2]' } });
    assert.equal(put.status, 403);
    assert.equal(s.t.server.users.canAccessBucket('frank', 'b2'), false);
  });

  test('deleting a bucket removes it from its users; a user left with none is removed', async () => {
    const users = s.t.server.users;
    await s.t.server.engine.createBucket('temp', { numVBuckets: 2 });
    await users.setBucketUser('gina', 'gina-secret', ['temp', 'b1']);
    await users.setBucketUser('hank', 'hank-secret', ['temp']);
    assert.equal((await mgmt.call('DELETE', '/pools/default/buckets/temp')).status, 200);
    assert.equal(users.has('hank'), false);
    assert.deepEqual(users.list().find((u) => u.name === 'gina')?.buckets, ['b1']);
  });
});
