/**
 * The batch endpoints of replication (couch-replication.md §1.2 steps 7–9, §3.4, §3.9, §3.10):
 * `_bulk_docs` (interactive, and `new_edits: false` answering only the failures), `_bulk_get`,
 * `_revs_diff` (with `possible_ancestors`, leaving out complete ids) and `_missing_revs`.
 *
 * `_bulk_docs` starts every document's write before waiting for any: each write is decided
 * synchronously in request order (so two edits of one id in a batch apply in order), and the
 * engine commits the whole batch in one synced transaction instead of one per document.
 */
import { validatePartitionedDocId } from '../couchdb/partition.js';
import { CouchError } from '../couch/errors.js';
import { revsDiff } from '../couch/rev-tree-query.js';
import { docJson, docText, inflateInline, revError } from '../couchdb/doc-json.js';
import { openRevs, type OpenRevResult } from '../couchdb/doc-revs.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { orderedWriter } from '../couchdb/doc-write.js';
import { parseDocument, validateDocId } from '../couch/doc.js';
import { parseRev } from '../couch/rev.js';
import type { Db } from '../couchdb/db.js';
import { resolveDb } from './keyspace.js';
import { accessUser } from './auth.js';
import { guardDocWrite } from './db-access.js';
import { updateLocal } from '../couchdb/local-docs.js';
import { accepts, isObject, qBool, readJsonObject, type Handler } from './request.js';
import { sendBody, sendJson, sendJsonText } from './response.js';
import { buildBulkGetMultipart, type BulkGetPart } from '../couch/multipart-build.js';
import { partsFor } from './doc-read.js';
import { toCouchError } from '../couchdb/errors.js';
import { requestValidator } from './design.js';

interface DocResult {
  id: unknown;
  rev?: string;
  error?: CouchError;
}

/** `{start, ids}`'s newest revision as `N-hash`. */
const headRev = (r: { start: number; ids: string[] }): string | undefined => (r.ids.length > 0 ? `${r.start}-${r.ids[0]}` : undefined);

const bulkDocs: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  if (!('docs' in body)) throw new CouchError('bulk_docs_missing');
  if (!Array.isArray(body.docs)) throw new CouchError('bulk_docs_not_array');
  if (body.new_edits !== undefined && typeof body.new_edits !== 'boolean') {
    throw new CouchError('bad_request', { reason: '`new_edits` parameter must be a boolean.' });
  }
  const newEdits = body.new_edits !== false;
  const partitioned = db.partitioned;
  // Every document is checked before any is written: one that is malformed (an unknown `_`
  // member, a reserved `_id`, no `_rev` with `new_edits: false`) fails the whole request with
  // 400, as in CouchDB (chttpd_db db_req `_bulk_docs`: doc_from_json_obj_validate and
  // validate_revs over the whole array before fabric:update_docs). A missing `_id` is generated.
  const docs = (body.docs as unknown[]).map((raw) => {
    const doc = parseDocument(raw);
    if (!newEdits && doc.revisions === null) throw new CouchError('new_edits_needs_rev');
    const id = doc.id ?? rc.face.uuids.next();
    if (partitioned) validatePartitionedDocId(id);
    return { doc, id, localRev: isObject(raw) && typeof raw._rev === 'string' ? raw._rev : undefined };
  });
  if (body.all_or_nothing === true && newEdits) {
    // CouchDB 2+ has no atomic batches: fabric_doc_update aborts every document with
    // not_implemented, and chttpd_db answers 417 with a row per document. Nothing is written.
    // Each row names the revision the document was sent with, `0-` for none (update_doc_result_to_json/1).
    sendJson(rc.res, 417, docs.map(({ id, doc }) => ({ id, rev: headRev(doc.revisions ?? { start: 0, ids: [] }) ?? '0-', error: 'not_implemented', reason: 'all_or_nothing is not supported' })));
    return;
  }
  const pending: Array<Promise<DocResult>> = [];
  const write = orderedWriter(db);
  // validate_doc_update, per document: a refusal is that document's row (403/401), as in CouchDB.
  const validate = await requestValidator(rc, db);
  for (const { doc, id, localRev } of docs) {
    if (id.startsWith('_local/')) {
      const rev = updateLocal(db, id.slice('_local/'.length), localRev, doc.deleted ? null : doc.body);
      pending.push(rev.then((n) => ({ id, rev: `0-${n}` }), (e: unknown) => ({ id, error: toCouchError(e) })));
      continue;
    }
    // Writes of one id within the batch apply in order; others do not wait for each other.
    try {
      const guarded = guardDocWrite(rc.face.access, accessUser(rc.user), db, id, doc);
      const written = guarded ? guarded.then(() => write(id, doc, { newEdits, validate })) : write(id, doc, { newEdits, validate });
      pending.push(written.then((rev) => ({ id, rev }), (e: unknown) => ({ id, error: toCouchError(e) })));
    } catch (err) {
      pending.push(Promise.resolve({ id, error: toCouchError(err) }));
    }
  }
  const results = await Promise.all(pending);
  if (!newEdits) {
    // Only the failures, each with the revision it named (chttpd_db update_doc_result_to_json
    // for `{{Id, Rev}, Error}`, the replicated_changes result): id, rev, error, reason.
    const failed: unknown[] = [];
    results.forEach((r, i) => {
      if (!r.error) return;
      const rev = headRev(docs[i]!.doc.revisions!);
      failed.push(rev === undefined ? { id: r.id ?? null, ...r.error.toJSON() } : { id: r.id ?? null, rev, ...r.error.toJSON() });
    });
    sendJson(rc.res, 201, failed);
    return;
  }
  const rows = results.map((r) => (r.error ? { id: r.id ?? null, ...r.error.toJSON() } : { ok: true, id: r.id, rev: r.rev }));
  sendJson(rc.res, 201, rows);
};

