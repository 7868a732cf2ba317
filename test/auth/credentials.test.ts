import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserRegistry } from '../../src/auth/credentials.js';
import { AuthError } from '../../src/auth/errors.js';
import { ScramServerSession, type ScramServerReply } from '../../src/auth/scram.js';
import { ScramClient } from '../../src/auth/scram-client.js';
import { authenticatePlain, encodePlain } from '../../src/auth/plain.js';
import {
  DEFAULT_PASSWORD_ITERATIONS,
  DEFAULT_SCRAM_ITERATIONS,
  createUserRecord,
  hashPassword,
  parseUserRecord,
  verifyPasswordHash,
  verifyPasswordHashAsync,
  type UserRecord,
} from '../../src/auth/user-records.js';
import { SCRAM_HASH_ORDER } from '../../src/auth/scram-crypto.js';

const FAST = { scramIterations: 32, passwordIterations: 32 };

/** An in-memory store standing in for the storage engine. */
function memoryStore(initial: unknown[] = []) {
  const store = { records: initial, saves: 0, failNext: false };
  return {
    store,
    opts: {
      ...FAST,
      load: () => store.records,
      save: async (records: readonly UserRecord[]) => {
        if (store.failNext) {
          store.failNext = false;
          throw new Error('disk full');
        }
        store.saves++;
        store.records = JSON.parse(JSON.stringify(records)) as unknown[];
      },
    },
  };
}

async function populated() {
  const mem = memoryStore();
  const reg = new UserRegistry(mem.opts);
  await reg.setAdmin('Administrator', 'adminpw');
  await reg.setBucketUser('alice', 'alicepw', ['default', 'beer-sample']);
  await reg.setBucketUser('default', 'defaultpw', ['default']);
  return { reg, mem };
}

function expectCode(err: unknown, code: string): true {
  assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
  assert.equal(err.kind, code);
  return true;
}

describe('defaults follow ns_server', () => {
  test('15000 SCRAM iterations and 10000 PBKDF2 iterations', () => {
    assert.equal(DEFAULT_SCRAM_ITERATIONS, 15000);
    assert.equal(DEFAULT_PASSWORD_ITERATIONS, 10000);
  });
});

