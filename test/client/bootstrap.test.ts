/**
 * Bootstrap helpers (couchbase-sdk-bootstrap.md §2-§3) against a scripted peer: the
 * request each sends, how replies are decoded, and how failures surface as KvStatusError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { KvStatusError } from '../../src/client/conn-errors.js';
import { connected } from './fixtures/setup.js';

describe('client > bootstrap helpers', () => {
  test('HELLO sends agent + features and records what the server enabled', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.hello('freshet-test', [c.Feature.Xerror, c.Feature.Collections, c.Feature.Duplex]);
    const req = await server.takeOne();
    assert.deepEqual(c.decodeHelloRequest(req), { agent: 'freshet-test', features: [0x07, 0x12, 0x0c] });
    server.send(c.encodeHelloResponse([c.Feature.Xerror, c.Feature.Duplex], { opaque: req.opaque }));
    assert.deepEqual(await p, [0x07, 0x0c]);
    assert.equal(conn.hasFeature(c.Feature.Duplex), true);
    assert.equal(conn.hasFeature(c.Feature.Collections), false);
  });

  test('pipelined HELLO, LIST_MECHS, SASL PLAIN, then SELECT_BUCKET, ERROR_MAP, CLUSTER_CONFIG', async (t) => {
    const { conn, server } = await connected(t);
    const first = Promise.all([conn.hello('a', [c.Feature.Xerror]), conn.listMechs(), conn.saslPlain('admin', 's3cret')]);
    const [h, l, s] = await server.take(3);
    assert.deepEqual([h!.opcode, l!.opcode, s!.opcode], [c.Opcode.Hello, c.Opcode.SaslListMechs, c.Opcode.SaslAuth]);
    const auth = c.decodeSaslRequest(s!);
    assert.equal(auth.mechanism, 'PLAIN');
    assert.deepEqual(c.parsePlainPayload(auth.payload), { authzid: '', user: 'admin', password: 's3cret' });
    server.send(
      c.encodeHelloResponse([c.Feature.Xerror], { opaque: h!.opaque }),
      c.encodeListMechsResponse(['SCRAM-SHA512', 'PLAIN'], { opaque: l!.opaque }),
      c.replyTo(s!),
    );
    const [, mechs] = await first;
    assert.deepEqual(mechs, ['SCRAM-SHA512', 'PLAIN']);

    const second = Promise.all([conn.selectBucket('default'), conn.getErrorMap(), conn.getClusterConfig()]);
    const [sb, em, cc] = await server.take(3);
    assert.deepEqual(c.decodeSelectBucketRequest(sb!), { bucket: 'default' });
    assert.deepEqual(c.decodeErrorMapRequest(em!), { version: 2 });
    assert.deepEqual(c.decodeGetClusterConfigRequest(cc!), {});
    const map = { version: 2, revision: 1, errors: { '86': { name: 'ETMPFAIL', desc: 'try again', attrs: ['temp'] } } };
    server.send(
      c.replyTo(sb!),
      c.encodeErrorMapResponse(map, { opaque: em!.opaque }),
      c.encodeGetClusterConfigResponse('{"rev":1}', { opaque: cc!.opaque }),
    );
    const [, errorMap, config] = await second;
    assert.deepEqual(errorMap, map);
    assert.equal(config, '{"rev":1}');
  });

  test('SASL AuthContinue is a step, not an error; AuthError rejects', async (t) => {
    const { conn, server } = await connected(t);
    const first = conn.saslAuth('SCRAM-SHA512', 'n,,n=u,r=abc');
    const a = await server.takeOne();
    server.send(c.encodeSaslResponse(c.Opcode.SaslAuth, 'r=abcdef,s=c2FsdA==,i=4096', { opaque: a.opaque, status: c.Status.AuthContinue }));
    const r1 = await first;
    assert.equal(r1.done, false);
    assert.equal(r1.payload.toString(), 'r=abcdef,s=c2FsdA==,i=4096');
    const step = conn.saslStep('SCRAM-SHA512', 'c=biws,r=abcdef,p=xyz');
    const b = await server.takeOne();
    assert.equal(b.opcode, c.Opcode.SaslStep);
    server.send(c.replyTo(b, { status: c.Status.AuthError }));
    await assert.rejects(step, (e: unknown) => e instanceof KvStatusError && e.status === c.Status.AuthError && e.fatal);
  });

  test('a failed SELECT_BUCKET carries status, name, flags and the XERROR context', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.selectBucket('nope');
    const req = await server.takeOne();
    server.send(c.replyTo(req, { status: c.Status.Eaccess, value: Buffer.from('{"error":{"context":"no bucket nope","ref":"r-1"}}') }));
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof KvStatusError);
      assert.equal(e.code, 'KVCLIENT_STATUS');
      assert.equal(e.status, 0x24);
      assert.equal(e.statusName, 'Eaccess');
      assert.equal(e.retriable, false);
      assert.equal(e.errorContext, 'no bucket nope');
      assert.equal(e.errorRef, 'r-1');
      assert.equal(e.context.opcode, c.Opcode.SelectBucket);
      return true;
    });
  });

  test('STAT collects the reply stream up to the empty terminator', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.stat('vbucket-seqno 0');
    const req = await server.takeOne();
    assert.deepEqual(c.decodeStatRequest(req).group, 'vbucket-seqno 0');
    const init = { opaque: req.opaque };
    server.send(c.encodeStatResponse({ name: 'vb_0:high_seqno', value: '12' }, init));
    server.send(c.encodeStatResponse({ name: 'vb_0:vb_uuid', value: '999' }, init), c.encodeStatTerminator(init));
    assert.deepEqual(await p, [
      { name: 'vb_0:high_seqno', value: '12' },
      { name: 'vb_0:vb_uuid', value: '999' },
    ]);
  });

  test('NOOP round trip', async (t) => {
    const { conn, server } = await connected(t);
    const p = conn.noop();
    server.send(c.replyTo(await server.takeOne()));
    await p;
    assert.equal(conn.stats.responses, 1);
  });
});
