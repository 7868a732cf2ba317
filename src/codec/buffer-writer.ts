/**
 * Growing big-endian writer (the BufferWriter half of pg-protocol's pair).
 * Capacity grows by about 1.5x; `toBuffer()` returns a view of the written bytes.
 *
 * Each encoder creates its own writer: there is deliberately no shared module-level
 * instance, so an `await` inside an encoder can never interleave two messages.
 */
import { ProtocolError } from './errors.js';

const U64_MAX = (1n << 64n) - 1n;

export class BufferWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialSize = 64) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): number {
    const need = this.#pos + n;
    if (need > this.#buf.length) {
      // exponential growth factor of around 1.5, as pg-protocol's writer
      const grown = Buffer.allocUnsafe(Math.max(need, (this.#buf.length * 3) >>> 1));
      this.#buf.copy(grown, 0, 0, this.#pos);
      this.#buf = grown;
    }
    const at = this.#pos;
    this.#pos = need;
    return at;
  }

  #checkInt(v: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new ProtocolError('VALUE_RANGE', `${what} out of range: ${v}`);
    }
  }

  u8(v: number): this {
    this.#checkInt(v, 0xff, 'u8');
    const at = this.#ensure(1); // before reading #buf: #ensure may replace it
    this.#buf[at] = v;
    return this;
  }

  u16(v: number): this {
    this.#checkInt(v, 0xffff, 'u16');
    const at = this.#ensure(2);
    this.#buf.writeUInt16BE(v, at);
    return this;
  }

  u32(v: number): this {
    this.#checkInt(v, 0xffffffff, 'u32');
    const at = this.#ensure(4);
    this.#buf.writeUInt32BE(v, at);
    return this;
  }

  /** Accepts a bigint or a safe non-negative integer number. */
  u64(v: bigint | number): this {
    let b: bigint;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new ProtocolError('VALUE_RANGE', `u64 out of range: ${v}`);
      b = BigInt(v);
    } else {
      if (v < 0n || v > U64_MAX) throw new ProtocolError('VALUE_RANGE', `u64 out of range: ${v}`);
      b = v;
    }
    const at = this.#ensure(8);
    this.#buf.writeBigUInt64BE(b, at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.#ensure(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** A view of the bytes written so far (shares memory with the writer until it grows). */
  toBuffer(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}
