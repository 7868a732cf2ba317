// Parsing MIME multipart bodies (RFC 2046 §5.1) as CouchDB peers send them:
//   - `multipart/related`: `PUT /{db}/{id}?new_edits=false` from the CouchDB
//     replicator; the first part is the JSON document, the next parts are the
//     bodies of its `"follows": true` attachments, in `_attachments` order
//     (couch_doc.erl doc_from_multi_part_stream/2, couch_httpd_multipart.erl);
//   - `multipart/mixed`: `GET /{db}/{id}?open_revs=…` answers, one part per
//     revision, a nested `multipart/related` when attachments follow, and
//     `Content-Type: application/json; error="true"` parts holding
//     `{"missing": rev}` (chttpd_db.erl send_docs_multipart/3; spec §3.6).
// Binary-safe: bodies are zero-copy views of the input Buffer. Delimiters must
// be CRLF-prefixed; a boundary string inside content that is not followed by
// `--`, padding or CRLF is treated as content. Malformed input is a CouchError
// 400 (`bad_request`), a non-JSON document part a 415 as in CouchDB.

import { parseCheckedJson } from '../codec/json-check.js';
import { CouchError } from './errors.js';

export interface ContentType {
  /** Lowercased `type/subtype`. */
  type: string;
  /** Parameters with lowercased names and unquoted values. */
  params: Record<string, string>;
}

