/**
 * Scoped roles: what data_reader / data_writer / bucket_full_access grant on buckets, scopes and
 * collections (kv_engine's Ok / Fail / FailNoPrivileges), how grants persist, and that a grant
 * on a dropped scope or collection does not cover one created again under the same name.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserRegistry } from '../../src/auth/credentials.js';
import { AuthError } from '../../src/auth/errors.js';
import { BucketAccess, Privilege, formatGrant, splitRoleItem, type RoleGrant } from '../../src/auth/roles.js';
import { parseUserRecord, type UserRecord } from '../../src/auth/user-records.js';

const FAST = { scramIterations: 32, passwordIterations: 32 };
const { Read, Insert, Upsert, Delete, MetaRead } = Privilege;

function registry(): { reg: UserRegistry; saved: () => unknown[] } {
  let records: unknown[] = [];
  const reg = new UserRegistry({
    ...FAST,
    load: () => records,
    save: async (r: readonly UserRecord[]) => {
      records = JSON.parse(JSON.stringify(r)) as unknown[];
    },
  });
  return { reg, saved: () => records };
}

// Scope `inventory` id 8 with collections airport 8 and hotel 9; scope `tenant` id 9 with users 10.
const airport: RoleGrant = { role: 'data_reader', bucket: 'b', scope: { name: 'inventory', id: 8 }, collection: { name: 'airport', id: 8 } };
const inventoryWriter: RoleGrant = { role: 'data_writer', bucket: 'b', scope: { name: 'inventory', id: 8 } };

describe('BucketAccess', () => {
  test('a collection reader: Ok on its collection, Fail for what it lacks there, FailNoPrivileges elsewhere', () => {
    const a = BucketAccess.of('b', [airport]);
    assert.equal(a.full, false);
    assert.equal(a.any, true);
    assert.equal(a.bucketMask, 0);
    assert.equal(a.check(Read, 8, 8), 'ok');
    assert.equal(a.check(MetaRead, 8, 8), 'ok');
    assert.equal(a.check(Upsert, 8, 8), 'fail');
    assert.equal(a.check(Read | Upsert, 8, 8), 'fail');
    assert.equal(a.check(Insert | Upsert, 8, 8, true), 'fail');
    assert.equal(a.check(Read, 8, 9), 'no-privileges');
    assert.equal(a.check(Read, 0, 0), 'no-privileges');
    assert.equal(BucketAccess.of('other', [airport]), BucketAccess.NONE);
  });

  test('a scope writer covers every collection of its scope, and only it', () => {
    const a = BucketAccess.of('b', [inventoryWriter, airport]);
    assert.equal(a.check(Upsert, 8, 9), 'ok');
    assert.equal(a.check(Insert | Upsert, 8, 9, true), 'ok');
    assert.equal(a.check(Delete, 8, 8), 'ok');
    assert.equal(a.check(Read, 8, 9), 'fail');
    // Reader on airport plus writer on its scope: counters (Read and Upsert) work there only.
    assert.equal(a.check(Read | Upsert, 8, 8), 'ok');
    assert.equal(a.check(Read | Upsert, 8, 9), 'fail');
    assert.equal(a.check(Upsert, 9, 10), 'no-privileges');
  });

  test('bucket-wide roles: data_reader[b] reads everywhere; bucket_full_access is full', () => {
    const reader = BucketAccess.of('b', [{ role: 'data_reader', bucket: 'b' }]);
    assert.equal(reader.full, false);
    assert.equal(reader.bucketMask & Read, Read);
    assert.equal(reader.check(Read, 9, 10), 'ok');
    assert.equal(reader.check(Upsert, 0, 0), 'fail');
    const full = BucketAccess.of('b', [airport, { role: 'bucket_full_access', bucket: 'b' }]);
    assert.equal(full, BucketAccess.FULL);
    assert.equal(full.check(Upsert | Read, 42, 42), 'ok');
  });
});

describe('role syntax', () => {
  test('split and format follow ns_server, percent-escapes decoded', () => {
    assert.deepEqual(splitRoleItem('data_reader[b:inventory:airport]'), { role: 'data_reader', params: ['b', 'inventory', 'airport'] });
    assert.deepEqual(splitRoleItem('data_reader[my%2Dbucket]'), { role: 'data_reader', params: ['my-bucket'] });
    assert.deepEqual(splitRoleItem('data_reader[a%zz]'), { role: 'data_reader', params: ['a%zz'] });
    assert.deepEqual(splitRoleItem('admin'), { role: 'admin', params: undefined });
    assert.equal(splitRoleItem('data_reader[b'), undefined);
    assert.equal(formatGrant(airport), 'data_reader[b:inventory:airport]');
    assert.equal(formatGrant({ role: 'bucket_full_access', bucket: 'b' }), 'bucket_full_access[b]');
  });
});

describe('the registry with scoped roles', () => {
  test('grants persist, select the bucket, and are not full access', async () => {
    const { reg, saved } = registry();
    const before = reg.generation;
    await reg.setBucketUser('ann', 'ann-secret', [airport, inventoryWriter]);
    assert.ok(reg.generation > before);
    assert.equal(reg.hasBucketRole('ann', 'b'), true);
    assert.equal(reg.canAccessBucket('ann', 'b'), false);
    assert.equal(reg.hasBucketRole('ann', 'c'), false);
    assert.equal(reg.bucketAccess('ann', 'b').check(Read, 8, 8), 'ok');

    const reloaded = new UserRegistry({ ...FAST, load: saved, save: async () => undefined });
    assert.deepEqual(reloaded.list().find((u) => u.name === 'ann')?.grants, [airport, inventoryWriter]);
    assert.equal(reloaded.bucketAccess('ann', 'b').check(Upsert, 8, 9), 'ok');

    // Replacing the roles keeps the password; the old grants are gone.
    await reg.setBuckets('ann', ['b']);
    assert.equal(reg.canAccessBucket('ann', 'b'), true);
    assert.equal(reg.verify('ann', 'ann-secret'), true);
  });

  test('a grant names the ids it was given for: a re-created collection of the same name is not covered', () => {
    const a = BucketAccess.of('b', [airport]);
    // `airport` dropped (id 8) and created again: it gets a new id.
    assert.equal(a.check(Read, 8, 12), 'no-privileges');
  });

  test('records written before scoped roles load as bucket_full_access; malformed grants are refused', async () => {
    const { reg, saved } = registry();
    await reg.setBucketUser('old', 'old-secret', ['b']);
    const record = { ...(saved()[0] as Record<string, unknown>) };
    delete record.grants;
    const legacy = parseUserRecord(record);
    assert.equal(legacy.grants, undefined);
    const loaded = new UserRegistry({ ...FAST, load: () => [record], save: async () => undefined });
    assert.equal(loaded.canAccessBucket('old', 'b'), true);

    const corrupt = (grants: unknown, buckets: unknown = ['b']): void => {
      assert.throws(() => parseUserRecord({ ...record, grants, buckets }), (e) => e instanceof AuthError && e.kind === 'USER_STORE_CORRUPT');
    };
    corrupt([{ role: 'data_reader', bucket: 'b' }], ['b', 'c']);
    corrupt([{ role: 'query_select', bucket: 'b' }]);
    corrupt([{ role: 'data_reader', bucket: 'b', collection: { name: 'c', id: 8 } }]);
    corrupt([{ role: 'bucket_full_access', bucket: 'b', scope: { name: 's', id: 8 } }]);
    corrupt([{ role: 'data_reader', bucket: 'b', scope: { name: 's', id: -1 } }]);
    corrupt('data_reader[b]');
    await assert.rejects(reg.setBucketUser('x', 'x-secret', [{ role: 'data_reader', bucket: 'b', collection: { name: 'c', id: 8 } }]), AuthError);
  });
});
