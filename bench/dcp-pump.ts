/**
 * The loopback pump: the ceiling a DCP producer is compared with (issue 16, "DCP backfill ≥ 0.15×
 * the loopback pump"). A raw TCP sender on 127.0.0.1 that writes pre-built DCP frames (a snapshot
 * marker, mutations with 100-byte values, a stream end) as fast as the consumer reads them
 * (socket.write until it reports a full buffer, then the next 'drain'), with no protocol
 * handshake, no flow-control window and no storage. What it measures is the loopback socket plus
 * the consumer's own parsing: the most any producer could deliver to that consumer.
 *
 * `replayStream` is also the frame source of bench/tail.ts's replay producer.
 */
import net from 'node:net';
import * as c from '../src/codec/index.js';

/**
 * One vbucket's whole stream, opaque left 0 (patched per request): marker, n mutations, stream end.
 * Built from one encoded mutation used as a template, patching key digits and seqnos in place, so
 * the producer spends its time writing, not encoding.
 */
export function replayStream(vb: number, n: number, value: Buffer): Buffer {
  const marker = c.encodePacket(c.encodeSnapshotMarker({ opaque: 0, vbucket: vb, version: 'v1', startSeqno: 0, endSeqno: n, flags: 2 }));
  const end = c.encodePacket(c.encodeStreamEnd({ opaque: 0, vbucket: vb, reason: 0 }));
  const template = c.encodePacket(c.encodeDcpMutation({ opaque: 0, vbucket: vb, key: `key-${String(vb).padStart(4, '0')}-0000000`, value, cas: 1n, datatype: 1, bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0 }));
  const out = Buffer.allocUnsafe(marker.length + n * template.length + end.length);
  marker.copy(out, 0);
  const keyAt = 24 + 31 + 'key-0000-'.length;
  for (let s = 1; s <= n; s++) {
    const at = marker.length + (s - 1) * template.length;
    template.copy(out, at);
    out.write(String(s).padStart(7, '0'), at + keyAt, 'latin1');
    out.writeBigUInt64BE(BigInt(s), at + 16); // cas
    out.writeBigUInt64BE(BigInt(s), at + 24); // by_seqno
  }
  end.copy(out, out.length - end.length);
  return out;
}

/** Mutations per pre-built chunk the pump writes again and again. */
const CHUNK = 4096;

export interface LoopbackPump {
  readonly port: number;
  /** Mutations each connection receives: `docs` rounded up to whole chunks. */
  readonly mutations: number;
  /** Bytes of one mutation frame. */
  readonly frameBytes: number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1:0; every connection gets `docs` (rounded up) mutations with `value`, then the pump stops writing. */
export async function startLoopbackPump(docs: number, value: Buffer): Promise<LoopbackPump> {
  const chunk = replayStream(0, CHUNK, value);
  const chunks = Math.max(1, Math.ceil(docs / CHUNK));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', () => {}); // buffer acks and noop replies: read and dropped
    socket.setNoDelay(true);
    let sent = 0;
    const go = (): void => {
      while (sent < chunks) {
        sent++;
        if (!socket.write(chunk)) {
          socket.once('drain', go);
          return;
        }
      }
    };
    go();
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const frameBytes = c.encodePacket(c.encodeDcpMutation({ opaque: 0, vbucket: 0, key: 'key-0000-0000000', value, cas: 1n, datatype: 1, bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0 })).length;
  return {
    port: (server.address() as net.AddressInfo).port,
    mutations: chunks * CHUNK,
    frameBytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
