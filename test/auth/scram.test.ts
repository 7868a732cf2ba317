import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  INITIAL_SCRAM_SERVER_STATE,
  ScramServerSession,
  scramServerStep,
  type ScramServerContext,
} from '../../src/auth/scram.js';
import { ScramClient, scramClientFinal, scramClientFirst, scramClientVerify } from '../../src/auth/scram-client.js';
import {
  SCRAM_HASH_ORDER,
  clientProof,
  deriveScramCredentials,
  saltedPassword,
  scramHashForMechanism,
  serverSignature,
  hmac,
  type ScramCredentials,
  type ScramHash,
} from '../../src/auth/scram-crypto.js';
import { decodeSaslName, encodeSaslName } from '../../src/auth/scram-messages.js';
import { saslMechanismList, findSaslMechanism } from '../../src/auth/mechanisms.js';
import { AuthError } from '../../src/auth/errors.js';

// RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256): user "user", password "pencil".
const RFC_VECTORS = [
  {
    hash: 'sha1' as const,
    clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverNonce: '3rfcNHYJY1ZVvWVs7j',
    salt: 'QSXCR+Q6sek8bf92',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    hash: 'sha256' as const,
    clientNonce: 'rOprNGfwEbeRWgbNEkqO',
    serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

const ITERATIONS = 64; // small, so round trips stay fast

function contextFor(
  hash: ScramHash,
  users: Record<string, ScramCredentials>,
  serverNonce?: string,
): ScramServerContext {
  return {
    hash,
    lookup: (user, h) => (h === hash ? users[user] : undefined),
    ...(serverNonce === undefined ? {} : { serverNonce: () => serverNonce }),
    unknownUser: { secret: Buffer.from('fallback'), iterations: ITERATIONS },
  };
}

function credsFor(hash: ScramHash, password: string): ScramCredentials {
  return deriveScramCredentials(hash, password, Buffer.from(`salt-${hash}`), ITERATIONS);
}

describe('SCRAM RFC test vectors', () => {
  for (const v of RFC_VECTORS) {
    test(`server reproduces the ${v.hash} exchange`, () => {
      const creds = deriveScramCredentials(v.hash, 'pencil', Buffer.from(v.salt, 'base64'), 4096);
      const session = new ScramServerSession(contextFor(v.hash, { user: creds }, v.serverNonce));
      assert.deepEqual(session.step(v.clientFirst), { kind: 'continue', message: v.serverFirst });
      assert.equal(session.state.phase, 'awaiting-client-final');
      assert.deepEqual(session.step(Buffer.from(v.clientFinal)), {
        kind: 'success',
        message: v.serverFinal,
        user: 'user',
      });
      assert.deepEqual(session.state, { phase: 'done', user: 'user' });
    });

    test(`client reproduces the ${v.hash} exchange`, () => {
      const opts = { hash: v.hash, user: 'user', password: 'pencil', clientNonce: v.clientNonce };
      const first = scramClientFirst(opts);
      assert.equal(first.message, v.clientFirst);
      const final = scramClientFinal(opts, first.state, v.serverFirst);
      assert.equal(final.message, v.clientFinal);
      assert.deepEqual(scramClientVerify(final.state, v.serverFinal).state, { phase: 'done' });
    });
  }

  // ns_server src/scram_sha.erl eunit vectors: the only published SHA-512 values for Couchbase.
  test('SHA-512 primitives match ns_server regression vectors', () => {
    const salt = Buffer.from(
      '31uxbpP++gOzRdXBY3iOdIeTm/3dutkz/58VFKfZzffcYrNAm8D1YNDLjjf1AfUGckWFB63nQjUQHyo2fXZC/g==',
      'base64',
    );
    assert.equal(
      saltedPassword('sha512', '4149a7598deb1a04e2ea7ac8d915f6c3', salt, 4000).toString('base64'),
      'GB1lsONsRtKXyL59L84/2sYQTTVL6d7dplmhNN2dpys+wJr5UY3hfAj4zK3ZatjQkUZHjnlAtrZzvjpzQboNcg==',
    );
    assert.equal(
      clientProof('sha512', Buffer.from('asdsvdbxgfbdf'), 'ggkjhlhiuyfhcf').toString('base64'),
      'nNoiOTTsg6xXguLqGhW21taip2Ec/iSyrxmQunnB5o4FFHJ1uOrqO6NHR5i0llfFNgkcXkgArkX3HEzUv8pSuA==',
    );
    const serverKey = hmac('sha512', 'asdsvdbxgfbdf', 'Server Key');
    assert.equal(
      serverSignature('sha512', serverKey, 'ggkjhlhiuyfhcf').toString('base64'),
      'psZBJnp2+qyiPJOICKNvaYIMbg1hl3RqH613PG03zFFN4EQQLDA/Xg5hMHxGBK2y2nTxkxYW7EiK5/PrZve/yg==',
    );
  });

  test('SHA-1 and SHA-256 PBKDF2 match ns_server regression vectors', () => {
    const pw = '4149a7598deb1a04e2ea7ac8d915f6c3';
    assert.equal(
      saltedPassword('sha1', pw, Buffer.from('mtlJBgjGNa7S63biAXQ06EPzhXg=', 'base64'), 4000).toString('base64'),
      'ZIlutBvCilUTSMtgRRHzkomuNbc=',
    );
    assert.equal(
      saltedPassword('sha256', pw, Buffer.from('SPPCz+lBjL6WNvsssl04Wr6FlffsYMxFXlUM+LwdiY8=', 'base64'), 4000).toString(
        'base64',
      ),
      'ELrpMLYTEg2BrqsAE+33vpIjk/3a8mc8cBVcE06G38k=',
    );
  });
});

describe('SCRAM client <-> server round trips', () => {
  for (const hash of SCRAM_HASH_ORDER) {
    test(`${hash}: correct password succeeds and the client verifies v=`, () => {
      const server = new ScramServerSession(contextFor(hash, { alice: credsFor(hash, 's3cret') }));
      const client = new ScramClient({ hash, user: 'alice', password: 's3cret' });
      const first = server.step(client.start());
      assert.equal(first.kind, 'continue');
      const final = server.step(client.respond(first.kind === 'continue' ? first.message : ''));
      assert.equal(final.kind, 'success');
      client.verify(final.kind === 'success' ? final.message : '');
      assert.equal(client.state.phase, 'done');
    });

    test(`${hash}: wrong password fails with SASL_AUTH_FAILED`, () => {
      const server = new ScramServerSession(contextFor(hash, { alice: credsFor(hash, 's3cret') }));
      const client = new ScramClient({ hash, user: 'alice', password: 'wrong' });
      const first = server.step(client.start());
      assert.equal(first.kind, 'continue');
      const final = server.step(client.respond(first.kind === 'continue' ? first.message : ''));
      assert.deepEqual(final, { kind: 'failure', code: 'SASL_AUTH_FAILED', reason: 'client proof does not verify' });
      assert.equal(server.state.phase, 'failed');
    });
  }

  test('a tampered proof of the right length is rejected', () => {
    const hash = 'sha512';
    const server = new ScramServerSession(contextFor(hash, { alice: credsFor(hash, 'pw') }));
    const client = new ScramClient({ hash, user: 'alice', password: 'pw' });
    const first = server.step(client.start());
    const clientFinal = client.respond(first.kind === 'continue' ? first.message : '');
    const proofAt = clientFinal.lastIndexOf(',p=') + 3;
    const proof = Buffer.from(clientFinal.slice(proofAt), 'base64');
    proof[0] = proof[0]! ^ 0x01;
    const reply = server.step(clientFinal.slice(0, proofAt) + proof.toString('base64'));
    assert.equal(reply.kind, 'failure');
    assert.equal(reply.kind === 'failure' && reply.code, 'SASL_AUTH_FAILED');
  });

  test('a proof of the wrong length is a malformed message', () => {
    const server = new ScramServerSession(contextFor('sha256', { alice: credsFor('sha256', 'pw') }, 'SNONCE'));
    server.step('n,,n=alice,r=CNONCE');
    const reply = server.step(`c=biws,r=CNONCESNONCE,p=${Buffer.alloc(20).toString('base64')}`);
    assert.deepEqual(reply.kind === 'failure' && reply.code, 'SASL_BAD_PARAM');
  });

  test('an unknown user gets a plausible server-first and then fails', () => {
    const ctx = contextFor('sha512', {}, 'SNONCE');
    const session = new ScramServerSession(ctx);
    const first = session.step('n,,n=mallory,r=CNONCE');
    assert.equal(first.kind, 'continue');
    const message = first.kind === 'continue' ? first.message : '';
    assert.match(message, /^r=CNONCESNONCE,s=[A-Za-z0-9+/]+=*,i=64$/);
    // The fake salt is stable per user, like a real one.
    const again = new ScramServerSession(ctx).step('n,,n=mallory,r=CNONCE');
    assert.deepEqual(again, first);
    const client = { hash: 'sha512' as const, user: 'mallory', password: 'guess', clientNonce: 'CNONCE' };
    const final = scramClientFinal(client, scramClientFirst(client).state, message);
    assert.deepEqual(session.step(final.message), { kind: 'failure', code: 'SASL_AUTH_FAILED', reason: 'unknown user' });
  });
});

describe('SCRAM server message checks', () => {
  const ctx = contextFor('sha256', { 'a,b=c': credsFor('sha256', 'pw'), alice: credsFor('sha256', 'pw') }, 'SN');

  function firstReply(message: string) {
    return scramServerStep(ctx, INITIAL_SCRAM_SERVER_STATE, message).reply;
  }

  test('channel binding p= is refused; y,, is accepted', () => {
    const refused = firstReply('p=tls-unique,,n=alice,r=CN');
    assert.deepEqual(refused, { kind: 'failure', code: 'SASL_BAD_PARAM', reason: 'channel binding is not supported' });
    assert.equal(firstReply('y,,n=alice,r=CN').kind, 'continue');
  });

  test('client-first syntax errors are SASL_BAD_PARAM', () => {
    for (const bad of ['', 'x,,n=alice,r=CN', 'n,', 'n,,r=CN,n=alice', 'n,,n=alice', 'n,,m=ext,n=alice,r=CN',
      'n,,n=,r=CN', 'n,,n=al=2Xice,r=CN', 'n,,n=alice,r=', 'n,,n=alice,r=C\u0001N', 'n,,n=alice,,r=CN']) {
      const reply = firstReply(bad);
      assert.equal(reply.kind === 'failure' && reply.code, 'SASL_BAD_PARAM', `accepted ${JSON.stringify(bad)}`);
    }
  });

  test('invalid UTF-8 is SASL_BAD_PARAM', () => {
    const reply = scramServerStep(ctx, INITIAL_SCRAM_SERVER_STATE, Buffer.from([0x6e, 0x2c, 0x2c, 0xff])).reply;
    assert.equal(reply.kind === 'failure' && reply.code, 'SASL_BAD_PARAM');
  });

  test('the C++ SDK nonce (hex dump with spaces) is accepted', () => {
    const nonce = '0x56 0x62 0x1e 0x75 0x3b 0x20 0x6d 0xffffffb6';
    const reply = firstReply(`n,,n=alice,r=${nonce}`);
    assert.deepEqual(reply, { kind: 'continue', message: `r=${nonce}SN,s=${credsFor('sha256', 'pw').salt.toString('base64')},i=64` });
  });

  test('escaped user names and a matching authzid work; a different authzid does not', () => {
    const opts = { hash: 'sha256' as const, user: 'a,b=c', password: 'pw', clientNonce: 'CN' };
    const first = scramClientFirst(opts);
    assert.equal(first.message, 'n,,n=a=2Cb=3Dc,r=CN');
    const t1 = scramServerStep(ctx, INITIAL_SCRAM_SERVER_STATE, first.message);
    assert.equal(t1.reply.kind, 'continue');
    const final = scramClientFinal(opts, first.state, t1.reply.kind === 'continue' ? t1.reply.message : '');
    assert.equal(scramServerStep(ctx, t1.state, final.message).reply.kind, 'success');

    assert.equal(firstReply('n,a=alice,n=alice,r=CN').kind, 'continue');
    const other = firstReply('n,a=root,n=alice,r=CN');
    assert.equal(other.kind === 'failure' && other.code, 'SASL_BAD_PARAM');
  });

  test('c= must echo the gs2 header and r= the combined nonce', () => {
    const started = scramServerStep(ctx, INITIAL_SCRAM_SERVER_STATE, 'y,,n=alice,r=CN');
    const proof = Buffer.alloc(32).toString('base64');
    const biws = scramServerStep(ctx, started.state, `c=biws,r=CNSN,p=${proof}`).reply;
    assert.deepEqual(biws, { kind: 'failure', code: 'SASL_BAD_PARAM', reason: 'c= does not repeat the gs2 header' });
    const wrongNonce = scramServerStep(ctx, started.state, `c=eSws,r=CNXX,p=${proof}`).reply;
    assert.deepEqual(wrongNonce, {
      kind: 'failure',
      code: 'SASL_BAD_PARAM',
      reason: 'r= does not repeat the combined nonce',
    });
    for (const bad of ['c=eSws,r=CNSN', `r=CNSN,c=eSws,p=${proof}`, `c=eSws,r=CNSN,p=not*base64`, 'garbage']) {
      const reply = scramServerStep(ctx, started.state, bad).reply;
      assert.equal(reply.kind === 'failure' && reply.code, 'SASL_BAD_PARAM', `accepted ${bad}`);
    }
  });

  test('messages after done or failed are SASL_BAD_STATE', () => {
    const failed = scramServerStep(ctx, INITIAL_SCRAM_SERVER_STATE, 'bogus');
    assert.equal(failed.state.phase, 'failed');
    const again = scramServerStep(ctx, failed.state, 'n,,n=alice,r=CN').reply;
    assert.equal(again.kind === 'failure' && again.code, 'SASL_BAD_STATE');
    const done = scramServerStep(ctx, { phase: 'done', user: 'alice' }, 'n,,n=alice,r=CN').reply;
    assert.equal(done.kind === 'failure' && done.code, 'SASL_BAD_STATE');
  });
});

describe('SCRAM client checks of server messages', () => {
  const opts = { hash: 'sha256' as const, user: 'user', password: 'pencil', clientNonce: 'rOprNGfwEbeRWgbNEkqO' };
  const v = RFC_VECTORS[1]!;

  function expectCode(fn: () => unknown, code: string): void {
    assert.throws(fn, (err: unknown) => err instanceof AuthError && err.kind === code);
  }

  test('server-first must extend the client nonce and carry s and i', () => {
    const st = scramClientFirst(opts).state;
    expectCode(() => scramClientFinal(opts, st, 'r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), 'SCRAM_SERVER_INVALID');
    expectCode(() => scramClientFinal(opts, st, 'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), 'SCRAM_SERVER_INVALID');
    expectCode(() => scramClientFinal(opts, st, 'r=rOprNGfwEbeRWgbNEkqOx,i=4096'), 'SCRAM_SERVER_INVALID');
    expectCode(() => scramClientFinal(opts, st, 'r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0'), 'SCRAM_SERVER_INVALID');
    expectCode(() => scramClientFinal(opts, st, 'm=x,r=rOprNGfwEbeRWgbNEkqOx,s=AA==,i=1'), 'SCRAM_SERVER_INVALID');
    expectCode(() => scramClientFinal(opts, st, 'e=unknown-user'), 'SASL_AUTH_FAILED');
  });

  test('an excessive iteration count is refused', () => {
    const limited = { ...opts, maxIterations: 1000 };
    const st = scramClientFirst(limited).state;
    expectCode(() => scramClientFinal(limited, st, v.serverFirst), 'SCRAM_SERVER_INVALID');
  });

  test('a wrong server signature or an e= reply fails', () => {
    const final = scramClientFinal(opts, scramClientFirst(opts).state, v.serverFirst);
    expectCode(() => scramClientVerify(final.state, 'v=AAAA'), 'SCRAM_SERVER_SIGNATURE');
    expectCode(() => scramClientVerify(final.state, 'e=invalid-proof'), 'SASL_AUTH_FAILED');
    expectCode(() => scramClientVerify(final.state, 'x=1'), 'SCRAM_SERVER_INVALID');
  });

  test('the client object records failures and refuses to restart', () => {
    const client = new ScramClient(opts);
    client.start();
    expectCode(() => client.start(), 'SASL_BAD_STATE');
    assert.equal(client.state.phase, 'failed');
    assert.equal(client.mechanism, 'SCRAM-SHA256');
  });
});

describe('SASL mechanism table', () => {
  test('list matches kv_engine and names map to hashes', () => {
    assert.equal(saslMechanismList(), 'SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN');
    assert.equal(scramHashForMechanism('SCRAM-SHA512'), 'sha512');
    assert.equal(scramHashForMechanism('SCRAM-SHA-512'), undefined);
    assert.deepEqual(findSaslMechanism('PLAIN'), { name: 'PLAIN', kind: 'plain' });
    assert.equal(findSaslMechanism('CRAM-MD5'), undefined);
  });

  test('saslname escaping round-trips and rejects bad escapes', () => {
    assert.equal(encodeSaslName('a=b,c'), 'a=3Db=2Cc');
    assert.equal(decodeSaslName('a=3Db=2Cc'), 'a=b,c');
    assert.equal(decodeSaslName('a=2'), undefined);
    assert.equal(decodeSaslName('a,b'), undefined);
  });
});
