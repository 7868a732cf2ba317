// Revision ids: parsing, formatting, ordering and generation.
//
// A revision is `"<pos>-<hash>"` (shared/specs/couch-replication.md §3.1).
// CouchDB parses it in couch_doc.erl `parse_rev/1`: the text before the first
// `-` must be an integer, and a 32-character hash must be hexadecimal (it is
// stored as 16 raw bytes and printed back in lowercase); any other hash is kept
// as an opaque string. Anything else is `400 "Invalid rev format"`.
//
// New revision ids reproduce couch_db.erl `new_revid/1`:
//   md5(term_to_binary([Deleted, OldStart, OldRev, Body, Atts], [{minor_version, 1}]))
// where OldStart/OldRev describe the parent (0 and 0 for a new document), Body
// is the EJSON body without `_` members, and Atts is `[{Name, Type, Md5}]` in
// reverse document order. Checked against CouchDB: `{}` gives
// 1-967a00dff5e02add41819138abb3284d, deleting it gives
// 2-eec205a9d413992850a6e32678485900, `{"old":"one"}` gives
// 1-a4ed57fb1018f3d423d0adec26f14dfc. The same edit on two Freshet nodes, or on
// Freshet and CouchDB, therefore yields the same rev. Known divergences (both
// come from JSON.parse, not from this module): a float written `1.0` is hashed
// as the integer 1, and integer-like object keys are reordered by JavaScript.

import { createHash } from 'node:crypto';
import { CouchError } from './errors.js';
import { atom, bin, ejson, int, list, termToBinary, tuple, type ErlTerm } from './erlang-term.js';

export interface Rev {
  pos: number;
  hash: string;
}

const HEX32 = /^[0-9a-fA-F]{32}$/;
const POS = /^\d+$/;

/** Parses `"N-hash"`; throws CouchError invalid_rev_format. */
export function parseRev(value: unknown): Rev {
  if (typeof value !== 'string') throw new CouchError('invalid_rev_format');
  const dash = value.indexOf('-');
  if (dash <= 0) throw new CouchError('invalid_rev_format');
  const posText = value.slice(0, dash);
  const hash = value.slice(dash + 1);
  if (!POS.test(posText) || hash.length === 0) throw new CouchError('invalid_rev_format');
  const pos = Number(posText);
  if (!Number.isSafeInteger(pos)) throw new CouchError('invalid_rev_format');
  if (hash.length === 32) {
    if (!HEX32.test(hash)) throw new CouchError('invalid_rev_format');
    return { pos, hash: hash.toLowerCase() };
  }
  return { pos, hash };
}

export function isValidRev(value: unknown): boolean {
  try {
    parseRev(value);
    return true;
  } catch {
    return false;
  }
}

/** Parses an array of revs (e.g. `open_revs`, `atts_since`). */
export function parseRevs(value: unknown): Rev[] {
  if (!Array.isArray(value)) throw new CouchError('invalid_rev_list');
  return value.map(parseRev);
}

/**
 * Validates one entry of `_revisions.ids` (couch_doc.erl `transfer_fields`):
 * non-strings and non-hex 32-character ids are doc_validation errors.
 */
export function parseRevHash(value: unknown): string {
  if (typeof value !== 'string') throw new CouchError('revid_not_string');
  if (value.length === 32) {
    if (!HEX32.test(value)) throw new CouchError('revid_not_hex');
    return value.toLowerCase();
  }
  return value;
}

export function formatRev(pos: number, hash: string): string {
  return `${pos}-${hash}`;
}

export function revToString(rev: Rev): string {
  return formatRev(rev.pos, rev.hash);
}

/** The bytes CouchDB stores for a hash: 16 raw bytes for 32 hex chars, else UTF-8. */
export function revHashBytes(hash: string): Buffer {
  return HEX32.test(hash) ? Buffer.from(hash, 'hex') : Buffer.from(hash, 'utf8');
}

/**
 * Orders hashes as CouchDB does (Erlang binary order of the stored bytes).
 * Two lowercase 32-hex hashes compare like their strings.
 */
export function compareRevHashes(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 32 && b.length === 32 && HEX32.test(a) && HEX32.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(revHashBytes(a), revHashBytes(b));
}

/** Orders revisions by position, then hash (CouchDB's `{Pos, RevId}` order). */
export function compareRevs(a: Rev, b: Rev): number {
  return a.pos !== b.pos ? a.pos - b.pos : compareRevHashes(a.hash, b.hash);
}

export interface AttachmentDigest {
  name: string;
  contentType: string;
  /** `md5-<base64>` as in `_attachments[name].digest`. */
  digest: string;
}

export interface NewRevInput {
  /** The revision being edited; absent for a new document. */
  parentRev?: string | Rev | null;
  deleted: boolean;
  /** The document body without `_`-prefixed special members. */
  body: Record<string, unknown>;
  /** The revision's attachments, in `_attachments` order. */
  attachmentsDigests?: readonly AttachmentDigest[];
}

function digestBytes(digest: string): Buffer {
  if (!digest.startsWith('md5-')) throw new TypeError(`unsupported attachment digest ${digest}`);
  const raw = Buffer.from(digest.slice(4), 'base64');
  if (raw.length !== 16) throw new TypeError(`invalid md5 digest ${digest}`);
  return raw;
}

/** The Erlang term CouchDB hashes for a new revision (exported for tests). */
export function newRevTerm(input: NewRevInput): ErlTerm {
  const parent = input.parentRev == null ? null : typeof input.parentRev === 'string' ? parseRev(input.parentRev) : input.parentRev;
  const atts = (input.attachmentsDigests ?? [])
    .map((a) => tuple(bin(a.name), bin(a.contentType), bin(digestBytes(a.digest))))
    .reverse();
  return list([
    atom(input.deleted ? 'true' : 'false'),
    int(parent === null ? 0 : parent.pos),
    parent === null ? int(0) : bin(revHashBytes(parent.hash)),
    ejson(input.body),
    list(atts),
  ]);
}

/** A deterministic 32-lowercase-hex revision hash for an edit (see header). */
export function newRevId(input: NewRevInput): string {
  return createHash('md5').update(termToBinary(newRevTerm(input))).digest('hex');
}
