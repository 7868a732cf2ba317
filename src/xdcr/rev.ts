/**
 * XDCR's single-string revision: what goxdcr's CAPI nozzle sends in `_revs_diff` bodies and in
 * `_bulk_docs` `meta.rev` (parts/capi_nozzle.go `getSerializedRevision`):
 *
 *     <revSeqno, decimal> "-" hex( CAS u64 BE | expiry u32 BE | flags u32 BE )
 *
 * i.e. 32 hex digits after the dash. ns_server's capi_replication.erl compares two of these as the
 * tuple (revSeqno, those 16 bytes), which is the revid conflict-resolution order: rev seqno, then
 * CAS, then expiry, then flags.
 */

/** The metadata XDCR carries with each document version (GET_META's fields). */
export interface XdcrMeta {
  readonly revSeqno: number;
  readonly cas: bigint;
  /** Absolute expiry in epoch seconds, 0 = never. */
  readonly expiry: number;
  readonly flags: number;
}

const U64_MAX = (1n << 64n) - 1n;

/** `revSeqno-<16 hex CAS><8 hex expiry><8 hex flags>` */
export function formatXdcrRev(meta: XdcrMeta): string {
  const cas = meta.cas.toString(16).padStart(16, '0');
  const expiry = (meta.expiry >>> 0).toString(16).padStart(8, '0');
  const flags = (meta.flags >>> 0).toString(16).padStart(8, '0');
  return `${meta.revSeqno}-${cas}${expiry}${flags}`;
}

/** The meta of an XDCR revision string; undefined when it is not one. */
export function parseXdcrRev(rev: unknown): XdcrMeta | undefined {
  if (typeof rev !== 'string') return undefined;
  const m = /^(\d{1,20})-([0-9a-fA-F]{16})([0-9a-fA-F]{8})([0-9a-fA-F]{8})$/.exec(rev);
  if (m === null) return undefined;
  const revSeqno = Number(m[1]);
  // Rev seqnos are per-document counters; beyond 2^53 they cannot be held exactly.
  if (!Number.isSafeInteger(revSeqno)) return undefined;
  const cas = BigInt(`0x${m[2]!}`);
  if (cas > U64_MAX) return undefined;
  return { revSeqno, cas, expiry: parseInt(m[3]!, 16), flags: parseInt(m[4]!, 16) };
}
