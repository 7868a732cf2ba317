/**
 * Rollback mitigation (java-dcp-client `mitigateRollbacks`, dcp.md §5.2): hold each vbucket's
 * stream messages until the server reports the item persisted, so nothing reaches the receiver
 * that a crash of the active node could take back.
 *
 * Messages stay in arrival order per vbucket. A data message carries its seqno and waits for
 * `persisted >= seqno`; a marker or stream end (seqno undefined) waits only for what is ahead of
 * it. Held messages are not yet counted for flow control, so the producer stops once the window is
 * full of unpersisted items and memory stays bounded. The session polls OBSERVE_SEQNO 0x91 for the
 * vbuckets that have something held and releases what the answer allows.
 *
 * java-dcp-client waits for persistence on the active *and* every replica; with one copy per
 * vbucket (Freshet) the active's persisted seqno is the whole answer. Noted as a doubt in the
 * report for real clusters with replicas.
 */
import type { Packet } from '../codec/index.js';

export interface HeldMessage {
  readonly packet: Packet;
  readonly size: number;
  /** The item's seqno; undefined for markers and stream ends. */
  readonly seqno: number | undefined;
}

export class PersistenceGate {
  readonly #held = new Map<number, HeldMessage[]>();
  #bytes = 0;

  get heldBytes(): number {
    return this.#bytes;
  }

  /** True when the vbucket has messages waiting, so later ones must queue behind them. */
  isHolding(vb: number): boolean {
    return (this.#held.get(vb)?.length ?? 0) > 0;
  }

  hold(vb: number, m: HeldMessage): void {
    let q = this.#held.get(vb);
    if (!q) this.#held.set(vb, (q = []));
    q.push(m);
    this.#bytes += m.size;
  }

  /** Vbuckets with held messages. */
  vbuckets(): number[] {
    return [...this.#held.keys()];
  }

  /** Remove and return, in order, the messages of `vb` that `persisted` allows. */
  release(vb: number, persisted: number): HeldMessage[] {
    const q = this.#held.get(vb);
    if (!q) return [];
    let n = 0;
    while (n < q.length) {
      const s = q[n]!.seqno;
      if (s !== undefined && s > persisted) break;
      n++;
    }
    const out = q.splice(0, n);
    for (const m of out) this.#bytes -= m.size;
    if (q.length === 0) this.#held.delete(vb);
    return out;
  }

  /** Forget every held message (the connection is gone); returns the bytes they occupied. */
  clear(): number {
    const bytes = this.#bytes;
    this.#held.clear();
    this.#bytes = 0;
    return bytes;
  }
}
