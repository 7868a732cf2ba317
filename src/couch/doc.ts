// Documents at the API boundary: validating an incoming JSON body (reserved
// `_` members, `_id` rules, `_rev` / `_revisions` / `_deleted` /
// `_attachments`), `_local` revisions, database names, and assembling the
// JSON of a stored revision for a response.
//
// Sources: apache/couchdb couch_doc.erl (`from_json_obj/2`,
// `transfer_fields/3`, `validate_docid/1`, `doc_to_json_obj/2`),
// couch_db_updater.erl `increment_local_doc_revs/1`, couch_db.erl
// `validate_dbname/1` (regex `^[a-z][a-z0-9_$()+/-]*$`); spec §3.3, §3.4, §3.7.

import { isUtf8 } from 'node:buffer';
import { CouchError } from './errors.js';
import { parseAttachments, type IncomingAttachment } from './attachments.js';
import { parseRev, parseRevHash } from './rev.js';
import type { Revisions } from './rev-tree.js';

export interface ParsedDoc {
  /** `_id`, when the body has one. */
  id?: string;
  /**
   * The revision history the write names: `_revisions`, or `_rev` as
   * `{start: N, ids: [hash]}`; null when neither is given. As in CouchDB,
   * `_revisions` wins over `_rev`.
   */
  revisions: Revisions | null;
  deleted: boolean;
  /** Entries of `_attachments`; undefined when the member is absent. */
  attachments?: IncomingAttachment[];
  /** The stored body: every member except the special ones. */
  body: Record<string, unknown>;
}

/** Members CouchDB accepts and drops (they describe a read, not a write). */
const IGNORED = new Set(['_revs_info', '_local_seq', '_conflicts', '_deleted_conflicts']);
/** Replicator-document members kept in the body (couch_doc.erl). */
const KEPT = new Set([
  '_replication_state',
  '_replication_state_time',
  '_replication_state_reason',
  '_replication_id',
  '_replication_stats',
]);

function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** couch_doc:validate_docid/1; throws illegal_docid. */
export function validateDocId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new CouchError('docid_not_string');
  if (id === '') throw new CouchError('docid_empty');
  if (id === '_design/') throw new CouchError('docid_bare_design');
  if (id === '_local/') throw new CouchError('docid_bare_local');
  if (hasLoneSurrogate(id)) throw new CouchError('docid_not_utf8');
  if (id.startsWith('_') && !id.startsWith('_design/') && !id.startsWith('_local/')) {
    throw new CouchError('docid_underscore');
  }
}

/**
 * Whether a stored key can be a CouchDB document id, as listings show them: a key written over KV
 * that starts with `_` other than `_design/` cannot (validate_docid refuses it), such as the
 * `_txn:` records of Couchbase transactions, which Sync Gateway does not import either.
 */
export function isListableDocId(id: string): boolean {
  return !id.startsWith('_') || id.startsWith('_design/');
}

const DESIGN_PREFIX_BYTES = Buffer.from('_design/');

/**
 * `isListableDocId` of a stored key, read in place from `bytes[start, end)`: the key is valid UTF-8
 * (a binary key written over KV is no id) and listable. The engine's counters classify every
 * record with it, so an ASCII key costs no allocation.
 */
export function isDocIdKey(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  if (end <= start) return false;
  if (bytes[start] === DESIGN_PREFIX_BYTES[0]) {
    if (end - start < DESIGN_PREFIX_BYTES.length) return false;
    for (let i = 1; i < DESIGN_PREFIX_BYTES.length; i++) if (bytes[start + i] !== DESIGN_PREFIX_BYTES[i]) return false;
  }
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return isUtf8(bytes.subarray(start, end));
  }
  return true;
}

export function isLocalId(id: string): boolean {
  return id.startsWith('_local/');
}

export function isDesignId(id: string): boolean {
  return id.startsWith('_design/');
}

function parseRevisions(value: unknown): Revisions | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CouchError('bad_special_member', { params: { name: '_revisions' } });
  }
  const { start, ids } = value as Record<string, unknown>;
  if (!Number.isInteger(start)) throw new CouchError('revisions_start_not_int');
  if (!Array.isArray(ids)) throw new CouchError('revisions_ids_not_array');
  const hashes = ids.map(parseRevHash);
  if (hashes.length === 0) return null;
  if ((start as number) - hashes.length + 1 < 1) {
    // CouchDB would build a tree rooted at generation <= 0; Freshet refuses.
    throw new CouchError('doc_validation', { params: { detail: '_revisions.start is lower than the number of ids' } });
  }
  return { start: start as number, ids: hashes };
}

/**
 * Validates an incoming document (couch_doc:from_json_obj/2). Members are
 * read in order, so `_rev` after `_revisions` is ignored and vice versa
 * `_revisions` replaces an earlier `_rev`.
 */
