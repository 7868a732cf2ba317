/**
 * Request and reply plumbing for the cluster-manager REST API, with ns_server's reply shapes
 * (menelaus_util.erl):
 * - `reply_not_found`: 404, text/plain "Requested resource not found.\r\n";
 * - `reply_error` / validator errors: 400, `{"errors":{"<field>":"<message>"}}` ("_" for global);
 * - `require_permission`: 403, `{"message":"Forbidden. User needs the following permissions",
 *   "permissions":["cluster.bucket[b].settings!read"]}` (menelaus_web_rbac `forbidden_response`);
 * - `require_auth`: 401, empty body, `WWW-Authenticate: Basic realm="Couchbase Server Admin / REST"`;
 * - every reply carries the no-cache headers ns_server adds by default (`response_headers`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody as readWebBody, type BodyErrors } from '../web/body.js';
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

/** Bodies are small forms; anything larger is refused rather than buffered. */
export const MAX_BODY_BYTES = 1 << 20;

export const NOT_FOUND_TEXT = 'Requested resource not found.\r\n';
export const AUTH_REALM = 'Basic realm="Couchbase Server Admin / REST"';

const BASE_HEADERS = {
  'Cache-Control': 'no-cache,no-store,must-revalidate',
  Expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
} as const;

export const MGMT_ERRORS = {
  REPLY: 'a REST reply decided by validation or access control (`status`, `body` on the error)',
} as const;

registerErrorCodes('MGMT', 'src/mgmt/rest-io.ts', MGMT_ERRORS);

/** A reply decided by validation or access control: thrown by handlers, sent by the dispatcher. */
export class RestError extends FreshetError<'MGMT_REPLY'> {
  constructor(
    readonly status: number,
    /** A string is sent as text/plain unless `json`; anything else as JSON. */
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly json = false,
  ) {
    super(errorCode('MGMT', 'REPLY'), typeof body === 'string' ? body.trim() : `HTTP ${status}`);
    this.name = 'RestError';
  }
}

export function notFound(text = NOT_FOUND_TEXT): RestError {
  return new RestError(404, text);
}

/** ns_server's field-error reply: `{"errors":{field: message}}`, 400 unless told. */
export function fieldErrors(errors: Readonly<Record<string, string>>, status = 400): RestError {
  return new RestError(status, { errors });
}

/** ns_server's `reply_json(Req, <<"message">>, Status)`: a JSON string body. */
export function jsonMessage(status: number, message: string): RestError {
  return new RestError(status, message, {}, true);
}

export function forbidden(permission: string): RestError {
  return new RestError(403, { message: 'Forbidden. User needs the following permissions', permissions: [permission] });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A pre-serialized JSON document (configs are built as text once and shared). */
export function sendJsonText(res: ServerResponse, text: string): void {
  res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A body of any type (the console's static files); `headers` may override the defaults. */
export function sendBytes(res: ServerResponse, status: number, body: Buffer, headers: Readonly<Record<string, string>>): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Length': body.length, ...headers });
  res.end(body);
}

/** An empty reply (201/202 with a Location, 401 challenge). */
export function sendEmpty(res: ServerResponse, status: number, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Length': 0, ...headers });
  res.end();
}

export function sendError(res: ServerResponse, err: RestError): void {
  if (typeof err.body === 'string' && !err.json) sendText(res, err.status, err.body, err.headers);
  else if (err.body === undefined) sendEmpty(res, err.status, err.headers);
  else sendJson(res, err.status, err.body, err.headers);
}

/** Headers a streaming reply starts with (ns_server `handle_streaming`: chunked JSON). */
export function streamingHeaders(): Record<string, string> {
  return { ...BASE_HEADERS, 'Content-Type': 'application/json; charset=utf-8' };
}

/**
 * The address the client connected to, as ns_server's `local_addr`: IPv6 in brackets, and an
 * IPv4-mapped address given as plain IPv4 (what a client dialling 127.0.0.1 expects back).
 */
export function localAddr(req: IncomingMessage): string {
  let addr = req.socket.localAddress ?? '127.0.0.1';
  if (addr.startsWith('::ffff:') && addr.includes('.')) addr = addr.slice('::ffff:'.length);
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** ns_server's reply to a body larger than it accepts. */
const REST_BODY_ERRORS: Pick<BodyErrors, 'tooLarge'> = {
  tooLarge: () => new RestError(413, 'Request body too large.\r\n', { Connection: 'close' }),
};

/** Read the whole body, refusing more than MAX_BODY_BYTES with 413 (src/web/body.ts). */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return readWebBody(req, limit, REST_BODY_ERRORS);
}

/**
 * A parsed form. Its values are text, as URLSearchParams decodes them; `notUtf8` names the
 * fields whose bytes, once percent-decoded, were not valid UTF-8 (their text has U+FFFD in the
 * bad bytes' place). ns_server's `parse_post` keeps the bytes and checks them where it matters
 * (a password must be valid UTF-8, menelaus_web_rbac `verify_utf8`).
 */
export class Form extends URLSearchParams {
  constructor(
    pairs: readonly (readonly [string, string])[],
    readonly notUtf8: ReadonlySet<string>,
  ) {
    super(pairs.map(([k, v]): [string, string] => [k, v]));
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** One form component's bytes: '+' is a space, `%XX` a byte, anything else itself. */
function formBytes(part: string): Buffer {
  const out = Buffer.alloc(part.length);
  let n = 0;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c === 0x25 && i + 2 < part.length && /^[0-9A-Fa-f]{2}$/.test(part.slice(i + 1, i + 3))) {
      out[n++] = parseInt(part.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c === 0x2b ? 0x20 : c;
    }
  }
  return out.subarray(0, n);
}

/** Parse an urlencoded body as URLSearchParams does, noting the fields that are not UTF-8. */
export function parseForm(body: Buffer): Form {
  const pairs: [string, string][] = [];
  const notUtf8 = new Set<string>();
  for (const part of body.toString('latin1').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = formBytes(eq < 0 ? part : part.slice(0, eq)).toString('utf8');
    const valueBytes = formBytes(eq < 0 ? '' : part.slice(eq + 1));
    try {
      STRICT_UTF8.decode(valueBytes);
    } catch {
      notUtf8.add(key);
    }
    pairs.push([key, valueBytes.toString('utf8')]);
  }
  return new Form(pairs, notUtf8);
}

/**
 * A form body, as ns_server's handlers read it (mochiweb_request `parse_post`): the body is parsed
 * only when it is application/x-www-form-urlencoded; any other type (a JSON body, say) is read
 * and counts as an empty form, so the handler's validators answer for the missing fields ("The
 * value must be supplied") rather than the request being refused for its type. A body without a
 * content type is read as a form, a leniency for hand-written scripts.
 */
export async function readForm(req: IncomingMessage): Promise<Form> {
  const body = await readBody(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/x-www-form-urlencoded') return parseForm(Buffer.alloc(0));
  return parseForm(body);
}

/** Form or query integer parameter: undefined when absent, a field error when not an integer in range. */
export function intParam(form: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = form.get(name);
  if (raw === null) return undefined;
  const text = raw.trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw fieldErrors({ [name]: `${name} must be an integer from ${min} to ${max}` });
  }
  return n;
}
