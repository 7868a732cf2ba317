/**
 * The bytes cbdatasource sends, in its order (dcp.md §4.4-§4.8, transcript §4.11), against
 * Freshet over a raw socket that sees every packet in arrival order: HELLO [0x01, 0x07],
 * DCP_OPEN with opaque 0xf00d1234, three pipelined controls with opaque 0, stream requests whose
 * opaque is the vbucket id (0 included), then only V1 markers, 31-byte mutations, 18-byte
 * deletions (expirations too), stream ends and DCP noops back; buffer acks unanswered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { runExpiryPager } from '../../src/engine/maintenance.js';
import { nowSeconds } from '../../src/engine/expiry.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { RawKv, expectStatus } from '../kv/raw-client.js';

let server: TestServer;
let bucket: Bucket;

before(async () => {
  server = await startTestServer({ numVBuckets: 4 });
  bucket = server.server.engine.bucket('default')!;
});
after(() => server.close());

/** Packets until `done` says stop (every packet, requests and responses alike). */
async function readUntil(kv: RawKv, done: (p: c.Packet, all: c.Packet[]) => boolean): Promise<c.Packet[]> {
  const out: c.Packet[] = [];
  for (;;) {
    const p = await kv.next();
    out.push(p);
    if (done(p, out)) return out;
  }
}

describe('dcp > cbdatasource on the wire', () => {
  test('handshake, pipelined controls, stream requests with opaque = vbucket, and only the messages it accepts', async (t) => {
    const keys = (vb: number, n: number, prefix: string): string[] => {
      const out: string[] = [];
      for (let i = 0; out.length < n; i++) if (bucket.vbucketOf(`${prefix}${i}`) === vb) out.push(`${prefix}${i}`);
      return out;
    };
    const [a, b, d, e] = keys(2, 4, 'cbds-');
    await bucket.set(a!, '{"n":1}', { datatype: c.Datatype.Json });
    await bucket.set(b!, '{"n":2}', { datatype: c.Datatype.Json });
    await bucket.set(d!, '"d"', { datatype: c.Datatype.Json });
    await bucket.delete(d!);
    await bucket.set(e!, '"e"', { datatype: c.Datatype.Json, expiry: nowSeconds() + 1000 });
    await bucket.quiesce(); // the pager reads the expiry index on disk
    await runExpiryPager(bucket, nowSeconds() + 2000);

    const kv = await RawKv.connect(server.server.ports.kv);
    t.after(() => kv.close());
    expectStatus(await kv.request(c.encodeSaslRequest({ mechanism: 'PLAIN', payload: c.plainPayload(ADMIN.username, ADMIN.password) })), c.Status.Success);
    const hello = expectStatus(await kv.request(c.encodeHelloRequest({ agent: 'cbdatasource-feed1', features: [0x0001, 0x0007] })), c.Status.Success);
    assert.deepEqual(c.decodeHelloResponse(hello).features, [0x0007], 'the retired 0x01 is ignored');
    expectStatus(await kv.request(c.encodeSelectBucketRequest('default')), c.Status.Success);

    kv.send(c.encodeDcpOpenRequest({ name: 'feed1', flags: c.DcpOpenFlag.Producer }, { opaque: 0xf00d1234 }));
    const open = await kv.next();
    assert.deepEqual([open.opcode, open.opaque, open.status], [c.Opcode.DcpOpen, 0xf00d1234, c.Status.Success]);

    kv.send(
      c.encodeDcpControlRequest({ key: 'connection_buffer_size', value: '2000' }),
      c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }),
      c.encodeDcpControlRequest({ key: 'set_noop_interval', value: '120' }),
    );
    for (const r of await kv.take(3)) assert.deepEqual([r.opcode, r.opaque, r.status], [c.Opcode.DcpControl, 0, c.Status.Success]);

    const high2 = bucket.vbucketInfo(2).highSeqno;
    kv.send(...[0, 1, 2, 3].map((vb) => c.encodeStreamRequest({ vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 }, { opaque: vb })));
    let acked = 0;
    const got = await readUntil(kv, (p, all) => {
      // Ack like cbdatasource: counted bytes of markers, items and stream ends, above 20% of 2000.
      const counted = all.filter((x) => x.magic === c.Magic.ClientRequest).reduce((n, x) => n + c.packetSize(x), 0);
      if (counted - acked > 400) {
        kv.send(c.encodeBufferAck(counted - acked));
        acked = counted;
      }
      return p.opcode === c.Opcode.DcpExpiration || (p.opcode === c.Opcode.DcpDeletion && p.vbucket === 2 && p.key.toString() === e);
    });
    const replies = got.filter((p) => p.magic === c.Magic.ClientResponse);
    assert.deepEqual(replies.map((r) => [r.opcode, r.opaque, r.status]), [0, 1, 2, 3].map((vb) => [c.Opcode.DcpStreamReq, vb, c.Status.Success]));
    const vb2 = got.filter((p) => p.magic === c.Magic.ClientRequest && p.vbucket === 2);
    assert.deepEqual(
      vb2.map((p) => [p.opcode, p.opaque, p.extras.length]),
      [
        [c.Opcode.DcpSnapshotMarker, 2, 20],
        [c.Opcode.DcpMutation, 2, 31],
        [c.Opcode.DcpMutation, 2, 31],
        [c.Opcode.DcpDeletion, 2, 18],
        [c.Opcode.DcpDeletion, 2, 18],
      ],
    );
    assert.equal(c.decodeSnapshotMarker(vb2[0]!).endSeqno, high2);
    assert.ok(got.every((p) => p.magic === c.Magic.ClientRequest || p.magic === c.Magic.ClientResponse), 'no 0x08/0x18 magics');
    const allowed = new Set<number>([c.Opcode.DcpStreamReq, c.Opcode.DcpSnapshotMarker, c.Opcode.DcpMutation, c.Opcode.DcpDeletion]);
    assert.ok(got.every((p) => allowed.has(p.opcode)), 'only messages cbdatasource accepts');

    // Its keep-alive NOOP (0x0a) is answered; buffer acks never are; CLOSE_STREAM answers with the vb as opaque.
    kv.send(c.encodeBufferAck(10));
    kv.send(c.encodeNoopRequest({ opaque: 0 }));
    const noop = await kv.next();
    assert.deepEqual([noop.magic, noop.opcode, noop.status], [c.Magic.ClientResponse, c.Opcode.Noop, c.Status.Success]);
    kv.send(c.encodeCloseStreamRequest({ vbucket: 3 }, { opaque: 3 }));
    const closed = await kv.next();
    assert.deepEqual([closed.opcode, closed.opaque, closed.status], [c.Opcode.DcpCloseStream, 3, c.Status.Success]);

    // A resume with the metadata it saved (start = last seqno, uuid = failOverLog[0][0], snap range).
    const uuid = bucket.vbucketInfo(2).uuid;
    kv.send(c.encodeCloseStreamRequest({ vbucket: 2 }, { opaque: 2 }));
    expectStatus(await kv.next(), c.Status.Success);
    kv.send(c.encodeStreamRequest({ vbucket: 2, startSeqno: high2, vbUuid: uuid, snapStartSeqno: 0, snapEndSeqno: high2 }, { opaque: 2 }));
    const resumed = await kv.next();
    assert.deepEqual([resumed.opcode, resumed.opaque, resumed.status], [c.Opcode.DcpStreamReq, 2, c.Status.Success]);
    assert.deepEqual(c.decodeFailoverLog(resumed), [{ vbUuid: uuid, seqno: 0 }]);
  });
});
