/**
 * `_changes` filters written in JavaScript (couch_changes.erl configure_filter/4, filter/3;
 * couch_query_servers.erl filter_docs/5, filter_view/3):
 *
 * - `filter=ddoc/name`: the function `filters.name` of `_design/ddoc`, called as
 *   `fun(doc, req)`; a truthy result passes the document. `req` is CouchDB's request object
 *   (`requestObject`), `query` holding the request's parameters (a replication's
 *   `query_params`);
 * - `filter=_view&view=ddoc/view`: the view's map function; a document passes when it emits
 *   anything (a map function that throws for a document emits nothing, as in views.js).
 *
 * The document is the winning revision as couch_doc:to_json_obj(Doc, [revs]) gives it (with
 * `_revisions`, `_conflicts` when it has live conflicts, attachments as stubs), deleted ones as
 * `{_id, _rev, _deleted}`. With `style=all_docs` each leaf is tested on its own and the row lists
 * those that pass (couch_changes filter_revs/2; change-summary.ts). Errors, as CouchDB: a name not of the form `ddoc/name` is 400
 * `bad_request`, a missing design document 404 `missing`, a missing member 404
 * `missing json key: K`; a function that does not compile 400 `compilation_error`, and one that
 * throws fails the feed with its error.
 *
 * A feed tests a page of documents per sandbox call (couch_query_servers filter_docs sends
 * CouchDB's couchjs a batch likewise): the documents go in as JSON text and the verdicts come
 * back in order, stopping at a document the function threw for, so the feed fails exactly there.
 */
import { CouchError } from '../couch/errors.js';
import type { Db } from '../couchdb/db.js';
import { dbKeyOf, loadDesignDoc, type DesignFunctions } from './design-docs.js';
import type { DesignDoc, FilterVerdicts, UserCtx } from './sandbox.js';

/**
 * A JavaScript filter over a batch of documents, each given as its JSON text: the verdicts in
 * order (FilterVerdicts: stopping with the error of a document the function threw for). A call
 * that fails as a whole (time or memory limit) throws its DesignError.
 */
export type DocPredicate = (docsJson: readonly string[]) => FilterVerdicts;

function arrayText(docsJson: readonly string[]): string {
  return `[${docsJson.join(',')}]`;
}

/** The parts of a request that make CouchDB's `req` object (chttpd_external:json_req_obj/3). */
export interface RequestParts {
  method: string;
  /** Path segments, decoded (`["db", "_changes"]`). */
  path: string[];
  rawPath: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  /** The body text, or "undefined" when there is none (CouchDB sends that string). */
  body: string;
  peer: string;
  cookie: Record<string, string>;
  userCtx: UserCtx;
  secObj: unknown;
  form?: Record<string, string>;
}

/** CouchDB's request object for design functions (chttpd_external:json_req_obj/3). */
export function requestObject(db: Db, parts: RequestParts): Record<string, unknown> {
  const c = db.counts();
  return {
    info: { db_name: db.name, doc_count: c.docCount, doc_del_count: c.delCount, update_seq: db.updateSeq, instance_start_time: '0' },
    uuid: null,
    id: null,
    method: parts.method,
    requested_path: parts.path,
    path: parts.path,
    raw_path: parts.rawPath,
    query: parts.query,
    headers: parts.headers,
    body: parts.body,
    peer: parts.peer,
    form: parts.form ?? {},
    cookie: parts.cookie,
    userCtx: parts.userCtx,
    secObj: parts.secObj,
  };
}

function splitName(name: string, what: 'filter' | 'view'): [string, string] {
  const parts = name.split('/').filter((p) => p !== '');
  if (parts.length !== 2) throw new CouchError('bad_request', { reason: `\`${what}\` must be of the form \`designname/${what}name\`` });
  return [parts[0]!, parts[1]!];
}

function openDdoc(db: Db, name: string): DesignDoc {
  const ddoc = loadDesignDoc(db, `_design/${name}`);
  if (ddoc === null) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
  return ddoc;
}

/** couch_util:get_nested_json_value: 404 `missing json key: K` for the first absent member. */
function checkMember(ddoc: DesignDoc, path: readonly string[]): void {
  let cur: unknown = ddoc;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(key in cur)) {
      throw new CouchError('not_found_detail', { params: { detail: `missing json key: ${key}` } });
    }
    cur = (cur as Record<string, unknown>)[key];
  }
}

/** `filter=ddoc/name` → the predicate, compiled (throws 400/404 as the header says). */
export async function designFilter(design: DesignFunctions, db: Db, name: string, req: unknown): Promise<DocPredicate> {
  const [dname, fname] = splitName(name, 'filter');
  const ddoc = openDdoc(db, dname);
  checkMember(ddoc, ['filters', fname]);
  const sandbox = await design.sandbox();
  const fn = sandbox.compile(ddoc, 'filter', ['filters', fname], dbKeyOf(db));
  const stats = design.stats;
  return (docsJson) => {
    const v = fn.filterManyJson(arrayText(docsJson), req);
    stats.filterDocs += v.pass.length + (v.error ? 1 : 0);
    for (const p of v.pass) if (p) stats.filterPassed++;
    return v;
  };
}

/** The `view` parameter of `filter=_view` (400 when absent). */
export function viewParam(view: string | null): string {
  if (view === null || view === '') throw new CouchError('bad_request', { reason: '`view` filter parameter is not provided.' });
  return view;
}

/** `filter=_view&view=ddoc/view` → the predicate "the map function emits for this document". */
export async function viewFilter(design: DesignFunctions, db: Db, view: string): Promise<DocPredicate> {
  const [dname, vname] = splitName(view, 'view');
  const ddoc = openDdoc(db, dname);
  checkMember(ddoc, ['views', vname]);
  checkMember(ddoc, ['views', vname, 'map']);
  const sandbox = await design.sandbox();
  const fn = sandbox.compile(ddoc, 'map', ['views', vname, 'map'], dbKeyOf(db));
  const stats = design.stats;
  return (docsJson) => {
    // A document whose map function throws emits nothing, so it does not pass (views.js).
    const pass = fn.mapManyJson(arrayText(docsJson)).map((r) => 'emits' in r && r.emits.length > 0);
    stats.filterDocs += pass.length;
    for (const p of pass) if (p) stats.filterPassed++;
    return { pass };
  };
}

/**
 * The JavaScript filter a `_changes` request or a replication names, or null for the built-in
 * ones (`_doc_ids`, `_selector`, `_design`), which the caller handles.
 */
export async function javascriptFilter(design: DesignFunctions, db: Db, name: string, view: string | null, req: unknown): Promise<DocPredicate | null> {
  if (name === '_view') return viewFilter(design, db, viewParam(view));
  // A name of slashes only names no filter (couch_changes configure_filter/4: string:tokens → []).
  if (name.startsWith('_') || /^\/+$/.test(name)) return null;
  return designFilter(design, db, name, req);
}
