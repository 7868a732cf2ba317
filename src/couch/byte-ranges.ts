/**
 * HTTP byte ranges of an attachment (RFC 9110 §14), as CouchDB serves them: one range is a 206 with
 * `Content-Range`, two to nine a `multipart/byteranges` 206, anything else the whole attachment
 * (chttpd_db:db_attachment_req/3 and parse_ranges/2 over mochiweb_util:parse_range_request/1).
 *
 * - The header is `bytes=` and comma-separated ranges; blank ones are dropped (mochiweb's
 *   string:tokens). `A-B`, `A-` (to the end), `-N` (the last N bytes); an end past the length is
 *   the last byte. Anything else makes the header malformed: the whole attachment.
 * - The ranges are read in order, as parse_ranges/3 does: a `0-` among them means the whole
 *   attachment (`bytes=0-,0-,0-` too, attachment_ranges_test), unless a range before it was
 *   unsatisfiable; an end before its start, or a start at or past the length, is 416
 *   `requested_range_not_satisfiable`.
 */
import { randomBytes } from 'node:crypto';
import { CouchError } from './errors.js';

export type ByteRange = readonly [from: number, to: number];

/** CouchDB answers with the whole attachment for ten ranges or more. */
const MAX_RANGES = 9;

/** One range of mochiweb_util:parse_range_request/1: [from, to], either side null when absent; undefined when malformed. */
function parseSpec(spec: string): [number | null, number | null] | undefined {
  const r = /^(\d*)-(\d*)$/.exec(spec);
  if (!r || (r[1] === '' && r[2] === '')) return undefined;
  return [r[1] === '' ? null : Number(r[1]), r[2] === '' ? null : Number(r[2])];
}

/** The ranges `header` asks of a `length`-byte body, or null for the whole of it. */
export function parseByteRanges(header: string | undefined, length: number): ByteRange[] | null {
  if (header === undefined) return null;
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return null;
  const specs: Array<[number | null, number | null]> = [];
  for (const token of m[1]!.split(',')) {
    if (token.trim() === '') continue;
    const spec = parseSpec(token.trim());
    if (!spec) return null;
    specs.push(spec);
  }
  const out: ByteRange[] = [];
  for (const [from, to] of specs) {
    if (from === 0 && to === null) return null;
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

/**
 * A `multipart/byteranges` body of `ranges` of `data`, and its Content-Type, framed byte for byte
 * as chttpd_db:send_ranges_multipart/5 frames it: `--B`, then per range its headers, a blank line,
 * the bytes and `\r\n--B`, then `--`; the boundary is quoted in the Content-Type.
 */
export function byteRangesBody(data: Buffer, ranges: readonly ByteRange[], contentType: string): { body: Buffer; contentType: string } {
  const boundary = randomBytes(16).toString('hex');
  const parts: Buffer[] = [Buffer.from(`--${boundary}`)];
  for (const range of ranges) {
    parts.push(Buffer.from(`\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(range, data.length)}\r\n\r\n`));
    parts.push(data.subarray(range[0], range[1] + 1));
    parts.push(Buffer.from(`\r\n--${boundary}`));
  }
  parts.push(Buffer.from('--'));
  return { body: Buffer.concat(parts), contentType: `multipart/byteranges; boundary="${boundary}"` };
}
