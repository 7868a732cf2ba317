/**
 * The per-vbucket metadata JSON that cbdatasource stores through `Receiver.SetMetaData` (its Go
 * struct `VBucketMetaData`, dcp.md §4.9), byte-compatible so a state written by either library can
 * be resumed by the other:
 *
 *   {"seqStart":0,"seqEnd":0,"snapStart":1,"snapEnd":4,"failOverLog":[[209937112104961,0]]}
 *
 * - `failOverLog`: [vbucketUUID, seqno] pairs exactly as the producer sent them, newest first, as
 *   JSON numbers (UUIDs are 48-bit, dcp.md §3.3, so exact in JSON and in JS).
 * - `snapStart`/`snapEnd`: the snapshot the receiver is in, saved just before its first item.
 * - `seqEnd`: cbdatasource always writes 0 and never reads it; so do we.
 * - `seqStart`: cbdatasource always writes 0 and never reads it. Freshet uses it for one thing:
 *   the seqno a `from: 'now'` stream started at, a floor for the resume point while the receiver
 *   has seen no item yet (its lastSeq is still 0). A Go reader ignores it and would resume from 0
 *   with snap [high, high], get Erange, and roll back to 0: slower, never wrong.
 *
 * The resume rule (dcp.md §4.9): start = lastSeq (from the receiver), uuid = failOverLog[0][0],
 * snap = [snapStart, snapEnd].
 */
import { Opcode, decodeFailoverLog, makeResponse } from '../codec/index.js';
import type { FailoverEntry } from '../codec/index.js';

export type FailoverPair = readonly [vbUuid: number, seqno: number];

export interface VBucketMetaData {
  readonly seqStart: number;
  readonly seqEnd: number;
  readonly snapStart: number;
  readonly snapEnd: number;
  readonly failOverLog: readonly FailoverPair[];
}

export const EMPTY_METADATA: VBucketMetaData = Object.freeze({ seqStart: 0, seqEnd: 0, snapStart: 0, snapEnd: 0, failOverLog: [] });

/** JSON in cbdatasource's field order (Go marshals struct fields in declaration order). */
export function encodeMetaData(m: VBucketMetaData): Buffer {
  const flog = m.failOverLog.map(([u, s]) => `[${u},${s}]`).join(',');
  return Buffer.from(`{"seqStart":${m.seqStart},"seqEnd":${m.seqEnd},"snapStart":${m.snapStart},"snapEnd":${m.snapEnd},"failOverLog":[${flog}]}`);
}

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new SyntaxError(`metadata field ${field} is not a non-negative integer`);
  return v;
}

/**
 * Parse stored metadata; null/empty means "none" (undefined). Missing fields default to 0 / [],
 * as Go's json.Unmarshal leaves zero values. Throws SyntaxError on anything else.
 */
export function decodeMetaData(value: Buffer | string | null | undefined): VBucketMetaData | undefined {
  if (value === null || value === undefined || value.length === 0) return undefined;
  const doc: unknown = JSON.parse(typeof value === "string" ? value : value.toString("utf8"));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SyntaxError('metadata is not a JSON object');
  const d = doc as Record<string, unknown>;
  const rawLog = d.failOverLog ?? [];
  if (!Array.isArray(rawLog)) throw new SyntaxError('metadata failOverLog is not an array');
  const failOverLog = rawLog.map((e, i): FailoverPair => {
    if (!Array.isArray(e) || e.length < 2) throw new SyntaxError(`metadata failOverLog[${i}] is not a pair`);
    return [num(e[0], `failOverLog[${i}][0]`), num(e[1], `failOverLog[${i}][1]`)];
  });
  return {
    seqStart: num(d.seqStart, 'seqStart'),
    seqEnd: num(d.seqEnd, 'seqEnd'),
    snapStart: num(d.snapStart, 'snapStart'),
    snapEnd: num(d.snapEnd, 'snapEnd'),
    failOverLog,
  };
}

/**
 * cbdatasource's ParseFailOverLog: a failover-log body (N x {uuid u64, seqno u64}, newest first)
 * as [vbucketUUID, seqno] pairs. Throws a ProtocolError when the length is not a multiple of 16.
 */
export function parseFailOverLog(body: Buffer): FailoverPair[] {
  return failoverPairs(decodeFailoverLog(makeResponse(Opcode.DcpStreamReq, { value: body })));
}

export function failoverPairs(log: readonly FailoverEntry[]): FailoverPair[] {
  return log.map((e) => [e.vbUuid, e.seqno] as const);
}

export interface ResumePosition {
  readonly startSeqno: number;
  readonly vbUuid: number;
  readonly snapStartSeqno: number;
  readonly snapEndSeqno: number;
}

/** The stream-request fields for resuming (dcp.md §4.4 step 7, §4.9). */
export function resumePosition(meta: VBucketMetaData | undefined, lastSeq: number): ResumePosition {
  const m = meta ?? EMPTY_METADATA;
  const startSeqno = Math.max(lastSeq, m.seqStart);
  return {
    startSeqno,
    vbUuid: m.failOverLog[0]?.[0] ?? 0,
    snapStartSeqno: m.snapStart,
    snapEndSeqno: m.snapEnd,
  };
}

/**
 * The state after rolling back to `seqno` (dcp.md §3.5 consumer side; java-dcp-client
 * `SessionState.rollbackToPosition`): failover entries above the point are dropped (branches we no
 * longer hold), the snapshot collapses to [seqno, seqno], and a from-now floor above it is lowered.
 */
export function rollbackMetaData(meta: VBucketMetaData | undefined, seqno: number): VBucketMetaData {
  const m = meta ?? EMPTY_METADATA;
  return {
    seqStart: Math.min(m.seqStart, seqno),
    seqEnd: m.seqEnd,
    snapStart: seqno,
    snapEnd: seqno,
    failOverLog: m.failOverLog.filter(([, s]) => s <= seqno),
  };
}

/** The uuid of the history we keep after rolling back to `seqno` (0 when none is left). */
export function rollbackUuid(meta: VBucketMetaData | undefined, seqno: number): number {
  return (meta ?? EMPTY_METADATA).failOverLog.find(([, s]) => s <= seqno)?.[0] ?? 0;
}

/** Consistency the producer checks first (dcp.md §3.5 step 6): snapStart <= start <= snapEnd. */
export function isConsistent(p: ResumePosition): boolean {
  return p.snapStartSeqno <= p.startSeqno && p.startSeqno <= p.snapEndSeqno;
}
