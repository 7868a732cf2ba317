/**
 * An independent TAP client for the producer's tests: a raw socket and its own memcached-binary
 * frame reader, written from the TAP wire description (kv_engine docs/TAP.md, Python's
 * mc_bin_client/tap.py) and sharing no code with Freshet's codec, so a layout mistake on the
 * server is not mirrored here. It authenticates with SASL PLAIN, selects a bucket, sends
 * TAP_CONNECT and records every stream message; messages flagged TAP_FLAG_ACK are answered unless
 * the test turns `autoAck` off. The server's idle NOOPs are recorded and, like a careful client,
 * otherwise ignored (not answered, not treated as data).
 */
import { connect, type Socket } from 'node:net';

export interface Frame {
  readonly magic: number;
  readonly opcode: number;
  readonly datatype: number;
  /** vbucket (request) or status (response). */
  readonly vbOrStatus: number;
  readonly bodyLength: number;
  readonly opaque: number;
  readonly cas: bigint;
  readonly extras: Buffer;
  readonly key: Buffer;
  readonly value: Buffer;
}

export type TapEvent =
  | { readonly type: 'mutation'; readonly vb: number; readonly seqno: number; readonly tapFlags: number; readonly key: string; readonly value: Buffer; readonly flags: number; readonly expiry: number; readonly cas: bigint }
  | { readonly type: 'delete'; readonly vb: number; readonly seqno: number; readonly tapFlags: number; readonly key: string; readonly cas: bigint }
  | { readonly type: 'opaque'; readonly vb: number; readonly seqno: number; readonly tapFlags: number; readonly command: number }
  | { readonly type: 'vbucket-set'; readonly vb: number; readonly seqno: number; readonly tapFlags: number; readonly state: number }
  | { readonly type: 'checkpoint-start' | 'checkpoint-end'; readonly vb: number; readonly seqno: number; readonly tapFlags: number; readonly id: bigint }
  | { readonly type: 'noop'; readonly frame: Frame };

export const F = { BACKFILL: 0x01, DUMP: 0x02, LIST_VBUCKETS: 0x04, TAKEOVER: 0x08, SUPPORT_ACK: 0x10, KEYS_ONLY: 0x20, CHECKPOINT: 0x40, REGISTERED: 0x80 } as const;
export const TAP_ACK = 0x01;
export const TAP_NO_VALUE = 0x02;
export const OPAQUE_INITIAL_VBUCKET_STREAM = 1;
export const OPAQUE_CLOSE_BACKFILL = 8;
export const FUTURE_ONLY = 0xffffffffffffffffn;

/** Incremental frame reader: 24-byte header, then body; any chunking. */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    while (this.buf.length >= 24) {
      const bodyLength = this.buf.readUInt32BE(8);
      if (this.buf.length < 24 + bodyLength) break;
      const keyLength = this.buf.readUInt16BE(2);
      const extLength = this.buf[4]!;
      const body = this.buf.subarray(24, 24 + bodyLength);
      out.push({
        magic: this.buf[0]!,
        opcode: this.buf[1]!,
        datatype: this.buf[5]!,
        vbOrStatus: this.buf.readUInt16BE(6),
        bodyLength,
        opaque: this.buf.readUInt32BE(12),
        cas: this.buf.readBigUInt64BE(16),
        extras: Buffer.from(body.subarray(0, extLength)),
        key: Buffer.from(body.subarray(extLength, extLength + keyLength)),
        value: Buffer.from(body.subarray(extLength + keyLength)),
      });
      this.buf = this.buf.subarray(24 + bodyLength);
    }
    return out;
  }
}

export function requestFrame(opcode: number, parts: { key?: Buffer | string; extras?: Buffer; value?: Buffer; opaque?: number; vbucket?: number; magic?: number; status?: number } = {}): Buffer {
  const key = typeof parts.key === 'string' ? Buffer.from(parts.key) : (parts.key ?? Buffer.alloc(0));
  const extras = parts.extras ?? Buffer.alloc(0);
  const value = parts.value ?? Buffer.alloc(0);
  const h = Buffer.alloc(24);
  h[0] = parts.magic ?? 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt16BE(parts.status ?? parts.vbucket ?? 0, 6);
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(parts.opaque ?? 0, 12);
  return Buffer.concat([h, extras, key, value]);
}

