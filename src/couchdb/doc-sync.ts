/**
 * The `_sync` record of a stored CouchDB document (doc-store.ts has the scheme): reading it from an
 * item's xattrs, the revisions that KV-side writes since add to it (`kvChain`, `kvRevHash`), and
 * the leaf summary the `_changes` hot path reads from the front of the xattrs without parsing the
 * tree (`summaryFromPrefix`, `summarize`). Split from doc-store.ts, which builds and writes whole
 * document states on top of it.
 */
import { createHash } from 'node:crypto';
import type { Item } from '../engine/types.js';
import { formatRev, parseRev } from '../couch/rev.js';
import type { RevTree } from '../couch/rev-tree.js';
import type { AttachmentMeta } from '../couch/attachments.js';
import { compareWinner, leaves, type RevInfo } from '../couch/rev-tree-query.js';
import { parseCheckedJson } from '../codec/json-check.js';
import { REV_KEY, SUMMARY_HEAD, SUMMARY_PREFIX_CHARS, TAIL_DELETED, TAIL_LIVE } from './sync-layout.js';

/** What a stored revision carries: its body (no `_` members) and attachment metadata, in document order. */
export interface RevData {
  body: Record<string, unknown>;
  atts: AttachmentMeta[];
  /** The revision's value is no JSON object (written over KV): `body` is empty and not its content. */
  opaque?: true;
}

export interface SyncRecord {
  v: 1;
  rs: number;
  rev: string;
  /** 1 when `rev` is deleted (then every leaf is). */
  del: 0 | 1;
  /** Number of leaves: with 1, `rev` is the only leaf and `_changes` need not read the tree. */
  nl: number;
  tree: RevTree;
  atts?: AttachmentMeta[];
  leaves?: Record<string, RevData>;
  /** 1 when `rev` is opaque: the item value is KV bytes with no JSON object form. */
  op?: 1;
}

const KV_REV_PREFIX = 'freshet-kv';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readXattrs(item: Item): { sync: SyncRecord | null; other: Record<string, unknown> } {
  if (!item.xattrs || item.xattrs.length === 0) return { sync: null, other: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(item.xattrs.toString('utf8'));
  } catch {
    return { sync: null, other: {} };
  }
  if (!isPlainObject(parsed)) return { sync: null, other: {} };
  const { _sync, ...other } = parsed;
  const ok = isPlainObject(_sync) && _sync.v === 1 && typeof _sync.rs === 'number' && typeof _sync.rev === 'string' && Array.isArray(_sync.tree);
  return { sync: ok ? (_sync as unknown as SyncRecord) : null, other };
}

/**
 * The item value as a document body, or null when it is not a JSON object nested at most
 * `maxDepth` levels (codec/json-check.ts, the check the KV face applies on write).
 */
export function parseBody(item: Item, stripUnderscore: boolean, maxDepth: number): Record<string, unknown> | null {
  if (item.value.length === 0) return item.deleted ? {} : null;
  const checked = parseCheckedJson(item.value, maxDepth);
  if (!checked.ok) return null;
  const parsed = checked.value;
  if (!isPlainObject(parsed)) return null;
  if (stripUnderscore) for (const k of Object.keys(parsed)) if (k.startsWith('_')) delete parsed[k];
  return parsed;
}

export function kvRevHash(id: string, parentRev: string, revSeqno: number): string {
  return createHash('md5').update(`${KV_REV_PREFIX}\n${id}\n${parentRev}\n${revSeqno}`).digest('hex');
}

export interface KvChain {
  base: SyncRecord | null;
  end: RevInfo;
  /** The revs of the chain, newest first (at most revsLimit of them). */
  ids: string[];
  /** Number of KV mutations since the recorded state. */
  count: number;
  body: Record<string, unknown> | null;
  /** The value is live but no JSON object. */
  opaque: boolean;
}

