/**
 * Cursor over a Buffer for big-endian (network order) reads, as every multi-byte
 * integer in the memcached binary protocol is big-endian (kv docs/BinaryProtocol.md).
 *
 * All reads are bounds-checked against `end` and throw a ProtocolError with code
 * CODEC_SHORT_READ instead of Node's RangeError, so a decoder can never read past
 * the section it was given (e.g. from the extras into the key).
 *
 * `bytes()` returns a subarray (no copy): the result shares memory with the input.
 */
import { ProtocolError } from './errors.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export class BufferReader {
  readonly #buf: Buffer;
  readonly #end: number;
  #pos: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) {
      throw new ProtocolError('SHORT_READ', `reader window [${start}, ${end}) outside buffer of ${buf.length}`);
    }
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): number {
    if (this.#end - this.#pos < n) {
      throw new ProtocolError('SHORT_READ', `short read: ${what} needs ${n} bytes, ${this.remaining} left`, {
        offset: this.#pos,
      });
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#buf[this.#need(1, 'u8')] as number;
  }

  u16(): number {
    return this.#buf.readUInt16BE(this.#need(2, 'u16'));
  }

  u32(): number {
    return this.#buf.readUInt32BE(this.#need(4, 'u32'));
  }

  /** Full-range unsigned 64-bit value (CAS, counters). */
  u64(): bigint {
    return this.#buf.readBigUInt64BE(this.#need(8, 'u64'));
  }

  /**
   * Unsigned 64-bit value that must fit a JS number exactly (seqnos, vbucket UUIDs:
   * kv generates 48-bit UUIDs, dcp.md §3.3). Larger values are a ProtocolError rather
   * than a silent loss of precision.
   */
  u64Number(what = 'u64'): number {
    const at = this.#pos;
    const v = this.u64();
    if (v > MAX_SAFE) {
      throw new ProtocolError('VALUE_RANGE', `${what} ${v} does not fit a JS number`, { offset: at });
    }
    return Number(v);
  }

  bytes(n: number): Buffer {
    const at = this.#need(n, `${n} bytes`);
    return this.#buf.subarray(at, at + n);
  }

  /** Everything up to the end of the window. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  skip(n: number): void {
    this.#need(n, `skip ${n}`);
  }
}
