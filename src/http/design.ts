/**
 * The CouchDB face's side of design functions (src/design/): who the request's user is to a
 * function (`userCtx`), CouchDB's `req` object for filters, the validate_doc_update hook that
 * every document write route passes to the write path (src/couchdb/doc-write.ts), and the answer
 * to the design actions Freshet does not serve.
 */
import type { Db } from '../couchdb/db.js';
import type { DocValidator } from '../couchdb/doc-write.js';
import { requestObject } from '../design/filters.js';
import type { UserCtx as DesignUserCtx } from '../design/sandbox.js';
import { docValidator, securityObject, userCtxOf } from '../design/validate.js';
import { readCookie } from './auth.js';
import { roles } from './auth.js';
import { CouchError } from '../couch/errors.js';
import { resolveDb } from './keyspace.js';
import type { Handler, RequestCtx } from './request.js';

/** `userCtx` as CouchDB shows it to design functions: `{db, name, roles}`; server admins have `_admin`. */
export function requestUserCtx(rc: RequestCtx, db: Db): DesignUserCtx {
  return userCtxOf(db, rc.user ? { name: rc.user.name, roles: roles(rc.user) } : null);
}

/** The validate_doc_update hook for writes of this request, or undefined when the database has none. */
export function requestValidator(rc: RequestCtx, db: Db): Promise<DocValidator | undefined> {
  return docValidator(rc.face.design, db, requestUserCtx(rc, db));
}

/** CouchDB's `req` for a filter function called by this request (chttpd_external:json_req_obj/3). */
export function filterRequest(rc: RequestCtx, db: Db, bodyText: string | undefined): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rc.req.headers)) {
    if (v === undefined) continue;
    // CouchDB keeps the header names' case as sent; Node lower-cases them.
    headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const cookie: Record<string, string> = {};
  for (const part of (rc.req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      const name = part.slice(0, eq).trim();
      cookie[name] = readCookie(rc.req, name) ?? '';
    }
  }
  const path = rc.url.pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  return requestObject(db, {
    method: rc.method,
    path,
    rawPath: rc.url.pathname + rc.url.search,
    query: Object.fromEntries(rc.query.entries()),
    headers,
    body: bodyText === undefined || bodyText === '' ? 'undefined' : bodyText,
    peer: rc.req.socket.remoteAddress ?? '127.0.0.1',
    cookie,
    userCtx: requestUserCtx(rc, db),
    secObj: securityObject(db),
  });
}

/**
 * `/{db}/_design/{ddoc}/_show|_list|_update|_rewrite/...`: 501 `not_implemented`, after the
 * database checks every design route makes (404 for a missing database, 403 without access). An
 * attachment name cannot start with `_` (couch_att), so no attachment is hidden by this.
 */
function notServed(action: string): Readonly<Record<string, Handler>> {
  const handler: Handler = async (rc) => {
    resolveDb(rc);
    throw new CouchError('design_action_not_served', { params: { action } });
  };
  return { GET: handler, HEAD: handler, POST: handler, PUT: handler, DELETE: handler };
}

export const designActionsNotServed: ReadonlyArray<readonly [string, Readonly<Record<string, Handler>>]> = ['_show', '_list', '_update', '_rewrite'].map(
  (action) => [action, notServed(action)] as const,
);
