/**
 * HTTP byte ranges of an attachment (RFC 9110 §14), as CouchDB serves them: one range is a 206 with
 * `Content-Range`, two to nine a `multipart/byteranges` 206, anything else the whole attachment
 * (chttpd_db:db_attachment_req/3, chttpd:parse_ranges/2 over mochiweb's parse_range_request/1).
 *
 * - `bytes=A-B`, `bytes=A-` (to the end), `bytes=-N` (the last N bytes); an end past the length is
 *   the last byte.
 * - A malformed header, or `bytes=0-` alone, means the whole attachment (CouchDB's `undefined`).
 * - An end before its start, or a start at or past the length, is 416
 *   `requested_range_not_satisfiable`.
 */
import { randomBytes } from 'node:crypto';
import { CouchError } from './errors.js';

export type ByteRange = readonly [from: number, to: number];

/** CouchDB answers with the whole attachment for ten ranges or more. */
const MAX_RANGES = 9;

/** The ranges `header` asks of a `length`-byte body, or null for the whole of it. */
export function parseByteRanges(header: string | undefined, length: number): ByteRange[] | null {
  if (header === undefined) return null;
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return null;
  const specs = m[1]!.split(',').map((s) => s.trim());
  const out: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return null;
    const from = r[1] === '' ? null : Number(r[1]);
    const to = r[2] === '' ? null : Number(r[2]);
    if (from === 0 && to === null && specs.length === 1) return null;
    if (from !== null && to !== null && to < from) throw new CouchError('range_not_satisfiable');
    const start = from === null ? Math.max(0, length - to!) : from;
    const end = from === null || to === null || to >= length ? length - 1 : to;
    if (start >= length || end < start) throw new CouchError('range_not_satisfiable');
    out.push([start, end]);
  }
  return out.length > MAX_RANGES ? null : out;
}

/** `bytes A-B/LEN`. */
export function contentRange([from, to]: ByteRange, length: number): string {
  return `bytes ${from}-${to}/${length}`;
}

/** A `multipart/byteranges` body of `ranges` of `data`, and its Content-Type. */
export function byteRangesBody(data: Buffer, ranges: readonly ByteRange[], contentType: string): { body: Buffer; contentType: string } {
  const boundary = randomBytes(16).toString('hex');
  const parts: Buffer[] = [];
  for (const range of ranges) {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(range, data.length)}\r\n\r\n`));
    parts.push(data.subarray(range[0], range[1] + 1));
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/byteranges; boundary=${boundary}` };
}
