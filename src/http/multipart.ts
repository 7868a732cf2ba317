/**
 * MIME multipart bodies (RFC 2046 §5.1) as CouchDB uses them (couch-replication.md §3.6):
 *
 * - request `multipart/related`: `PUT /{db}/{doc}[?new_edits=false]`, the JSON document first,
 *   then one part per `"follows": true` attachment, in `_attachments` order;
 * - response `multipart/mixed`: `GET …?open_revs=…` with `Accept: multipart/mixed`, one part per
 *   revision; a revision with attachment data is itself a nested `multipart/related` part;
 * - response `multipart/related`: `GET /{db}/{doc}?attachments=true` with that Accept.
 *
 * Bodies are buffered whole (requests are bounded by `maxBodyBytes`), which keeps the parser a
 * plain search for the delimiter.
 */
import { randomBytes } from 'node:crypto';
import { CouchError } from '../couch/errors.js';

export interface MimePart {
  headers: Record<string, string>;
  body: Buffer;
}

function invalid(detail: string): CouchError {
  return new CouchError('multipart_invalid', { params: { detail } });
}

/** The `boundary` parameter of a multipart Content-Type. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw invalid('missing boundary');
  return boundary;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid(`bad part header "${line}"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function parseMultipart(body: Buffer, contentType: string): MimePart[] {
  const boundary = boundaryOf(contentType);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MimePart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw invalid('no boundary in body');
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // closing delimiter "--"
    // The rest of the delimiter line (transport padding) up to CRLF.
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw invalid('truncated part');
    const headerEnd = body.indexOf('\r\n\r\n', lineEnd);
    let headers: Record<string, string>;
    let start: number;
    if (body[lineEnd + 2] === 0x0d && body[lineEnd + 3] === 0x0a) {
      headers = {};
      start = lineEnd + 4;
    } else {
      if (headerEnd < 0) throw invalid('truncated part headers');
      headers = parseHeaders(body.subarray(lineEnd + 2, headerEnd).toString('utf8'));
      start = headerEnd + 4;
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start);
    if (next < 0) throw invalid('missing closing boundary');
    parts.push({ headers, body: body.subarray(start, next) });
    at = next + 2;
  }
}

/** The filename of a part's Content-Disposition, if any. */
export function partFilename(part: MimePart): string | undefined {
  const cd = part.headers['content-disposition'];
  if (!cd) return undefined;
  const m = /filename\*?=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(cd);
  const raw = m?.[1] ?? m?.[2];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw.replace(/^UTF-8''/i, ''));
  } catch {
    return raw;
  }
}

export function newBoundary(): string {
  return randomBytes(16).toString('hex');
}

/** Serialize parts into a multipart body with `boundary`. */
export function buildMultipart(boundary: string, parts: MimePart[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const head = Object.entries(part.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    chunks.push(Buffer.from(`--${boundary}\r\n${head}\r\n`), part.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--`));
  return Buffer.concat(chunks);
}

/**
 * A document and its attachment data as one `multipart/related` body: the JSON (whose
 * attachments with data are `follows: true` stubs) first, then each attachment in the JSON's
 * `_attachments` order.
 */
export function relatedBody(json: Record<string, unknown>, atts: Array<{ name: string; contentType: string; data: Buffer }>): { contentType: string; body: Buffer } {
  const boundary = newBoundary();
  const parts: MimePart[] = [{ headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(json)) }];
  for (const a of atts) {
    parts.push({
      headers: {
        'Content-Disposition': `attachment; filename="${a.name.replace(/["\\]/g, '\\$&')}"`,
        'Content-Type': a.contentType,
        'Content-Length': String(a.data.length),
      },
      body: a.data,
    });
  }
  return { contentType: `multipart/related; boundary="${boundary}"`, body: buildMultipart(boundary, parts) };
}
