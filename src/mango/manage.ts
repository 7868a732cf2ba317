/**
 * Creating and deleting Mango indexes: edits of `language: "query"` design documents, written
 * through the ordinary document write path (couchdb/doc-write.ts), as mango_httpd.erl
 * handle_index_req/2 does through mango_crud:insert/3.
 *
 * Create (mango_idx:add/2, mango_util:load_ddoc/3): a missing or deleted design document starts
 * as `{"language": "query"}`; one with another language is 400 `invalid_ddoc_lang`; the view is
 * added, or left alone when the same definition is already there (`"result": "exists"`).
 * `partitioned` (mango_idx set_ddoc_partitioned/2): a request's value (true, false, or none) must
 * equal the design document's `options.partitioned` (none when absent); a new design document
 * takes an explicit value into its options, an existing one that differs is 400
 * `invalid_partitioned_option`. `partitioned: true` in a database that is not partitioned is
 * refused by the design document validation (400 `invalid_design_doc`, couch_mrview:validate/2).
 * Delete (mango_idx:delete/4): the view is removed; a design document left with only its
 * language is deleted. A write conflict (a concurrent edit) is 500 `error_saving_ddoc`.
 */
import { parseDocument } from '../couch/doc.js';
import { CouchError, isCouchError } from '../couch/errors.js';
import type { Db } from '../couchdb/db.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { writeDoc } from '../couchdb/doc-write.js';
import { designId, indexesOfDdoc, indexNames, listIndexes, sameView, viewOf, type JsonIndex } from './indexes.js';
import type { IndexCreateOptions } from './opts.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The design document as JSON, or a new `{"language": "query"}` one (mango_util:load_ddoc/3). */
function loadDdoc(db: Db, id: string): { doc: Record<string, unknown>; isNew: boolean } {
  const state = loadDoc(db, id, db.revsLimit);
  if (!state || state.winner.deleted || state.opaque) return { doc: { _id: id, language: 'query' }, isNew: true };
  const doc = winnerJson(db, state);
  if (doc.language !== 'query') throw new CouchError('mango_invalid_ddoc_lang', { params: { value: JSON.stringify(doc.language) ?? 'undefined' } });
  return { doc, isNew: false };
}

/**
 * mango_idx set_ddoc_partitioned/2: the design document with the requested `partitioned`
 * (undefined = the database default) agreed with its `options.partitioned`.
 */
function withPartitioned(id: string, doc: Record<string, unknown>, isNew: boolean, requested: boolean | undefined): Record<string, unknown> {
  const options = isObject(doc.options) ? doc.options : undefined;
  const current = options?.partitioned;
  if (requested === current) return doc;
  if (!isNew) {
    // mango_error info(mango_idx, {partitioned_option_mismatch, DDocId}).
    throw new CouchError('invalid_partitioned_option', { params: { detail: id } });
  }
  return requested === undefined ? doc : { ...doc, options: { ...options, partitioned: requested } };
}

async function saveDdoc(db: Db, id: string, doc: Record<string, unknown>): Promise<void> {
  try {
    await writeDoc(db, id, parseDocument(doc), { newEdits: true });
  } catch (err) {
    if (isCouchError(err) && err.kind === 'conflict') throw new CouchError('mango_ddoc_conflict');
    // couch_db validate_ddoc/2 throws it past mango_crud:insert/3 (`partitioned: true` in a
    // database that is not partitioned): chttpd answers it as it is.
    if (isCouchError(err) && err.kind === 'invalid_design_doc') throw err;
    if (isCouchError(err) && err.status < 500) throw new CouchError('mango_error_saving_ddoc', { params: { detail: err.error } });
    throw err;
  }
}

export interface CreateResult {
  result: 'created' | 'exists';
  id: string;
  name: string;
}

export async function createIndex(db: Db, opts: IndexCreateOptions): Promise<CreateResult> {
  const { ddoc, name } = indexNames(opts);
  const { doc, isNew } = loadDdoc(db, ddoc);
  const views = isObject(doc.views) ? doc.views : {};
  const view = viewOf(opts);
  const same = sameView(views[name], view);
  // mango_idx:add/2: the view is added (mango_idx_view:add/2), then `partitioned` checked
  // whether or not the view was there already.
  const next = withPartitioned(ddoc, same ? doc : { ...doc, views: { ...views, [name]: view } }, isNew, opts.partitioned ?? undefined);
  if (next === doc) return { result: 'exists', id: ddoc, name };
  await saveDdoc(db, ddoc, next);
  return { result: 'created', id: ddoc, name };
}

/** Remove the json indexes of a design document that `drop` selects; false when there was none to remove. */
async function removeIndexes(db: Db, ddoc: string, drop: (idx: JsonIndex) => boolean): Promise<boolean> {
  const state = loadDoc(db, ddoc, db.revsLimit);
  if (!state || state.winner.deleted || state.opaque) return false;
  const doc = winnerJson(db, state);
  const gone = indexesOfDdoc(ddoc, doc).filter(drop);
  if (gone.length === 0) return false;
  const views = { ...(doc.views as Record<string, unknown>) };
  for (const idx of gone) delete views[idx.name];
  const { views: _old, ...rest } = doc;
  const next: Record<string, unknown> = Object.keys(views).length > 0 ? { ...rest, views } : rest;
  const left = Object.keys(next).filter((k) => !k.startsWith('_'));
  if (left.length === 1 && left[0] === 'language' && !next._attachments) {
    await saveDdoc(db, ddoc, { _id: ddoc, _rev: doc._rev, _deleted: true });
  } else {
    await saveDdoc(db, ddoc, next);
  }
  return true;
}

/** `DELETE /db/_index/{ddoc}/json/{name}`: 404 when no such index. */
export async function deleteIndex(db: Db, ddocName: string, type: string, name: string): Promise<void> {
  const ddoc = designId(ddocName);
  const exists = listIndexes(db).some((i) => i.ddoc === ddoc && i.type === type && i.name === name);
  if (!exists || !(await removeIndexes(db, ddoc, (i) => i.name === name))) throw new CouchError('not_found');
}

/** `POST /db/_index/_bulk_delete`: every json index of each design document named. */
export async function bulkDelete(db: Db, ids: readonly string[]): Promise<{ success: unknown[]; fail: unknown[] }> {
  const success: unknown[] = [];
  const fail: unknown[] = [];
  for (const raw of ids) {
    const id = designId(raw);
    try {
      if (await removeIndexes(db, id, () => true)) success.push({ id, ok: true });
      else fail.push({ id, error: 'not_found' });
    } catch (err) {
      fail.push({ id, error: isCouchError(err) ? err.error : 'unknown_error' });
    }
  }
  return { success, fail };
}
