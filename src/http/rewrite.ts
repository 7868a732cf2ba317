/**
 * `ANY /{db}/_design/{ddoc}/_rewrite[/{path}]` (CouchDB api/ddoc/rewrites.rst, deprecated since
 * 3.0 and still served by 3.x), as chttpd_rewrite.erl handle_rewrite_req/3 and do_rewrite/2 serve
 * it: after the database checks and the design document (404 `missing`), the request is counted
 * against `[chttpd] rewrite_limit` (default 100, per client request, as chttpd's REWRITE_COUNT
 * is per request; beyond it 400 "Exceeded rewrite recursion limit"), then rewritten by the design
 * document's `rewrites`:
 *
 * - an array of rules (rewrite-rules.ts): the new path and query replace the request's, its
 *   method, headers, body and user stay;
 * - a function (a string), run in the design sandbox with CouchDB's `req` less `info`, `form`,
 *   `uuid` and `id` (couch_query_servers:rewrite/3): it answers a path (relative to the design
 *   document, as every rewrite path is), or `{path, query, method, headers, body}` (`query` the
 *   request's when absent, `headers` merged over the request's, `body` the request's when absent),
 *   or `{code, headers, body}` answered as is; nothing is 404 `rewrite_error` "Invalid path.".
 *   Each member is checked as couch_query_servers validate_rewrite_response does (500
 *   `rewrite_error` "bad path", "bad code", ...). A path may climb above the database: only the
 *   array form checks `[chttpd] secure_rewrites`, as in CouchDB.
 *
 * Without `rewrites` the answer is 404 `rewrite_error` "Invalid path.". The rewritten request is
 * routed through the route table again (dispatch.ts) as the same user, as chttpd_rewrite hands a
 * new mochiweb request to handle_request_int (which, unlike Freshet, authenticates it again, so a
 * function's `Authorization` header would change the user there).
 */
import { IncomingMessage, validateHeaderName, validateHeaderValue, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { CouchError } from '../couch/errors.js';
import type { Db } from '../couchdb/db.js';
import { dbKeyOf, loadDesignDoc } from '../design/design-docs.js';
import type { DesignDoc } from '../design/sandbox.js';
import { filterRequest } from './design.js';
import { dispatch, normalizeSegments, requestSegments } from './dispatch.js';
import { resolveDb } from './keyspace.js';
import { isObject, readBody, type Handler, type RequestCtx } from './request.js';
import { baseHeaders } from './response.js';
import { normalizePath, pathPrefix, quotePlus, rewriteByRules } from './rewrite-rules.js';

/** Rewrites so far of each client request (its response is one object however often it is routed). */
const REWRITES = new WeakMap<ServerResponse, number>();

const rewrite: Handler = async (rc) => {
  const db = resolveDb(rc);
  const ddoc = loadDesignDoc(db, `_design/${rc.params.ddoc!}`);
  if (ddoc === null) throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
  const config = rc.face.access.config;
  const limit = configInt(config.chttpd('rewrite_limit'), 100);
  const sofar = REWRITES.get(rc.res) ?? 0;
  if (sofar >= limit) throw new CouchError('rewrite_limit');
  REWRITES.set(rc.res, sofar + 1);
  const prefix = pathPrefix(rc.params.db!, rc.params.ddoc!);
  const rules = ddoc.rewrites;
  if (rules === undefined) throw new CouchError('rewrite_invalid_path');
  if (typeof rules === 'string') return rewriteByFunction(rc, db, ddoc, prefix);
  if (!Array.isArray(rules)) throw new CouchError('rewrite_error', { error: 'case_clause', params: { detail: erlTerm(rules) } });
  // chttpd path_parts: the path's parts after `_rewrite`, empty ones dropped.
  const parts = normalizeSegments(requestSegments(rc.face, rc.url)).slice(4).filter((p) => p !== '');
  const target = rewriteByRules(rules, { method: rc.method, parts, query: [...rc.query], prefix, secure: config.chttpd('secure_rewrites') !== 'false' });
  await dispatch(rc, rc.method, new URL(target, 'http://localhost'));
};

/** chttpd_util:get_chttpd_config_integer: an integer setting, else the default. */
function configInt(value: string | undefined, dflt: number): number {
  return value !== undefined && /^\s*-?\d+\s*$/.test(value) ? Number.parseInt(value, 10) : dflt;
}

async function rewriteByFunction(rc: RequestCtx, db: Db, ddoc: DesignDoc, prefix: string): Promise<void> {
  const body = await readBody(rc.req, rc.face.options.maxBodyBytes);
  const req = filterRequest(rc, db, body.toString('utf8'));
  for (const field of ['info', 'form', 'uuid', 'id']) delete req[field];
  const sandbox = await rc.face.design.sandbox();
  const answer = sandbox.compile(ddoc, 'rewrite', ['rewrites'], dbKeyOf(db)).rewrite(req);
  if (Array.isArray(answer) && answer.length === 1 && answer[0] === 'no_dispatch_rule') throw new CouchError('rewrite_invalid_path');
  if (!Array.isArray(answer) || answer[0] !== 'ok') throw new CouchError('design_function_error', { params: { detail: JSON.stringify(answer) } });
  const result: unknown = answer[1];
  if (!isObject(result)) throw rewriteError('bad rewrite');
  for (const [key, value] of Object.entries(result)) checkMember(key, value);
  const headers = (result.headers ?? {}) as Record<string, string>;
  const newBody = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : body;
  if (result.code !== undefined) return earlyResponse(rc, result.code as number, headers, newBody);
  const method = typeof result.method === 'string' ? result.method : rc.method;
  if (typeof result.path !== 'string') throw rewriteError('Rewrite result must produce a new path.');
  const pairs = isObject(result.query) ? Object.entries(result.query) as Array<[string, string]> : [...rc.query];
  const qs = pairs.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
  const url = new URL(normalizePath(`${prefix}/${result.path}`) + (qs === '' ? '' : `?${qs}`), 'http://localhost');
  await dispatch({ ...rc, req: rewrittenRequest(rc.req, method, url, headers, newBody) }, method, url);
}

function rewriteError(detail: string): CouchError {
  return new CouchError('rewrite_error', { params: { detail } });
}

/** couch_query_servers validate_rewrite_response_field: the members CouchDB checks, by type. */
function checkMember(key: string, value: unknown): void {
  const bad = (): never => {
    throw rewriteError(`bad ${key}`);
  };
  if ((key === 'method' || key === 'path' || key === 'body') && typeof value !== 'string') bad();
  if (key === 'code' && !(typeof value === 'number' && Number.isInteger(value) && value >= 200 && value < 600)) bad();
  if (key === 'headers' || key === 'query') {
    if (!isObject(value)) bad();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== 'string') throw rewriteError(`object key/value must be strings ${erlTerm(k)}=${erlTerm(v)}`);
    }
  }
}