export function kvChain(id: string, item: Item, sync: SyncRecord | null, revsLimit: number, wantIds: boolean, maxDepth: number): KvChain {
  const baseRev = sync ? parseRev(sync.rev) : null;
  const baseRs = sync?.rs ?? 0;
  const count = Math.max(1, item.revSeqno - baseRs);
  const parent = sync?.rev ?? '';
  const body = parseBody(item, true, maxDepth);
  const deleted = item.deleted;
  const pos = (baseRev?.pos ?? 0) + count;
  const endHash = kvRevHash(id, parent, item.revSeqno);
  const ids: string[] = [];
  if (wantIds) {
    const m = Math.min(count, revsLimit);
    for (let i = 0; i < m; i++) ids.push(kvRevHash(id, parent, item.revSeqno - i));
  }
  return {
    base: sync,
    end: { rev: formatRev(pos, endHash), pos, hash: endHash, deleted, available: true, leaf: true },
    ids,
    count,
    body,
    opaque: !deleted && body === null,
  };
}

const NON_ASCII = /[^\x20-\x7e]/;
const SUMMARY = /^\{"_sync":\{"v":1,"rs":(\d+),"rev":("(?:[^"\\]|\\.)*"),"del":([01]),"nl":1,/;

/**
 * The single leaf of an unconflicted document last written through HTTP, read from the front of
 * its xattrs (latin1 text); null when the summary does not apply (conflicts, a KV write since).
 */
export function summaryFromPrefix(prefix: string, revSeqno: number): RevInfo | null {
  // Hand-parsed (this runs once per `_changes` row): {"_sync":{"v":1,"rs":N,"rev":"R","del":D,"nl":1,
  if (!prefix.startsWith(SUMMARY_HEAD)) return null;
  const rsEnd = prefix.indexOf(',', SUMMARY_HEAD.length);
  if (rsEnd < 0 || Number(prefix.slice(SUMMARY_HEAD.length, rsEnd)) !== revSeqno) return null;
  if (!prefix.startsWith(REV_KEY, rsEnd + 1)) return null;
  const revStart = rsEnd + 1 + REV_KEY.length;
  const revEnd = prefix.indexOf('"', revStart);
  if (revEnd < 0) return null;
  const tail = prefix.slice(revEnd, revEnd + TAIL_LIVE.length);
  if (tail !== TAIL_LIVE && tail !== TAIL_DELETED) return null;
  let rev = prefix.slice(revStart, revEnd);
  // Escapes or non-ASCII need real JSON decoding (a peer's rev may be any string).
  if (rev.includes('\\') || NON_ASCII.test(rev)) {
    const m = SUMMARY.exec(prefix);
    if (!m) return null;
    rev = JSON.parse(Buffer.from(m[2]!, 'latin1').toString('utf8')) as string;
  }
  const dash = rev.indexOf('-');
  return { rev, pos: Number(rev.slice(0, dash)), hash: rev.slice(dash + 1), deleted: tail === TAIL_DELETED, available: true, leaf: true };
}

function fastSummary(item: Item): RevInfo | null {
  if (!item.xattrs) return null;
  return summaryFromPrefix(item.xattrs.toString('latin1', 0, Math.min(item.xattrs.length, SUMMARY_PREFIX_CHARS)), item.revSeqno);
}

/**
 * Leaves (winner first) without building the full tree: the fast path of `_changes`. `opaque`:
 * the winner's value has no JSON document form. `maxDepth` is the bucket's JSON nesting limit.
 */
export function summarize(id: string, item: Item, maxDepth: number): { leaves: RevInfo[]; winner: RevInfo; opaque: boolean } {
  const fast = fastSummary(item);
  if (fast) return { leaves: [fast], winner: fast, opaque: false };
  const { sync } = readXattrs(item);
  if (sync && sync.rs === item.revSeqno) {
    const all = leaves(sync.tree);
    return { leaves: all, winner: all[0]!, opaque: sync.op === 1 && all[0]!.rev === sync.rev };
  }
  const chain = kvChain(id, item, sync, 0, false, maxDepth);
  const others = sync ? leaves(sync.tree).filter((l) => l.rev !== sync.rev) : [];
  const all = [chain.end, ...others].sort(compareWinner);
  return { leaves: all, winner: all[0]!, opaque: chain.opaque && all[0]!.rev === chain.end.rev };
}
