/**
 * Per-opcode request counters of the KV listener: requests by opcode and reply status, and a
 * latency histogram per opcode (src/common/histogram.ts). They are plain typed arrays filled on
 * the request path (KvConnection.execute) — one array increment and one histogram observe per request
 * (a Map update only for a failure) — and read at scrape time by the metrics module (src/metrics/) and by
 * `STAT timings` / `STAT` general (`cmd_get`, `cmd_set`).
 *
 * Latency is measured from the start of the handler to its reply being settled (for a durable
 * write, until the group commit is on disk): kv_engine's timings measure the same span, request
 * start to response (docs/stats `cmd_*` timings).
 */
import { LatencyHistogram } from '../common/histogram.js';
import { Opcode } from '../codec/opcodes.js';

/**
 * The request kinds opcodes group into: `get` and `set` are kv_engine's `cmd_get` / `cmd_set`
 * families (every retrieval, every store), the others its `get_cmd`/`store_cmd`/`arith_cmd`
 * timing families.
 */
export const OP_KINDS = {
  get: [Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ, Opcode.Gat, Opcode.GatQ],
  set: [Opcode.Set, Opcode.SetQ, Opcode.Add, Opcode.AddQ, Opcode.Replace, Opcode.ReplaceQ, Opcode.Append, Opcode.AppendQ, Opcode.Prepend, Opcode.PrependQ],
  delete: [Opcode.Delete, Opcode.DeleteQ],
  arith: [Opcode.Increment, Opcode.IncrementQ, Opcode.Decrement, Opcode.DecrementQ],
  meta: [Opcode.GetMeta, Opcode.GetQMeta, Opcode.Touch],
} as const satisfies Record<string, readonly number[]>;

export class KvOpCounters {
  /** Requests per opcode (index = opcode). */
  readonly byOpcode = new Float64Array(256);
  /**
   * Failed requests per (opcode << 16 | status). Successes are not kept here: they are
   * `byOpcode` minus these, which spares the request path a Map update on every success.
   */
  readonly failures = new Map<number, number>();
  /** Latency per opcode, created on the opcode's first request. */
  readonly timings: Array<LatencyHistogram | undefined> = new Array<LatencyHistogram | undefined>(256);
  /** GET family requests that found / did not find the document (client requests only). */
  getHits = 0;
  getMisses = 0;

  record(opcode: number, status: number, micros: number): void {
    const op = opcode & 0xff;
    this.byOpcode[op]!++;
    if (status !== 0) {
      const key = (op << 16) | status;
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    }
    (this.timings[op] ??= new LatencyHistogram()).observe(micros);
  }

  /** Requests per (opcode << 16 | status); a quiet success (no reply) counts as Success (0). */
  byStatus(): Map<number, number> {
    const out = new Map<number, number>();
    const failed = new Float64Array(256);
    for (const [key, n] of this.failures) {
      out.set(key, n);
      failed[key >>> 16]! += n;
    }
    for (let op = 0; op < 256; op++) {
      const ok = this.byOpcode[op]! - failed[op]!;
      if (ok > 0) out.set(op << 16, ok);
    }
    return out;
  }

  /** Requests of the given opcodes. */
  total(opcodes: readonly number[]): number {
    let n = 0;
    for (const op of opcodes) n += this.byOpcode[op]!;
    return n;
  }
}