/** TAP_CONNECT's body: flag data in bit order (BACKFILL u64, LIST_VBUCKETS u16 count + ids). */
export function connectBody(flags: number, opts: { backfill?: bigint; vbuckets?: number[] }): Buffer {
  const parts: Buffer[] = [];
  if (flags & F.BACKFILL) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(opts.backfill ?? 0n);
    parts.push(b);
  }
  if (flags & F.LIST_VBUCKETS) {
    const vbs = opts.vbuckets ?? [];
    const b = Buffer.alloc(2 + 2 * vbs.length);
    b.writeUInt16BE(vbs.length, 0);
    vbs.forEach((vb, i) => b.writeUInt16BE(vb, 2 + 2 * i));
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function decode(f: Frame): TapEvent | null {
  if (f.opcode === 0x0a) return { type: 'noop', frame: f };
  if (f.extras.length < 8) return null;
  const es = f.extras.readUInt16BE(0);
  const tapFlags = f.extras.readUInt16BE(2);
  const base = { vb: f.vbOrStatus, seqno: f.opaque, tapFlags };
  // Engine-specific bytes sit before the key.
  const rest = Buffer.concat([f.key, f.value]);
  const key = rest.subarray(es, es + f.key.length).toString();
  const value = rest.subarray(es + f.key.length);
  switch (f.opcode) {
    case 0x41:
      return { ...base, type: 'mutation', key, value, flags: f.extras.readUInt32BE(8), expiry: f.extras.readUInt32BE(12), cas: f.cas };
    case 0x42:
      return { ...base, type: 'delete', key, cas: f.cas };
    case 0x44:
      return { ...base, type: 'opaque', command: f.value.readUInt32BE(0) };
    case 0x45:
      return { ...base, type: 'vbucket-set', state: f.value.readUInt32BE(0) };
    case 0x46:
    case 0x47:
      return { ...base, type: f.opcode === 0x46 ? 'checkpoint-start' : 'checkpoint-end', id: value.readBigUInt64BE(0) };
    default:
      return null;
  }
}

export class TapClient {
  readonly events: TapEvent[] = [];
  /** Every frame the server sent, in order. */
  readonly frames: Frame[] = [];
  /** Answer TAP_FLAG_ACK messages at once. */
  autoAck = true;
  readonly closed: Promise<void>;
  isOpen = true;
  private readonly reader = new FrameReader();
  private readonly waiting = new Map<number, (f: Frame) => void>();
  private readonly multi = new Map<number, { frames: Frame[]; done: (f: Frame[]) => void }>();
  private nextOpaque = 0x7000_0000;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => (this.isOpen = false));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.onFrame(f);
    });
  }

  static async open(port: number, auth?: { user: string; password: string; bucket?: string | null }): Promise<TapClient> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new TapClient(socket);
    if (auth) {
      const plain = Buffer.from(`\0${auth.user}\0${auth.password}`);
      const r = await c.request(0x21, { key: 'PLAIN', value: plain });
      if (r.vbOrStatus !== 0) throw new Error(`SASL PLAIN failed: status 0x${r.vbOrStatus.toString(16)}`);
      if (auth.bucket !== null) {
        const s = await c.request(0x89, { key: auth.bucket ?? 'default' });
        if (s.vbOrStatus !== 0) throw new Error(`SELECT_BUCKET failed: status 0x${s.vbOrStatus.toString(16)}`);
      }
    }
    return c;
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.magic === 0x81) {
      const m = this.multi.get(f.opaque);
      if (m) {
        m.frames.push(f);
        if (f.key.length === 0 || f.vbOrStatus !== 0) {
          this.multi.delete(f.opaque);
          m.done(m.frames);
        }
        return;
      }
      const w = this.waiting.get(f.opaque);
      this.waiting.delete(f.opaque);
      w?.(f);
      return;
    }
    const e = decode(f);
    if (!e) return;
    this.events.push(e);
    if (this.autoAck && e.type !== 'noop' && (e.tapFlags & TAP_ACK) !== 0) this.ack(f.opcode, e.seqno);
  }

  write(frame: Buffer): void {
    this.socket.write(frame);
  }

  request(opcode: number, parts: Parameters<typeof requestFrame>[1] = {}): Promise<Frame> {
    const opaque = this.nextOpaque++;
    const p = new Promise<Frame>((resolve) => this.waiting.set(opaque, resolve));
    this.write(requestFrame(opcode, { ...parts, opaque }));
    return p;
  }

  /** The response to the ack-requesting message `seqno` (same opcode and opaque, status 0). */
  ack(opcode: number, seqno: number, status = 0): void {
    this.write(requestFrame(opcode, { magic: 0x81, opaque: seqno, status }));
  }

  /**
   * Send TAP_CONNECT, then a NOOP: TAP_CONNECT has no reply, and the NOOP's reply proves the
   * server handled it (requests run in order). Resolves with an error response, if any.
   */
  async tapConnect(name: string, flags: number, opts: { backfill?: bigint; vbuckets?: number[] } = {}): Promise<Frame | null> {
    const extras = Buffer.alloc(4);
    extras.writeUInt32BE(flags);
    const opaque = this.nextOpaque++;
    let error: Frame | null = null;
    this.waiting.set(opaque, (f) => (error = f));
    this.write(requestFrame(0x40, { key: name, extras, value: connectBody(flags, opts), opaque }));
    // A DUMP of little data may be over (and the connection closed) before the NOOP runs.
    await Promise.race([this.request(0x0a), this.closed]);
    this.waiting.delete(opaque);
    return error;
  }

  async stats(group: string): Promise<Map<string, string>> {
    const opaque = this.nextOpaque++;
    const p = new Promise<Frame[]>((done) => this.multi.set(opaque, { frames: [], done }));
    this.write(requestFrame(0x10, { key: group, opaque }));
    const frames = await p;
    return new Map(frames.filter((f) => f.key.length > 0).map((f) => [f.key.toString(), f.value.toString()]));
  }

  /** Data events only (no NOOPs). */
  get data(): Array<Exclude<TapEvent, { type: 'noop' }>> {
    return this.events.filter((e): e is Exclude<TapEvent, { type: 'noop' }> => e.type !== 'noop');
  }

  mutationKeys(): string[] {
    return this.data.flatMap((e) => (e.type === 'mutation' ? [e.key] : []));
  }

  async waitFor(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
