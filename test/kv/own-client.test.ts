/**
 * Freshet's own client connection (src/client/connection.ts) against Freshet's KV server: the
 * SDK-shaped pipelined bootstrap with SCRAM-SHA512, many concurrent requests matched by opaque,
 * quiet requests, and STAT through the client helpers. The two sides share only the codec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvConnection, KvStatusError } from '../../src/client/connection.js';
import { ScramClient } from '../../src/auth/scram-client.js';
import {
  Feature,
  Opcode,
  Status,
  decodeGetResponse,
  decodeMutationToken,
  encodeGetRequest,
  encodeStoreRequest,
} from '../../src/codec/index.js';
import { RAW_TEST, withServer } from './fixture.js';
import { SDK_FEATURES } from './raw-client.js';

test('bootstrap like the SDK (pipelined HELLO, LIST_MECHS, SCRAM), then KV through the client', RAW_TEST, () =>
  withServer(async (f) => {
    const conn = await KvConnection.connect({ port: f.port }, { requestTimeoutMs: 5000 });
    try {
      const scram = new ScramClient({ hash: 'sha512', user: 'Administrator', password: 'password' });
      // HELLO, LIST_MECHS and SASL_AUTH leave in one flush, before any reply (§3.1).
      const [features, mechs, first] = await Promise.all([
        conn.hello('freshet-own-client', SDK_FEATURES),
        conn.listMechs(),
        conn.saslAuth(scram.mechanism, scram.start()),
      ]);
      assert.ok(features.includes(Feature.MutationSeqno) && features.includes(Feature.Collections));
      assert.ok(mechs.includes('SCRAM-SHA512'));
      assert.equal(first.done, false, 'SCRAM continues after the client-first');
      const final = await conn.saslStep(scram.mechanism, scram.respond(first.payload.toString('utf8')));
      assert.equal(final.done, true);
      scram.verify(final.payload.toString('utf8'));

      const [, errorMap, config] = await Promise.all([conn.selectBucket('default'), conn.getErrorMap(2), conn.getClusterConfig()]);
      assert.equal(errorMap.version, 2);
      assert.equal((JSON.parse(config) as { name: string }).name, 'default');

      // Collections were granted, so keys carry the default collection's id (0x00).
      const key = (k: string): Buffer => Buffer.concat([Buffer.from([0]), Buffer.from(k)]);
      const n = 500;
      const sets = await Promise.all(
        Array.from({ length: n }, (_, i) => conn.request(encodeStoreRequest({ key: key(`c${i}`), value: `v${i}`, vbucket: f.vb(`c${i}`) }))),
      );
      for (const [i, r] of sets.entries()) {
        assert.equal(r.status, Status.Success);
        assert.equal(decodeMutationToken(r)?.seqno, f.bucket.get(`c${i}`).seqno);
      }
      const gets = await Promise.all(
        Array.from({ length: n }, (_, i) => conn.request(encodeGetRequest({ key: key(`c${i}`), vbucket: f.vb(`c${i}`) }))),
      );
      gets.forEach((r, i) => assert.equal(decodeGetResponse(r).value.toString(), `v${i}`));

      // Quiet requests: silence on a hit for SETQ and on a miss for GETQ resolves null.
      const quiet = await Promise.all([
        conn.requestQuiet(encodeStoreRequest({ opcode: Opcode.SetQ, key: key('q'), value: 'quiet', vbucket: f.vb('q') })),
        conn.requestQuiet(encodeGetRequest({ opcode: Opcode.GetQ, key: key('nope'), vbucket: f.vb('nope') })),
        conn.requestQuiet(encodeGetRequest({ opcode: Opcode.GetQ, key: key('q'), vbucket: f.vb('q') })),
        conn.noop(),
      ]);
      assert.equal(quiet[0], null);
      assert.equal(quiet[1], null);
      assert.equal(quiet[2]?.value.toString(), 'quiet');

      const entries = await conn.stat(`vbucket-seqno ${f.vb('q')}`);
      const high = entries.find((e) => e.name === `vb_${f.vb('q')}:high_seqno`);
      assert.equal(high?.value, String(f.bucket.vbucketInfo(f.vb('q')).highSeqno));
      await assert.rejects(conn.stat('no-such-group'), (err: unknown) => err instanceof KvStatusError && err.status === Status.KeyEnoent);
    } finally {
      await conn.close();
    }
  }));

test('the client sees a wrong SCRAM password as AuthError', RAW_TEST, () =>
  withServer(async (f) => {
    const conn = await KvConnection.connect({ port: f.port }, { requestTimeoutMs: 5000 });
    try {
      const scram = new ScramClient({ hash: 'sha256', user: 'Administrator', password: 'wrong' });
      const first = await conn.saslAuth(scram.mechanism, scram.start());
      await assert.rejects(
        conn.saslStep(scram.mechanism, scram.respond(first.payload.toString('utf8'))),
        (err: unknown) => err instanceof KvStatusError && err.status === Status.AuthError,
      );
      await assert.rejects(conn.selectBucket('default'), (err: unknown) => err instanceof KvStatusError && err.status === Status.Eaccess);
    } finally {
      await conn.close();
    }
  }));
