/**
 * The CouchDB face's side of design functions (src/design/): who the request's user is to a
 * function (`userCtx`), CouchDB's `req` object for filters, the validate_doc_update hook that
 * every document write route passes to the write path (src/couchdb/doc-write.ts), the `req` of
 * show and update functions (render-routes.ts) and of rewrite functions (rewrite.ts).
 */
import type { Db } from '../couchdb/db.js';
import type { DocValidator } from '../couchdb/doc-write.js';
import { requestObject } from '../design/filters.js';
import type { UserCtx as DesignUserCtx } from '../design/sandbox.js';
import { docValidator, securityObject, userCtxOf } from '../design/validate.js';
import { readCookie } from './auth.js';
import { roles } from './auth.js';
import { mediaType, type RequestCtx } from './request.js';

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
  // Names as the client sent them (mochiweb keeps their case; Node's `headers` lower-cases them).
  const headers: Record<string, string> = {};
  const raw = rc.req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]!}`;
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
 * CouchDB's `req` for a show or update function: `filterRequest`'s, with the document id of the
 * route (or null), a fresh `uuid` (an id for a document the function creates) and, for a form
 * body, its fields (chttpd_external json_req_obj `form`).
 */
export function renderRequest(rc: RequestCtx, db: Db, bodyText: string | undefined, id: string | null): Record<string, unknown> {
  const req = filterRequest(rc, db, bodyText);
  req.id = id;
  req.uuid = rc.face.uuids.next();
  if (mediaType(rc.req) === 'application/x-www-form-urlencoded' && bodyText !== undefined) {
    req.form = Object.fromEntries(new URLSearchParams(bodyText).entries());
  }
  return req;
}
