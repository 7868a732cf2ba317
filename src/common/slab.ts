/**
 * Small buffers cut in allocation order from slabs of one owner, instead of from Node's shared
 * 8 KiB pool (Buffer.allocUnsafe). The shared pool makes a new ArrayBuffer every 8 KiB, each with
 * its own GC bookkeeping, and mixes pieces of different lifetimes, so one long-lived piece pins
 * the short-lived ones' bytes. An owner whose pieces live about as long as each other (the send
 * path's frames, a backfill batch's records, the checkpoint queue's versions) gets a slab of its
 * own: one ArrayBuffer per `slabBytes`, freed soon after the last piece cut from it. A piece pins
 * its whole slab while it lives, so `slabBytes` is sized to what the owner may hold at once.
 */
export class Slab {
  #buf: Buffer;
  #used = 0;

  constructor(
    private readonly slabBytes: number,
    /** Larger pieces get a buffer of their own (a slab's tail would be wasted on them). */
    private readonly maxPiece: number,
  ) {
    this.#buf = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** `size` uninitialized bytes. */
  alloc(size: number): Buffer {
    if (size > this.maxPiece) return Buffer.allocUnsafe(size);
    if (this.#used + size > this.slabBytes) {
      this.#buf = Buffer.allocUnsafeSlow(this.slabBytes);
      this.#used = 0;
    }
    const out = this.#buf.subarray(this.#used, this.#used + size);
    this.#used += size;
    return out;
  }

  /** A copy of the first `size` bytes of `src`. */
  copy(src: Uint8Array, size = src.length): Buffer {
    const out = this.alloc(size);
    out.set(size === src.length ? src : src.subarray(0, size));
    return out;
  }
}