describe('UserRegistry access rules', () => {
  test('the admin reaches every bucket; bucket users exactly theirs', async () => {
    const { reg } = await populated();
    assert.equal(reg.isAdmin('Administrator'), true);
    assert.equal(reg.isAdmin('alice'), false);
    assert.equal(reg.isAdmin('nobody'), false);
    assert.equal(reg.canAccessBucket('Administrator', 'anything'), true);
    assert.equal(reg.canAccessBucket('alice', 'default'), true);
    assert.equal(reg.canAccessBucket('alice', 'beer-sample'), true);
    assert.equal(reg.canAccessBucket('alice', 'other'), false);
    assert.equal(reg.canAccessBucket('default', 'beer-sample'), false);
    assert.equal(reg.canAccessBucket('nobody', 'default'), false);
  });

  test('verify checks passwords, sync and async', async () => {
    const { reg } = await populated();
    assert.equal(reg.verify('alice', 'alicepw'), true);
    assert.equal(reg.verify('alice', 'alicepw'), true); // cached path
    assert.equal(reg.verify('alice', 'wrong'), false);
    assert.equal(reg.verify('nobody', 'alicepw'), false);
    assert.equal(await reg.verifyAsync('Administrator', 'adminpw'), true);
    assert.equal(await reg.verifyAsync('Administrator', 'nope'), false);
    assert.equal(await reg.verifyAsync('ghost', 'adminpw'), false);
  });

  test('a cached success does not leak to another user name', async () => {
    const { reg } = await populated();
    assert.equal(reg.verify('alice', 'alicepw'), true);
    assert.equal(reg.verify('alice\0alicepw', ''), false);
  });

  test('changing a password invalidates the old one, including the cache', async () => {
    const { reg } = await populated();
    assert.equal(reg.verify('alice', 'alicepw'), true);
    await reg.setBucketUser('alice', 'newpw', ['default']);
    assert.equal(reg.verify('alice', 'alicepw'), false);
    assert.equal(reg.verify('alice', 'newpw'), true);
    assert.equal(reg.canAccessBucket('alice', 'beer-sample'), false);
  });

  test('setAdmin replaces the previous admin; the admin cannot become a bucket user', async () => {
    const { reg } = await populated();
    await reg.setAdmin('root', 'rootpw');
    assert.equal(reg.has('Administrator'), false);
    assert.equal(reg.isAdmin('root'), true);
    await assert.rejects(reg.setBucketUser('root', 'x', ['default']), (e) => expectCode(e, 'USER_INVALID'));
    assert.equal(reg.isAdmin('root'), true);
  });

  test('setBuckets and removeUser', async () => {
    const { reg } = await populated();
    await reg.setBuckets('alice', ['travel', 'travel']);
    assert.deepEqual(reg.list().find((u) => u.name === 'alice')?.buckets, ['travel']);
    assert.equal(reg.verify('alice', 'alicepw'), true);
    await assert.rejects(reg.setBuckets('Administrator', ['x']), (e) => expectCode(e, 'USER_INVALID'));
    assert.equal(await reg.removeUser('alice'), true);
    assert.equal(await reg.removeUser('alice'), false);
    assert.equal(reg.verify('alice', 'alicepw'), false);
  });

  test('invalid names, buckets and passwords are USER_INVALID', async () => {
    const reg = new UserRegistry(memoryStore().opts);
    for (const [name, buckets] of [
      ['bad:name', ['default']],
      ['', ['default']],
      ['x'.repeat(129), ['default']],
      ['ok', ['.hidden']],
      ['ok', ['has space']],
    ] as const) {
      await assert.rejects(reg.setBucketUser(name, 'pw', buckets), (e) => expectCode(e, 'USER_INVALID'));
    }
    await assert.rejects(reg.setAdmin('admin', ''), (e) => expectCode(e, 'USER_INVALID'));
    assert.equal(reg.size, 0);
  });

  test('list is sorted and carries no secrets', async () => {
    const { reg } = await populated();
    // Each carries when its password was set (ms since the epoch), and no secret.
    const list = reg.list().map(({ passwordChanged, ...rest }) => {
      assert.ok(typeof passwordChanged === 'number' && Math.abs(Date.now() - passwordChanged) < 60_000);
      return rest;
    });
    assert.deepEqual(list, [
      { name: 'Administrator', role: 'admin', buckets: [], grants: [] },
      {
        name: 'alice',
        role: 'bucket',
        buckets: ['beer-sample', 'default'],
        grants: [
          { role: 'bucket_full_access', bucket: 'default' },
          { role: 'bucket_full_access', bucket: 'beer-sample' },
        ],
      },
      { name: 'default', role: 'bucket', buckets: ['default'], grants: [{ role: 'bucket_full_access', bucket: 'default' }] },
    ]);
  });
});

describe('UserRegistry persistence', () => {
  test('every change saves all records; a new registry loads them', async () => {
    const { reg, mem } = await populated();
    assert.equal(mem.store.saves, 3);
    const reloaded = new UserRegistry(mem.opts);
    assert.deepEqual(reloaded.list(), reg.list());
    assert.equal(reloaded.verify('alice', 'alicepw'), true);
    assert.equal(reloaded.verify('alice', 'wrong'), false);
  });

  test('a user with no roles signs in, reaches no bucket, and survives a reload', async () => {
    const mem = memoryStore();
    const reg = new UserRegistry(mem.opts);
    await reg.setBucketUser('nobody', 'nobodypw', []);
    assert.equal(reg.verify('nobody', 'nobodypw'), true);
    assert.equal(reg.canAccessBucket('nobody', 'default'), false);
    const reloaded = new UserRegistry(mem.opts);
    assert.deepEqual(reloaded.list(), reg.list());
    assert.equal(reloaded.canAccessBucket('nobody', 'default'), false);
  });

  test('stored records hold no plaintext password', async () => {
    const { mem } = await populated();
    const json = JSON.stringify(mem.store.records);
    for (const pw of ['adminpw', 'alicepw', 'defaultpw']) {
      assert.equal(json.includes(pw), false);
      assert.equal(json.includes(Buffer.from(pw).toString('base64')), false);
    }
    const record = mem.store.records[1] as UserRecord;
    assert.deepEqual(Object.keys(record.scram).sort(), ['sha1', 'sha256', 'sha512']);
    assert.equal(record.password.algorithm, 'pbkdf2-hmac-sha512');
    assert.equal(record.scram.sha512.iterations, 32);
  });

  test('a failed save changes nothing', async () => {
    const { reg, mem } = await populated();
    mem.store.failNext = true;
    await assert.rejects(reg.setBucketUser('bob', 'pw', ['default']), /disk full/);
    assert.equal(reg.has('bob'), false);
    await reg.setBucketUser('bob', 'pw', ['default']);
    assert.equal(reg.has('bob'), true);
  });

  test('concurrent changes are serialised and none is lost', async () => {
    const mem = memoryStore();
    const reg = new UserRegistry(mem.opts);
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => reg.setBucketUser(n, `${n}pw`, ['default'])));
    assert.deepEqual(reg.list().map((u) => u.name), ['a', 'b', 'c', 'd']);
    assert.equal((mem.store.records as UserRecord[]).length, 4);
  });

  test('malformed stored records are USER_STORE_CORRUPT', () => {
    const good = createUserRecord({ name: 'alice', password: 'pw', role: 'bucket', buckets: ['default'] }, FAST);
    const admin = createUserRecord({ name: 'root', password: 'pw', role: 'admin' }, FAST);
    const cases: unknown[][] = [
      [null],
      [{ ...good, role: 'superuser' }],
      [{ ...good, buckets: [] }],
      [{ ...good, name: 'a:b' }],
      [{ ...good, password: { ...good.password, algorithm: 'md5' } }],
      [{ ...good, scram: { ...good.scram, sha256: { ...good.scram.sha256, storedKey: 'AAAA' } } }],
      [{ ...good, scram: { sha512: good.scram.sha512 } }],
      [{ ...good.password, iterations: 0 }],
      [good, good],
      [admin, { ...admin, name: 'root2' }],
    ];
    for (const records of cases) {
      assert.throws(
        () => new UserRegistry({ ...FAST, load: () => records, save: async () => undefined }),
        (e) => expectCode(e, 'USER_STORE_CORRUPT'),
      );
    }
    assert.deepEqual(parseUserRecord(JSON.parse(JSON.stringify(good))), good);
  });
});

