// Building multipart bodies byte for byte as CouchDB writes them, so that the
// CouchDB replicator (the main consumer) reads ours like its own.
//
// couch_httpd_multipart.erl encode_multipart_stream/5 (a document with
// attachments; no trailing CRLF after the closing `--`):
//   --IB\r\nContent-Type: application/json\r\n\r\n<json>\r\n--IB
//   \r\nContent-Disposition: attachment; filename="<name>"
//   \r\nContent-Type: <type>\r\nContent-Length: <len>[\r\nContent-Encoding: gzip]
//   \r\n\r\n<bytes>\r\n--IB            (once per attachment)
//   --
// A document without following attachments is just its JSON bytes with
// Content-Type application/json.
//
// chttpd_db.erl send_docs_multipart/3 (`open_revs` + Accept multipart/mixed):
//   --OB
//   \r\nContent-Type: <application/json | multipart/related; boundary="IB">\r\n\r\n<doc>\r\n--OB
//   \r\nContent-Type: application/json; error="true"\r\n\r\n{"missing":"<rev>"}\r\n--OB
//   --
// with one inner boundary shared by every revision. Boundaries are 32 hex
// characters, like couch_uuids:random().

import { randomBytes } from 'node:crypto';

export interface PartAttachment {
  name: string;
  contentType: string;
  data: Buffer;
  /** Set when `data` is encoded (e.g. `gzip`), as with att_encoding_info. */
  encoding?: string;
}

export interface MultipartBody {
  contentType: string;
  /** Write these in order; no concatenated copy of attachment data is made. */
  chunks: Buffer[];
  length: number;
}

export function randomBoundary(): string {
  return randomBytes(16).toString('hex');
}

function finish(contentType: string, chunks: Buffer[]): MultipartBody {
  return { contentType, chunks, length: chunks.reduce((n, c) => n + c.length, 0) };
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/**
 * One document with the attachments that follow it: `multipart/related`, or
 * plain JSON when there are none (encode_multipart_stream/5).
 */
export function buildRelated(
  json: string | Buffer,
  attachments: readonly PartAttachment[],
  boundary: string = randomBoundary(),
): MultipartBody {
  const jsonBytes = typeof json === 'string' ? text(json) : json;
  if (attachments.length === 0) return finish('application/json', [jsonBytes]);
  const chunks: Buffer[] = [text(`--${boundary}\r\nContent-Type: application/json\r\n\r\n`), jsonBytes, text(`\r\n--${boundary}`)];
  for (const att of attachments) {
    let head = `\r\nContent-Disposition: attachment; filename="${att.name}"`;
    head += `\r\nContent-Type: ${att.contentType}`;
    head += `\r\nContent-Length: ${att.data.length}`;
    if (att.encoding !== undefined && att.encoding !== 'identity') head += `\r\nContent-Encoding: ${att.encoding}`;
    chunks.push(text(head + '\r\n\r\n'), att.data, text(`\r\n--${boundary}`));
  }
  chunks.push(text('--'));
  return finish(`multipart/related; boundary="${boundary}"`, chunks);
}

/** `error`: the JSON text of a revision that cannot be returned (`{"error":{…}}`), sent as an error part. */
export type OpenRevsEntry = { ok: { json: string | Buffer; attachments: readonly PartAttachment[] } } | { missing: string } | { error: string };

/** An `open_revs` answer as `multipart/mixed` (send_docs_multipart/3). */
export function buildOpenRevsMixed(
  entries: readonly OpenRevsEntry[],
  outerBoundary: string = randomBoundary(),
  innerBoundary: string = randomBoundary(),
): MultipartBody {
  const chunks: Buffer[] = [text(`--${outerBoundary}`)];
  for (const entry of entries) {
    if ('missing' in entry || 'error' in entry) {
      const json = 'error' in entry ? entry.error : JSON.stringify({ missing: entry.missing });
      chunks.push(text(`\r\nContent-Type: application/json; error="true"\r\n\r\n${json}\r\n--${outerBoundary}`));
      continue;
    }
    const inner = buildRelated(entry.ok.json, entry.ok.attachments, innerBoundary);
    chunks.push(text(`\r\nContent-Type: ${inner.contentType}\r\n\r\n`), ...inner.chunks, text(`\r\n--${outerBoundary}`));
  }
  chunks.push(text('--'));
  return finish(`multipart/mixed; boundary="${outerBoundary}"`, chunks);
}

/** One revision of a `_bulk_get` answer: a document (with the attachments that follow it) or an error object. */
export type BulkGetPart = { ok: { id: string; rev: string; json: string; attachments: readonly PartAttachment[] } } | { error: Record<string, unknown> };

/**
 * A `_bulk_get` answer as multipart (chttpd_db bulk_get_ret_multipart and
 * send_docs_multipart_bulk_get): `mixed` picks multipart/mixed over multipart/related. Boundaries
 * are `--` + 32 hex (bulk_get_multipart_boundary), so delimiter lines start with four dashes.
 *   \r\n--OB\r\nContent-Type: application/json\r\n\r\n<json>                 (no attachment follows)
 *   \r\n--OB\r\nX-Doc-Id: <id>\r\nX-Rev-Id: <rev>\r\nContent-Type: multipart/related; boundary=IB
 *     \r\n\r\n<encode_multipart_stream with IB>                              (attachments follow)
 *   \r\n--OB\r\nContent-Type: application/json; error="true"\r\n\r\n<error>  (an error)
 *   \r\n--OB--\r\n                                                             (only after a part)
 */
export function buildBulkGetMultipart(parts: readonly BulkGetPart[], mixed: boolean, outerBoundary: string = `--${randomBoundary()}`): MultipartBody {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('error' in part) {
      chunks.push(text(`\r\n--${outerBoundary}\r\nContent-Type: application/json; error="true"\r\n\r\n${JSON.stringify(part.error)}`));
      continue;
    }
    const { id, rev, json, attachments } = part.ok;
    if (attachments.length === 0) {
      chunks.push(text(`\r\n--${outerBoundary}\r\nContent-Type: application/json\r\n\r\n`), text(json));
      continue;
    }
    const inner = `--${randomBoundary()}`;
    const related = buildRelated(json, attachments, inner);
    chunks.push(text(`\r\n--${outerBoundary}\r\nX-Doc-Id: ${id}\r\nX-Rev-Id: ${rev}\r\nContent-Type: multipart/related; boundary=${inner}\r\n\r\n`), ...related.chunks);
  }
  if (parts.length > 0) chunks.push(text(`\r\n--${outerBoundary}--\r\n`));
  return finish(`${mixed ? 'multipart/mixed' : 'multipart/related'}; boundary="${outerBoundary}"`, chunks);
}
