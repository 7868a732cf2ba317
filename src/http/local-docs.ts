/**
 * The `_local/` document routes: GET/PUT/DELETE `/{db}/_local/{id}` and `_local_docs` (like
 * `_all_docs` over the local documents). Storage and the `0-N` rev rules: couchdb/local-docs.ts.
 */
import { CouchError } from '../couch/errors.js';
import { LOCAL_PREFIX, localIds, localJson, readLocal, updateLocal, type LocalRecord } from '../couchdb/local-docs.js';
import { resolveDb } from './keyspace.js';
import type { Db } from '../couchdb/db.js';
import { allDocsRange, queriesOf, withBodyParams, type AllDocsQuery } from './all-docs-query.js';
import { isObject, jsonDepthLimit, parseJson, readJsonBytes, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';

const PREFIX = LOCAL_PREFIX;

function localId(rc: RequestCtx): string {
  const id = rc.params.id ?? '';
  if (id.length === 0) throw new CouchError('local_bad_id');
  return id;
}

const getLocal: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = localId(rc);
  const rec = readLocal(db, id);
  if (!rec) throw new CouchError('not_found');
  sendJson(rc.res, 200, localJson(id, rec));
};

/**
 * The stored body. `_attachments` is accepted and not kept: CouchDB stores a `_local` document
 * as its body alone (its revision has no attachments), and refuses only the attachment routes.
 */
function bodyWithoutSpecials(json: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (!k.startsWith('_')) body[k] = v;
  }
  return body;
}

/**
 * `/{db}/_local/{id}/...` in any method: `_local` documents have no attachments (chttpd_db db_req:
 * `[_DbName, <<"_local">> | _Rest]` throws this 400). An id with '/' is spelled `_local/a%2Fb`.
 */
const localAttachment: Handler = async (rc) => {
  resolveDb(rc);
  throw new CouchError('local_no_attachments');
};

/**
 * `/{db}/_local` (also spelled `/{db}/_local/` and `/{db}/_local%2F`) in any method names no local
 * document: chttpd_db db_req's `[_DbName, <<"_local">>]` and `[_DbName, <<"_local/">>]` clauses
 * throw this 400 where a plain document id would get validate_docid's `illegal_docid`.
 */
const bareLocal: Handler = async (rc) => {
  resolveDb(rc);
  throw new CouchError('local_bad_id');
};

const putLocal: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = localId(rc);
  const json = parseJson(await readJsonBytes(rc), jsonDepthLimit(rc));
  if (!isObject(json)) throw new CouchError('not_an_object');
  const q = rc.query.get('rev') ?? undefined;
  const bodyRev = typeof json._rev === 'string' ? json._rev : undefined;
  if (q !== undefined && bodyRev !== undefined && q !== bodyRev) throw new CouchError('rev_mismatch');
  const rev = await updateLocal(db, id, q ?? bodyRev, json._deleted === true ? null : bodyWithoutSpecials(json));
  sendJson(rc.res, 201, { ok: true, id: PREFIX + id, rev: `0-${rev}` });
};

const deleteLocal: Handler = async (rc) => {
  const db = resolveDb(rc);
  const id = localId(rc);
  const q = rc.query.get('rev') ?? undefined;
  await updateLocal(db, id, q, null);
  sendJson(rc.res, 200, { ok: true, id: PREFIX + id, rev: '0-0' });
};

/** `_local_docs`' listing for `query`: like `_all_docs` over the local documents. */
function localListing(db: Db, query: AllDocsQuery): Record<string, unknown> {
  const strip = (k: unknown): unknown => (typeof k === 'string' && k.startsWith(PREFIX) ? k.slice(PREFIX.length) : k);
  const rows: unknown[] = [];
  const row = (id: string, rec: LocalRecord): Record<string, unknown> => {
    const r: Record<string, unknown> = { id: PREFIX + id, key: PREFIX + id, value: { rev: `0-${rec.rev}` } };
    if (query.includeDocs) r.doc = localJson(id, rec);
    return r;
  };
  if (query.keys) {
    // skip and limit apply to the keys' rows too, as they do in _all_docs.
    for (const key of query.keys.slice(query.skip, query.skip + query.limit)) {
      const id = strip(key);
      const rec = typeof id === 'string' ? readLocal(db, id) : undefined;
      rows.push(rec && typeof id === 'string' ? row(id, rec) : { key, error: 'not_found' });
    }
  } else {
    const start = strip(query.startKey);
    const end = strip(query.endKey);
    let skip = query.skip;
    for (const id of localIds(db, query.descending)) {
      const cmpStart = typeof start === 'string' ? (query.descending ? id > start : id < start) : false;
      if (cmpStart) continue;
      if (typeof end === 'string') {
        const past = query.descending ? id < end : id > end;
        if (past || (!query.inclusiveEnd && id === end)) break;
      }
      if (skip > 0) {
        skip--;
        continue;
      }
      if (rows.length >= query.limit) break;
      const rec = readLocal(db, id);
      if (rec) rows.push(row(id, rec));
    }
  }
  return { total_rows: null, offset: null, rows };
}

async function bodyObject(rc: RequestCtx): Promise<Record<string, unknown>> {
  const body = parseJson(await readJsonBytes(rc), jsonDepthLimit(rc));
  if (!isObject(body)) throw new CouchError('bad_request', { reason: 'Request body must be a JSON object' });
  return body;
}

const getLocalDocs: Handler = async (rc) => sendJson(rc.res, 200, localListing(resolveDb(rc), allDocsRange(rc.query)));
const postLocalDocs: Handler = async (rc) => {
  const db = resolveDb(rc);
  const body = await bodyObject(rc);
  sendJson(rc.res, 200, localListing(db, allDocsRange(withBodyParams(rc.query, body), body.keys)));
};
/** `POST /{db}/_local_docs/queries`: chttpd_db's IS_ALL_DOCS routes take `_local_docs` too (all-docs.ts). */
const postLocalDocsQueries: Handler = async (rc) => {
  const db = resolveDb(rc);
  const queries = queriesOf(await bodyObject(rc)).map((query) => allDocsRange(withBodyParams(rc.query, query, true), query.keys));
  sendJson(rc.res, 200, { results: queries.map((query) => localListing(db, query)) });
};

export const localHandlers = { GET: getLocal, PUT: putLocal, DELETE: deleteLocal };
export const localAttachmentHandlers = { GET: localAttachment, HEAD: localAttachment, PUT: localAttachment, DELETE: localAttachment, POST: localAttachment, COPY: localAttachment };
export const bareLocalHandlers = { GET: bareLocal, HEAD: bareLocal, PUT: bareLocal, DELETE: bareLocal, POST: bareLocal, COPY: bareLocal };
export const localDocsHandlers = { GET: getLocalDocs, POST: postLocalDocs };
export const localDocsQueriesHandlers = { POST: postLocalDocsQueries };
