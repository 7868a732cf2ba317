/**
 * Incremental frame parser: feed it socket chunks of any size, get whole packets.
 * Modelled on pg-protocol's Parser.parse: loop while a whole frame (24 + body) is
 * available and keep the remainder by reference, not by copy.
 *
 * Memory rule: packets returned by `push` are subarrays of the chunks they came from
 * (Node never reuses a socket chunk), and a frame that straddles chunks is copied once
 * into its own buffer. The parser never writes into memory it has handed out, so packets
 * stay valid after later pushes.
 *
 * A malformed frame (bad magic, lengths that do not add up, body over the cap) throws a
 * ProtocolError; the stream cannot be resynchronised, so the parser stays failed and every
 * later `push` rethrows the same error. The caller closes the connection.
 */
import { ProtocolError } from './errors.js';
import { DEFAULT_MAX_BODY_LENGTH, HEADER_LENGTH, decodeBody, decodeHeader } from './packet.js';
import type { Packet, PacketHeader } from './packet.js';

export interface PacketParserOptions {
  /** Largest accepted total body length in bytes (default 21 MiB). */
  readonly maxBodyLength?: number;
}

export class PacketParser {
  readonly #maxBodyLength: number;
  /** Chunks (or chunk tails) holding the start of an incomplete frame. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Header of the incomplete frame, once its 24 bytes have arrived. */
  #header: PacketHeader | undefined;
  #failed: ProtocolError | undefined;

  constructor(options: PacketParserOptions = {}) {
    this.#maxBodyLength = options.maxBodyLength ?? DEFAULT_MAX_BODY_LENGTH;
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer): Packet[] {
    if (this.#failed) throw this.#failed;
    try {
      return this.#push(chunk);
    } catch (e) {
      if (e instanceof ProtocolError) this.#failed = e;
      throw e;
    }
  }

  #push(chunk: Buffer): Packet[] {
    const out: Packet[] = [];
    let offset = 0;
    if (this.#pendingBytes > 0) {
      offset = this.#completePending(chunk, out);
      if (offset < 0) return out; // chunk fully absorbed into the pending frame
    }
    // Fast path: whole frames that lie inside this chunk are sliced, not copied.
    while (chunk.length - offset >= HEADER_LENGTH) {
      const h = decodeHeader(chunk, offset, this.#maxBodyLength);
      const frameEnd = offset + HEADER_LENGTH + h.bodyLength;
      if (frameEnd > chunk.length) {
        this.#header = h;
        break;
      }
      out.push(decodeBody(chunk, offset, h));
      offset = frameEnd;
    }
    if (offset < chunk.length) {
      this.#pending.push(chunk.subarray(offset));
      this.#pendingBytes += chunk.length - offset;
    }
    return out;
  }

  /**
   * Add bytes from `chunk` to the pending frame. Returns the offset in `chunk` where
   * unconsumed bytes start, or -1 if the whole chunk went into the (still incomplete)
   * pending frame.
   */
  #completePending(chunk: Buffer, out: Packet[]): number {
    if (this.#header === undefined) {
      if (this.#pendingBytes + chunk.length < HEADER_LENGTH) {
        this.#pending.push(chunk);
        this.#pendingBytes += chunk.length;
        return -1;
      }
      const headerBytes = Buffer.concat([...this.#pending, chunk.subarray(0, HEADER_LENGTH - this.#pendingBytes)]);
      this.#header = decodeHeader(headerBytes, 0, this.#maxBodyLength);
    }
    const frameLength = HEADER_LENGTH + this.#header.bodyLength;
    const missing = frameLength - this.#pendingBytes;
    if (chunk.length < missing) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      return -1;
    }
    const frame = Buffer.concat([...this.#pending, chunk.subarray(0, missing)], frameLength);
    out.push(decodeBody(frame, 0, this.#header));
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#header = undefined;
    return missing;
  }
}