export interface MultipartPart {
  /** Header names are lowercased; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

function invalid(detail: string): CouchError {
  return new CouchError('multipart_invalid', { params: { detail } });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a Content-Type header value (RFC 9110 §8.3.1). */
export function parseContentType(header: string): ContentType {
  const semi = header.indexOf(';');
  const type = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let rest = semi < 0 ? '' : header.slice(semi + 1);
  while (rest.trim() !== '') {
    const eq = rest.indexOf('=');
    if (eq < 0) break;
    const name = rest.slice(0, eq).trim().toLowerCase();
    rest = rest.slice(eq + 1).trimStart();
    let value: string;
    if (rest.startsWith('"')) {
      let i = 1;
      value = '';
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === '\\' && i + 1 < rest.length) i++;
        value += rest[i++];
      }
      rest = rest.slice(i + 1);
      const next = rest.indexOf(';');
      rest = next < 0 ? '' : rest.slice(next + 1);
    } else {
      const next = rest.indexOf(';');
      value = (next < 0 ? rest : rest.slice(0, next)).trim();
      rest = next < 0 ? '' : rest.slice(next + 1);
    }
    if (name !== '' && TOKEN.test(name)) params[name] = value;
  }
  return { type, params };
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (text === '') return headers;
  const lines: string[] = [];
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) {
      lines[lines.length - 1] += ' ' + line.trim();
    } else {
      lines.push(line);
    }
  }
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid(`malformed part header ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

const CRLF = Buffer.from('\r\n');

/**
 * Whether the `delimiter` found at `at` is a real one: followed by `--` (the
 * closing delimiter), or by optional padding and CRLF. `next` is the offset
 * after it. `at` is -2 for a delimiter opening the body without its CRLF.
 */
function delimiterAt(body: Buffer, delimiter: Buffer, at: number): { at: number; close: boolean; next: number } | null {
  let i = at + delimiter.length;
  if (body[i] === 0x2d && body[i + 1] === 0x2d) return { at, close: true, next: i + 2 };
  while (body[i] === 0x20 || body[i] === 0x09) i++;
  if (body[i] === 0x0d && body[i + 1] === 0x0a) return { at, close: false, next: i + 2 };
  if (i >= body.length) throw invalid('truncated boundary');
  return null;
}

/**
 * Finds the next delimiter (`CRLF--boundary` followed by `--`, or by optional
 * padding and CRLF) at or after `from`. Returns its offset (of the CRLF) and
 * whether it is the closing delimiter.
 */
function nextDelimiter(body: Buffer, delimiter: Buffer, from: number): { at: number; close: boolean; next: number } {
  let search = from;
  for (;;) {
    const at = body.indexOf(delimiter, search);
    if (at < 0) throw invalid('missing closing boundary');
    const found = delimiterAt(body, delimiter, at);
    if (found !== null) return found;
    search = at + 1;
  }
}

/** Splits a multipart body into parts (views of `body`, which is never copied). */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const ct = parseContentType(contentType);
  if (!ct.type.startsWith('multipart/')) throw invalid(`not a multipart content type: ${ct.type}`);
  const boundary = ct.params.boundary;
  if (boundary === undefined || boundary.length === 0 || boundary.length > 200) throw invalid('missing boundary');
  const delimiter = Buffer.concat([CRLF, Buffer.from(`--${boundary}`, 'latin1')]);
  // The first delimiter may open the body without a CRLF (no preamble): read it as if the body
  // started with one, at offset -2.
  const opens = body.subarray(0, delimiter.length - CRLF.length).equals(delimiter.subarray(CRLF.length));
  let cursor = (opens ? delimiterAt(body, delimiter, -CRLF.length) : null) ?? nextDelimiter(body, delimiter, 0);
  const parts: MultipartPart[] = [];
  while (!cursor.close) {
    const start = cursor.next;
    cursor = nextDelimiter(body, delimiter, start - 2);
    // `start - 2` lets an empty part's delimiter reuse the CRLF ending its headers.
    const raw = body.subarray(start, Math.max(start, cursor.at));
    let headerEnd: number;
    let bodyStart: number;
    if (raw.length === 0) {
      headerEnd = 0;
      bodyStart = 0;
    } else if (raw[0] === 0x0d && raw[1] === 0x0a) {
      headerEnd = 0;
      bodyStart = 2;
    } else {
      headerEnd = raw.indexOf('\r\n\r\n');
      if (headerEnd < 0) throw invalid('part without a blank line after its headers');
      bodyStart = headerEnd + 4;
    }
    const headers = parseHeaders(raw.subarray(0, headerEnd).toString('latin1'));
    parts.push({ headers, body: raw.subarray(bodyStart) });
  }
  return parts;
}

function partType(part: MultipartPart): ContentType {
  return parseContentType(part.headers['content-type'] ?? '');
}

/** A JSON part, under the same admission check as a JSON body (codec/json-check.ts). */
function parseJsonPart(part: MultipartPart, maxDepth: number): unknown {
  const checked = parseCheckedJson(part.body, maxDepth);
  if (checked.ok) return checked.value;
  if (checked.failure === 'depth') throw new CouchError('json_too_deep', { params: { limit: maxDepth } });
  throw new CouchError('invalid_json');
}

/** The replicator's reading of a peer's answers applies no nesting limit (it did not before). */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export interface RelatedDocument {
  doc: Record<string, unknown>;
  /** Bodies of the `follows: true` attachments, by name. */
  followsData: Map<string, Buffer>;
}

/**
 * A `multipart/related` document: JSON first, then one part per
 * `"follows": true` attachment, matched by order as CouchDB does.
 */
export function parseRelatedDocument(body: Buffer, contentType: string, maxDepth: number = NO_LIMIT): RelatedDocument {
  const parts = parseMultipart(body, contentType);
  if (parts.length === 0) throw invalid('no document part');
  if (partType(parts[0]).type !== 'application/json') {
    throw new CouchError('bad_content_type', { params: { type: 'application/json' } });
  }
  const doc = parseJsonPart(parts[0], maxDepth);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CouchError('not_an_object');
  const followsData = new Map<string, Buffer>();
  const atts = (doc as Record<string, unknown>)._attachments;
  if (typeof atts === 'object' && atts !== null && !Array.isArray(atts)) {
    let next = 1;
    for (const [name, meta] of Object.entries(atts as Record<string, unknown>)) {
      if (typeof meta !== 'object' || meta === null || (meta as Record<string, unknown>).follows !== true) continue;
      if (next >= parts.length) throw new CouchError('attachment_too_short');
      followsData.set(name, parts[next++].body);
    }
  }
  return { doc: doc as Record<string, unknown>, followsData };
}

export type OpenRevsPart = ({ ok: Record<string, unknown> } & { followsData: Map<string, Buffer> }) | { missing: string };

/** An `open_revs` answer sent as `multipart/mixed`. */
export function parseOpenRevsMixed(body: Buffer, contentType: string): OpenRevsPart[] {
  return parseMultipart(body, contentType).map((part): OpenRevsPart => {
    const ct = partType(part);
    const headerValue = part.headers['content-type'] ?? '';
    if (ct.type === 'multipart/related') {
      const related = parseRelatedDocument(part.body, headerValue);
      return { ok: related.doc, followsData: related.followsData };
    }
    if (ct.type !== 'application/json') throw invalid(`unexpected part type ${ct.type}`);
    const json = parseJsonPart(part, NO_LIMIT);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CouchError('not_an_object');
    const obj = json as Record<string, unknown>;
    if (ct.params.error === 'true' && typeof obj.missing === 'string') return { missing: obj.missing };
    return { ok: obj, followsData: new Map() };
  });
}

export type ParsedBulkGetPart = ({ ok: Record<string, unknown> } & { followsData: Map<string, Buffer> }) | { error: Record<string, unknown> };

/**
 * A `_bulk_get` answer sent as multipart (chttpd_db send_docs_multipart_bulk_get): one part per
 * revision, `application/json` (no attachment follows), `multipart/related` (the document and its
 * attachment parts, as stored: `encoding` in the JSON says which are gzip), or
 * `application/json; error="true"` holding `{id?, rev, error, reason}`. CouchDB versions that send
 * a document whose attachments are all stubs as bare JSON under a `multipart/related` header are
 * read as JSON too.
 */
export function parseBulkGetMultipart(body: Buffer, contentType: string): ParsedBulkGetPart[] {
  return parseMultipart(body, contentType).map((part): ParsedBulkGetPart => {
    const ct = partType(part);
    if (ct.type === 'multipart/related' && !/^\s*\{/.test(part.body.subarray(0, 64).toString('latin1'))) {
      const related = parseRelatedDocument(part.body, part.headers['content-type'] ?? '');
      return { ok: related.doc, followsData: related.followsData };
    }
    if (ct.type !== 'application/json' && ct.type !== 'multipart/related') throw invalid(`unexpected part type ${ct.type}`);
    const json = parseJsonPart(part, NO_LIMIT);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CouchError('not_an_object');
    const obj = json as Record<string, unknown>;
    return ct.params.error === 'true' ? { error: obj } : { ok: obj, followsData: new Map() };
  });
}