/** One `_bulk_get` request entry's revisions, each a document or an error object (revError's inner object). */
type BulkGetEntry = { id: unknown; parts: BulkGetPart[] };

/** Query parameters `_bulk_get` refuses (chttpd_db validate_query_param). */
const BULK_GET_REFUSED = ['open_revs', 'new_edits', 'w', 'rev', 'atts_since'];

/** One `_bulk_get` request entry, parsed: what to open, or the entry's error (id and rev as CouchDB reports them). */
type BulkGetArg = { id: string; rev: string | undefined; attsSince: string[] | null } | { id: unknown; error: Record<string, unknown> };

/** An entry error: `{id, rev, error, reason}` with `rev` the raw value at fault (or null). */
function argError(id: unknown, rev: unknown, err: CouchError): { id: unknown; error: Record<string, unknown> } {
  return { id, error: { id, rev, ...err.toJSON() } };
}

/**
 * chttpd_db bulk_get_parse_arg: a non-empty object with an `id` the database takes
 * (couch_db:validate_docid/2, rev null on error), a `rev` that parses (the bad value as the rev),
 * and `atts_since` a list of revs (the bad one, or the non-list value, as the rev).
 */
function parseBulkGetArg(db: Db, entry: unknown): BulkGetArg {
  if (!isObject(entry) || Object.keys(entry).length === 0) return argError(null, null, new CouchError('bulk_get_not_object'));
  const { id, rev, atts_since: attsSince } = entry;
  if (id === undefined) return argError(null, null, new CouchError('bulk_get_no_id'));
  try {
    validateDocId(id);
    if (db.partitioned) validatePartitionedDocId(id);
  } catch (err) {
    return argError(id, null, toCouchError(err));
  }
  const badRev = (value: unknown): boolean => {
    try {
      parseRev(value);
      return false;
    } catch {
      return true;
    }
  };
  if (rev !== undefined && badRev(rev)) return argError(id, rev, new CouchError('invalid_rev_format'));
  if (attsSince !== undefined && !Array.isArray(attsSince)) return argError(id, attsSince, new CouchError('bulk_get_atts_since'));
  const since = (attsSince as unknown[] | undefined) ?? [];
  const bad = since.find(badRev);
  if (bad !== undefined) return argError(id, bad, new CouchError('invalid_rev_format'));
  return { id, rev: rev as string | undefined, attsSince: since.length > 0 ? (since as string[]) : null };
}

