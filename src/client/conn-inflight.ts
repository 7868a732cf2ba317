/**
 * Requests waiting for their response, keyed by opaque (the memcached counterpart of
 * kafkajs's correlation-id map).
 *
 * Matching rules (kv docs/BinaryProtocol.md "Client Commands"): the server executes a
 * connection's commands in order and echoes each opaque. Quiet opcodes send no response
 * on their uninteresting outcome (success for mutations, miss for gets), so a quiet
 * request is known to be done when a response to any request sent *after* it arrives:
 * clients end a quiet batch with a NOOP. Entries therefore carry a send sequence number,
 * and a response for sequence S completes every quiet entry with a lower sequence
 * (resolving it with null = "the server stayed silent").
 *
 * Multi-response commands (STAT) collect packets until `isLast` says the stream ended.
 */
import type { Packet } from '../codec/index.js';

export interface InflightEntry {
  readonly opaque: number;
  readonly opcode: number;
  readonly quiet: boolean;
  /** Called with the response, or null when a quiet request completed silently. */
  readonly resolve: (p: Packet | null, all?: Packet[]) => void;
  readonly reject: (e: Error) => void;
  /** For multi-response commands: true for the final packet. */
  readonly isLast?: (p: Packet) => boolean;
}

interface Slot {
  readonly seq: number;
  readonly entry: InflightEntry;
  readonly collected: Packet[];
}

export class InflightTable {
  /** Insertion order = send order, which the quiet rule relies on. */
  readonly #byOpaque = new Map<number, Slot>();
  #seq = 0;

  get size(): number {
    return this.#byOpaque.size;
  }

  has(opaque: number): boolean {
    return this.#byOpaque.has(opaque);
  }

  add(entry: InflightEntry): void {
    if (this.#byOpaque.has(entry.opaque)) throw new Error(`opaque ${entry.opaque} already in flight`);
    this.#byOpaque.set(entry.opaque, { seq: ++this.#seq, entry, collected: [] });
  }

  /** Remove without settling (the caller settles, e.g. on timeout). */
  remove(opaque: number): boolean {
    return this.#byOpaque.delete(opaque);
  }

  /**
   * Route a response. Returns false when no request has this opaque (a late reply after a
   * timeout, or a reply to a fire-and-forget command such as a failed DCP buffer-ack).
   */
  onResponse(p: Packet): boolean {
    const slot = this.#byOpaque.get(p.opaque);
    if (slot === undefined) return false;
    this.#completeQuietBefore(slot.seq);
    const { entry } = slot;
    if (entry.isLast !== undefined) {
      slot.collected.push(p);
      if (!entry.isLast(p)) return true;
    }
    this.#byOpaque.delete(p.opaque);
    entry.resolve(p, slot.collected);
    return true;
  }

  #completeQuietBefore(seq: number): void {
    for (const [opaque, slot] of this.#byOpaque) {
      if (slot.seq >= seq) break; // Map iterates in insertion (= send) order
      if (slot.entry.quiet) {
        this.#byOpaque.delete(opaque);
        slot.entry.resolve(null);
      }
    }
  }

  rejectAll(makeError: (e: InflightEntry) => Error): void {
    const slots = [...this.#byOpaque.values()];
    this.#byOpaque.clear();
    for (const s of slots) s.entry.reject(makeError(s.entry));
  }
}
