/**
 * The minimal DCP consumer of `bench dcp`: decodes each message just enough to count it and read
 * its key, and acknowledges bytes (20 MB window, ack at 20% as cbdatasource does), so the
 * consumer, not the producer, is never what the figures measure. Shared by the backfill, latency
 * and pump phases (in the consumer worker) and the stalled consumer of the memory phase.
 */
import type { Socket } from 'node:net';
import * as c from '../src/codec/index.js';

export const WINDOW = 20_000_000;
const ACK_AT = WINDOW * 0.2;
export const USER = { username: 'Administrator', password: 'password' };

/**
 * The mutation fields a consumer uses, read straight from the 31-byte extras (codec/dcp/mutation.ts
 * layout). The codec's `decodeDcpMutation` returns the same fields but builds its result with an
 * object spread followed by eleven properties, a shape V8 (Node 20) handles in ~12 us per call;
 * that would make this consumer, not the producer, the measured bottleneck.
 */
export interface MinimalMutation {
  readonly vbucket: number;
  readonly seqno: number;
  readonly revSeqno: number;
  readonly flags: number;
  readonly expiration: number;
  readonly key: Buffer;
  readonly value: Buffer;
}

function decodeMutation(p: c.Packet): MinimalMutation {
  const x = p.extras;
  if (x.length !== c.DCP_MUTATION_EXTRAS_LENGTH) throw new Error(`mutation extras ${x.length}`);
  return {
    vbucket: p.vbucket,
    seqno: x.readUInt32BE(0) * 0x1_0000_0000 + x.readUInt32BE(4),
    revSeqno: x.readUInt32BE(8) * 0x1_0000_0000 + x.readUInt32BE(12),
    flags: x.readUInt32BE(16),
    expiration: x.readUInt32BE(20),
    key: p.key,
    value: p.value,
  };
}

export class MinimalConsumer {
  private readonly parser = new c.PacketParser();
  private unacked = 0;
  private opaque = 1;
  private waiting = new Map<number, (p: c.Packet) => void>();
  mutations = 0;
  bytes = 0;
  onMutation: ((m: MinimalMutation) => void) | null = null;
  /** Other stream messages (stream end, system event, seqno advanced) by opcode. */
  onOther: ((p: c.Packet) => void) | null = null;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  request(p: c.Packet): Promise<c.Packet> {
    const opaque = this.opaque++;
    this.socket.write(c.encodePacket({ ...p, opaque }));
    return new Promise((resolve) => this.waiting.set(opaque, resolve));
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const p of this.parser.push(chunk)) {
      if (!c.isRequestMagic(p.magic)) {
        this.waiting.get(p.opaque)?.(p);
        this.waiting.delete(p.opaque);
        continue;
      }
      if (p.opcode === c.Opcode.DcpNoop) {
        this.socket.write(c.encodePacket(c.encodeDcpNoopResponse(p.opaque)));
        continue;
      }
      if (p.opcode === c.Opcode.DcpMutation) {
        const m = decodeMutation(p);
        this.mutations++;
        this.onMutation?.(m);
      } else {
        this.onOther?.(p);
      }
      this.unacked += c.packetSize(p);
      if (this.unacked >= ACK_AT) {
        this.socket.write(c.encodePacket(c.encodeBufferAck(this.unacked)));
        this.unacked = 0;
      }
    }
  }
}

/** SASL PLAIN, select `bucket`, DCP_OPEN as a producer named `name`, flow control, noops; optionally HELLO first. */
export async function openDcp(consumer: MinimalConsumer, bucket: string, name: string, features: number[] = []): Promise<void> {
  const ok = async (p: c.Packet, what: string): Promise<void> => {
    const r = await consumer.request(p);
    if (r.status !== c.Status.Success) throw new Error(`${what}: ${c.statusName(r.status)}`);
  };
  if (features.length > 0) await consumer.request(c.encodeHelloRequest({ agent: 'bench', features }));
  await ok(c.encodeSaslRequest({ opcode: c.Opcode.SaslAuth, mechanism: 'PLAIN', payload: c.plainPayload(USER.username, USER.password) }), 'auth');
  await ok(c.encodeSelectBucketRequest(bucket), 'select bucket');
  await ok(c.encodeDcpOpenRequest({ name, flags: c.DcpOpenFlag.Producer }), 'open');
  await ok(c.encodeDcpControlRequest({ key: 'connection_buffer_size', value: String(WINDOW) }), 'buffer size');
  await ok(c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }), 'noop');
}

/** STREAM_REQ for vbuckets 0..n-1 from seqno 0 (to `highs[vb]` when given, else open-ended). */
export async function streamAll(consumer: MinimalConsumer, n: number, highs?: number[], filter?: string | null): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, vb) => {
      const r = await consumer.request(
        c.encodeStreamRequest({
          vbucket: vb, startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0,
          ...(highs ? { endSeqno: highs[vb]! } : {}),
          ...(filter === null || filter === undefined ? {} : { value: filter }),
        }),
      );
      if (r.status !== c.Status.Success) throw new Error(`stream ${vb}: ${c.statusName(r.status)}`);
    }),
  );
}