const bulkGet: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  if (!Array.isArray(body.docs)) throw new CouchError('bulk_get_missing');
  for (const key of BULK_GET_REFUSED) if (rc.query.has(key)) throw new CouchError('bulk_get_query_param', { params: { key } });
  // chttpd_db bulk_get_is_multipart: multipart only for a client that does not accept JSON.
  const multipart = !accepts(rc.req, 'application/json') && (accepts(rc.req, 'multipart/mixed') || accepts(rc.req, 'multipart/related'));
  // CouchDB's replicator repeats the options in the body as well as the query.
  const opt = (name: string): boolean => qBool(rc.query, name) || body[name] === true;
  const revs = opt('revs');
  const withLatest = opt('latest');
  // A multipart answer always sends attachment data (send_docs_multipart_bulk_get's options:
  // attachments, follows, att_encoding_info), except what `atts_since` leaves as stubs; its parts
  // carry the stored (compressed) bytes.
  const attachments = multipart || opt('attachments');
  const encodingInfo = multipart || opt('att_encoding_info');
  // Each revision is serialized on its own (doc-json.ts docText): a document that cannot be shown
  // is an error entry of its result, never a failure of the whole response.
  const bulkGetEntry = async (entry: unknown): Promise<BulkGetEntry> => {
    const arg = parseBulkGetArg(db, entry);
    if ('error' in arg) return { id: arg.id, parts: [{ error: arg.error }] };
    const { id, rev, attsSince } = arg;
    try {
      const opts = { revs, attachments, attsSince, follows: multipart, encodingInfo };
      const state = loadDoc(db, id, db.revsLimit);
      db.stats.reads++; // CouchDB `database_reads`
      let found: OpenRevResult[];
      if (rev !== undefined) {
        found = openRevs(state, [rev], withLatest);
      } else {
        // chttpd_db bulk_get_open_doc_revs1: no rev is `{DocId, all}`, every leaf, deleted ones
        // included (couch_db open_doc_revs_int, get_all_leafs); a missing document is `{ok, []}`,
        // one not_found "missing" entry (its rev the atom `undefined`).
        if (!state) throw new CouchError('not_found');
        found = openRevs(state, 'all', false);
      }
      const parts: BulkGetPart[] = [];
      for (const r of found) {
        if ('missing' in r) {
          // send_docs_multipart_bulk_get's part for a missing revision has no id; the JSON entry has.
          const { id: _id, ...noId } = innerError(id, r.missing, new CouchError('not_found'));
          parts.push({ error: multipart ? noId : { id: _id, ...noId } });
          continue;
        }
        // Large compressed attachments inlined are inflated off the event loop (doc-json.ts inflateInline).
        const inflated = await inflateInline(db, state!, r.ok.rev, r.ok.data.atts, opts);
        const doc = docText(db, () => docJson(db, state!, r.ok.rev, r.ok.data, r.ok.deleted, { ...opts, inflated }));
        if ('error' in doc) parts.push({ error: innerError(id, r.ok.rev, doc.error) });
        else parts.push({ ok: { id, rev: r.ok.rev, json: doc.text, attachments: multipart ? partsFor(db, state!, r.ok, opts) : [] } });
      }
      return { id, parts };
    } catch (err) {
      return { id, parts: [{ error: innerError(id, rev, toCouchError(err)) }] };
    }
  };
  const entries: BulkGetEntry[] = [];
  for (const entry of body.docs as unknown[]) entries.push(await bulkGetEntry(entry));
  if (multipart) {
    await sendBody(rc.res, 200, buildBulkGetMultipart(entries.flatMap((e) => e.parts), accepts(rc.req, 'multipart/mixed')));
    return;
  }
  const results = entries.map(({ id, parts }) => {
    const docs = parts.map((p) => ('ok' in p ? `{"ok":${p.ok.json}}` : JSON.stringify({ error: p.error })));
    return `{"id":${JSON.stringify(id)},"docs":[${docs.join(',')}]}`;
  });
  sendJsonText(rc.res, 200, `{"results":[${results.join(',')}]}`);
};

/** revError's `{id, rev, error, reason}`, the body of a multipart error part and of a JSON `error` entry. */
function innerError(id: unknown, rev: unknown, err: CouchError): Record<string, unknown> {
  return revError(id, rev, err).error as Record<string, unknown>;
}

function revsRequest(body: Record<string, unknown>): Array<[string, string[]]> {
  return Object.entries(body).map(([id, revs]) => {
    if (!Array.isArray(revs) || !revs.every((r) => typeof r === 'string')) throw new CouchError('invalid_rev_list');
    return [id, revs as string[]];
  });
}

const revsDiffHandler: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  const out: Record<string, unknown> = {};
  for (const [id, revs] of revsRequest(body)) {
    const state = loadDoc(db, id, db.revsLimit);
    const diff = revsDiff(state?.tree ?? null, revs);
    if (diff) out[id] = diff;
  }
  sendJson(rc.res, 200, out);
};

const missingRevs: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await readJsonObject(rc);
  const missing: Record<string, string[]> = {};
  for (const [id, revs] of revsRequest(body)) {
    const state = loadDoc(db, id, db.revsLimit);
    const diff = revsDiff(state?.tree ?? null, revs);
    if (diff) missing[id] = diff.missing;
  }
  sendJson(rc.res, 200, { missing_revs: missing });
};

export const bulkHandlers = {
  bulkDocs: { POST: bulkDocs },
  bulkGet: { POST: bulkGet },
  revsDiff: { POST: revsDiffHandler },
  missingRevs: { POST: missingRevs },
};
