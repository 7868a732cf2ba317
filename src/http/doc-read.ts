/**
 * Reading revisions for `GET /{db}/{doc}` and `_bulk_get`: the read options CouchDB takes from the
 * query (api/document/common.rst), the `open_revs=[…]|all` parameter, and the multipart forms of
 * the reply. Which revisions `open_revs` finds: couchdb/doc-revs.ts.
 */
import { CouchError } from '../couch/errors.js';
import { parseRevs } from '../couch/rev.js';
import { conflicts, deletedConflicts } from '../couch/rev-tree-query.js';
import type { Db } from '../couchdb/db.js';
import { buildOpenRevsMixed, buildRelated, type MultipartBody, type OpenRevsEntry, type PartAttachment } from '../couch/multipart-build.js';
import { attachmentsWithData, docJson, docText, revError, storedAttachmentBytes, type DocOutOptions } from '../couchdb/doc-json.js';
import type { DocState } from '../couchdb/doc-store.js';
import type { OpenRev, OpenRevResult } from '../couchdb/doc-revs.js';
import { qBool, qJson } from './request.js';

export function docOutOptions(q: URLSearchParams): DocOutOptions {
  const meta = qBool(q, 'meta');
  const attsSince = qJson(q, 'atts_since');
  if (attsSince !== undefined && !Array.isArray(attsSince)) throw new CouchError('bad_request', { reason: 'atts_since must be a JSON array' });
  return {
    revs: qBool(q, 'revs'),
    revsInfo: meta || qBool(q, 'revs_info'),
    conflicts: meta || qBool(q, 'conflicts'),
    deletedConflicts: meta || qBool(q, 'deleted_conflicts'),
    attachments: qBool(q, 'attachments'),
    attsSince: (attsSince as string[] | undefined) ?? null,
    localSeq: qBool(q, 'local_seq'),
    encodingInfo: qBool(q, 'att_encoding_info'),
  };
}

/**
 * The read options without the document's meta (`_revs_info`, `_conflicts`, `_deleted_conflicts`,
 * `_local_seq`): CouchDB computes those only when it opens the winner (couch_db open_doc_int ->
 * doc_meta_info/3); a named revision, `open_revs` and `_bulk_get` go through open_doc_revs_int,
 * whose documents carry no meta, so the options are ignored there.
 */
export function withoutMeta(opts: DocOutOptions): DocOutOptions {
  return { ...opts, revsInfo: false, conflicts: false, deletedConflicts: false, localSeq: false };
}

/**
 * Whether a winner read with `opts` carries meta members (doc_meta_info/3 is not empty):
 * chttpd_db send_doc sends an ETag, and answers If-None-Match with 304, only when it has none.
 * `_conflicts` and `_deleted_conflicts` count only when there are some.
 */
export function hasMeta(state: DocState, opts: DocOutOptions): boolean {
  if (opts.revsInfo === true || opts.localSeq === true) return true;
  if (opts.conflicts === true && conflicts(state.tree).length > 0) return true;
  return opts.deletedConflicts === true && deletedConflicts(state.tree).length > 0;
}

/** Parse `open_revs` from the query: `all` or a JSON array of revs. */
export function parseOpenRevs(q: URLSearchParams): 'all' | string[] | undefined {
  const raw = q.get('open_revs');
  if (raw === null) return undefined;
  if (raw === 'all') return 'all';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CouchError('bad_request', { reason: 'Invalid rev format' });
  }
  const list = typeof parsed === 'string' ? [parsed] : parsed;
  return parseRevs(list).map((r) => `${r.pos}-${r.hash}`);
}

/**
 * The attachments of a revision whose data goes out as MIME parts: the bytes as stored, with their
 * Content-Encoding (couch_doc doc_to_multi_part_stream with SendEncodedAtts, which chttpd_db
 * always passes), so the JSON that goes with them carries the encoding info (`multipartOptions`).
 */
export function partsFor(db: Db, state: DocState, r: OpenRev, opts: DocOutOptions): PartAttachment[] {
  return attachmentsWithData(state, r.rev, r.data.atts, opts).map((a) => ({
    name: a.name,
    contentType: a.contentType,
    data: storedAttachmentBytes(db, a),
    ...(a.encoding === undefined ? {} : { encoding: a.encoding }),
  }));
}

/** A multipart answer's JSON: `follows` entries with `encoding`/`encoded_length` (chttpd_db `[attachments, follows, att_encoding_info | Options]`). */
export function multipartOptions(opts: DocOutOptions): DocOutOptions {
  return { ...opts, follows: true, encodingInfo: true };
}

/** One revision as a `multipart/related` body (JSON first, then its attachment data). */
export function relatedFor(db: Db, state: DocState, r: OpenRev, opts: DocOutOptions): MultipartBody {
  const json = docJson(db, state, r.rev, r.data, r.deleted, multipartOptions(opts));
  return buildRelated(JSON.stringify(json), partsFor(db, state, r, opts));
}

/**
 * The `multipart/mixed` reply of `open_revs` (couch/multipart-build.ts buildOpenRevsMixed): one
 * part per revision, nested `multipart/related` when attachment data follows, and
 * `{"missing": rev}` parts for unknown revisions.
 */
export function mixedBody(db: Db, state: DocState | null, results: OpenRevResult[], opts: DocOutOptions): MultipartBody {
  const entries: OpenRevsEntry[] = results.map((r) => {
    if ('missing' in r) return { missing: r.missing };
    const s = state as DocState;
    // Per revision: one that cannot be shown is an error part, not a failed response.
    const json = docText(db, () => docJson(db, s, r.ok.rev, r.ok.data, r.ok.deleted, multipartOptions(opts)));
    if ('error' in json) return { error: JSON.stringify(revError(s.id, r.ok.rev, json.error)) };
    return { ok: { json: json.text, attachments: partsFor(db, s, r.ok, opts) } };
  });
  return buildOpenRevsMixed(entries);
}