export function parseDocument(json: unknown): ParsedDoc {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CouchError('not_an_object');
  const doc: ParsedDoc = { revisions: null, deleted: false, body: {} };
  let fromRevisions = false;
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (!key.startsWith('_') || KEPT.has(key)) {
      doc.body[key] = value;
      continue;
    }
    switch (key) {
      case '_id':
        validateDocId(value);
        doc.id = value;
        break;
      case '_rev':
        if (!fromRevisions) {
          const rev = parseRev(value);
          doc.revisions = { start: rev.pos, ids: [rev.hash] };
        }
        break;
      case '_revisions':
        doc.revisions = parseRevisions(value);
        fromRevisions = true;
        break;
      case '_deleted':
        if (typeof value !== 'boolean') throw new CouchError('bad_special_member', { params: { name: key } });
        doc.deleted = value;
        break;
      case '_attachments':
        doc.attachments = parseAttachments(value);
        break;
      default:
        if (!IGNORED.has(key)) throw new CouchError('bad_special_member', { params: { name: key } });
    }
  }
  return doc;
}

/** The body without `_` members, as stored (same rules as parseDocument). */
export function stripSpecialFields(json: Record<string, unknown>): Record<string, unknown> {
  return parseDocument(json).body;
}

/** The `_rev` a write names (the newest id of `revisions`), as `N-hash`. */
export function docRev(doc: ParsedDoc): string | null {
  return doc.revisions === null ? null : `${doc.revisions.start}-${doc.revisions.ids[0]}`;
}

/**
 * The next revision of a `_local` document (increment_local_doc_revs/1):
 * `0-1` for a new one, `0-(N+1)` after `0-N`, `0-0` for a deletion. A rev not
 * of the form `0-N` is 400 "Invalid rev format".
 */
export function nextLocalRev(current: string | null | undefined, deleted: boolean): string {
  if (deleted) return '0-0';
  if (current == null) return '0-1';
  const m = /^0-(\d+)$/.exec(current);
  if (m === null) throw new CouchError('invalid_rev_format');
  return `0-${BigInt(m[1]) + 1n}`;
}

const DB_NAME = /^[a-z][a-z0-9_$()+/-]*$/;
const SYSTEM_DBS = new Set(['_users', '_replicator', '_global_changes']);

/** couch_db:validate_dbname/1; throws illegal_database_name. */
export function validateDbName(name: string): void {
  if (SYSTEM_DBS.has(name)) return;
  const slash = name.lastIndexOf('/');
  const isSystemSuffix = slash > 0 && SYSTEM_DBS.has(name.slice(slash + 1)) && DB_NAME.test(name.slice(0, slash));
  if (!isSystemSuffix && !DB_NAME.test(name)) throw new CouchError('illegal_database_name', { params: { name } });
}

export interface DocResponseParts {
  id: string;
  rev: string;
  body: Record<string, unknown>;
  deleted?: boolean;
  /** `?revs=true` */
  revisions?: Revisions;
  /** `?revs_info=true` */
  revsInfo?: ReadonlyArray<{ rev: string; status: string }>;
  /** `?conflicts=true`; left out when empty */
  conflicts?: readonly string[];
  /** `?deleted_conflicts=true`; left out when empty */
  deletedConflicts?: readonly string[];
  /** `?local_seq=true` */
  localSeq?: unknown;
  /** From attachmentsToJson(); left out when empty */
  attachments?: Record<string, Record<string, unknown>>;
}

/** A revision as JSON, in couch_doc:doc_to_json_obj/2 member order. */
export function buildDocResponse(parts: DocResponseParts): Record<string, unknown> {
  const out: Record<string, unknown> = { _id: parts.id, _rev: parts.rev };
  for (const [k, v] of Object.entries(parts.body)) if (k !== '_id' && k !== '_rev') out[k] = v;
  if (parts.deleted === true) out._deleted = true;
  if (parts.revisions !== undefined) out._revisions = { start: parts.revisions.start, ids: [...parts.revisions.ids] };
  if (parts.revsInfo !== undefined) out._revs_info = parts.revsInfo.map((r) => ({ rev: r.rev, status: r.status }));
  if (parts.localSeq !== undefined) out._local_seq = parts.localSeq;
  if (parts.conflicts !== undefined && parts.conflicts.length > 0) out._conflicts = [...parts.conflicts];
  if (parts.deletedConflicts !== undefined && parts.deletedConflicts.length > 0) {
    out._deleted_conflicts = [...parts.deletedConflicts];
  }
  if (parts.attachments !== undefined && Object.keys(parts.attachments).length > 0) out._attachments = parts.attachments;
  return out;
}