describe('registry-backed authentication', () => {
  test('SCRAM for all three hashes through scramLookup', async () => {
    const { reg } = await populated();
    for (const hash of SCRAM_HASH_ORDER) {
      const server = new ScramServerSession({ hash, lookup: reg.scramLookup });
      const client = new ScramClient({ hash, user: 'alice', password: 'alicepw' });
      const first = server.step(client.start());
      assert.equal(first.kind, 'continue');
      assert.match(first.kind === 'continue' ? first.message : '', /,i=32$/);
      const final = server.step(client.respond(first.kind === 'continue' ? first.message : ''));
      assert.equal(final.kind, 'success');
      client.verify(final.kind === 'success' ? final.message : '');
    }
  });

  test('scramServerContext: an unknown user sees the same iteration count and a stable salt', async () => {
    const mem = memoryStore();
    const secret = Buffer.alloc(64, 1);
    const reg = new UserRegistry({ ...mem.opts, fallbackSecret: secret });
    await reg.setBucketUser('alice', 'alicepw', ['default']);
    const first = (user: string, r: UserRegistry): ScramServerReply =>
      new ScramServerSession(r.scramServerContext('sha512')).step(`n,,n=${user},r=CN`);
    const known = first('alice', reg);
    const unknown = first('mallory', reg);
    assert.equal(known.kind, 'continue');
    assert.equal(unknown.kind, 'continue');
    const attrs = (m: ScramServerReply) => (m.kind === 'continue' ? m.message.split(',').slice(1) : []);
    assert.equal(attrs(known)[1], 'i=32');
    assert.equal(attrs(unknown)[1], 'i=32');
    assert.equal(Buffer.from(attrs(unknown)[0]!.slice(2), 'base64').length, 64);
    // Same secret after a restart: the same fake salt.
    const restarted = new UserRegistry({ ...mem.opts, fallbackSecret: secret });
    assert.equal(attrs(first('mallory', restarted))[0], attrs(unknown)[0]);
  });

  test('PLAIN through the registry', async () => {
    const { reg } = await populated();
    assert.equal(authenticatePlain(encodePlain('default', 'defaultpw'), reg), 'default');
    assert.throws(() => authenticatePlain(encodePlain('default', 'x'), reg), (e) => expectCode(e, 'SASL_AUTH_FAILED'));
  });
});

describe('password hashes', () => {
  test('PBKDF2-HMAC-SHA512 with a known salt is deterministic and verifies in constant time', async () => {
    const salt = Buffer.alloc(16, 7);
    const a = hashPassword('pw', 8, salt);
    assert.deepEqual(hashPassword('pw', 8, salt), a);
    assert.equal(Buffer.from(a.hash, 'base64').length, 64);
    assert.equal(verifyPasswordHash('pw', a), true);
    assert.equal(verifyPasswordHash('pW', a), false);
    assert.equal(await verifyPasswordHashAsync('pw', a), true);
    assert.equal(await verifyPasswordHashAsync('', a), false);
  });
});