/** A JSON value as Erlang's `~p` prints its decoded term, for the texts CouchDB formats so. */
function erlTerm(v: unknown): string {
  if (typeof v === 'string') return `<<${JSON.stringify(v)}>>`;
  if (Array.isArray(v)) return `[${v.map(erlTerm).join(',')}]`;
  if (isObject(v)) return `{[${Object.entries(v).map(([k, x]) => `{${erlTerm(k)},${erlTerm(x)}}`).join(',')}]}`;
  return String(v);
}

/** chttpd:send_response of a function's `{code, headers, body}` (the request's body without one). */
function earlyResponse(rc: RequestCtx, code: number, headers: Record<string, string>, body: Buffer): void {
  const out: Record<string, string | number> = baseHeaders();
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (err) {
      throw rewriteError(`Invalid header from the rewrite function: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const k of Object.keys(out)) if (k.toLowerCase() === name.toLowerCase()) delete out[k];
    out[name] = value;
  }
  out['Content-Length'] = body.length;
  rc.res.writeHead(code, out);
  rc.res.end(rc.method === 'HEAD' ? undefined : body);
}

/**
 * The request a function's rewrite makes: its method, the request's headers with the function's
 * over them (mochiweb_headers:enter_from_list, by name whatever the case), and its body in full
 * (the body the function was given, or its own), read by the handler as any request body is.
 */
function rewrittenRequest(orig: IncomingMessage, method: string, url: URL, given: Record<string, string>, body: Buffer): IncomingMessage {
  const replaced = new Set([...Object.keys(given).map((k) => k.toLowerCase()), 'content-length', 'transfer-encoding']);
  const raw: string[] = [];
  for (let i = 0; i + 1 < orig.rawHeaders.length; i += 2) {
    if (!replaced.has(orig.rawHeaders[i]!.toLowerCase())) raw.push(orig.rawHeaders[i]!, orig.rawHeaders[i + 1]!);
  }
  for (const [name, value] of Object.entries(given)) raw.push(name, value);
  raw.push('Content-Length', String(body.length));
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(orig.headers)) if (!replaced.has(name)) headers[name] = value;
  for (const [name, value] of Object.entries(given)) headers[name.toLowerCase()] = value;
  headers['content-length'] = String(body.length);
  const req = new IncomingMessage(orig.socket);
  // The body is all here: nothing is read from the socket, which stays the client request's.
  req._read = () => undefined;
  Object.assign(req, { method, url: url.pathname + url.search, headers, rawHeaders: raw, httpVersion: orig.httpVersion, httpVersionMajor: orig.httpVersionMajor, httpVersionMinor: orig.httpVersionMinor, complete: true });
  if (body.length > 0) req.push(body);
  req.push(null);
  return req;
}

/** `/{db}/_design/{ddoc}/_rewrite[/...]`, in every method (HEAD and OPTIONS too, rewritten as they are). */
export const rewriteHandlers: Readonly<Record<string, Handler>> = Object.fromEntries(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'COPY', 'OPTIONS'].map((m) => [m, rewrite]),
);
