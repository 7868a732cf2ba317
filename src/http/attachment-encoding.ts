/**
 * Content codings of standalone attachments (chttpd_db db_attachment_req), beside
 * attachment-routes.ts:
 *
 * - `GET|HEAD`: the client's `Accept-Encoding` decides (couch_httpd:accepted_encodings/1, mochiweb
 *   parse_qvalues/1 and pick_accepted_encodings/3 over `gzip, identity`; an invalid header is 400,
 *   one that refuses both 406 `not_acceptable`, whatever the attachment's encoding). A gzip-stored
 *   attachment goes out as stored, `Content-Encoding: gzip`, to a client that takes gzip, else
 *   gunzipped; its `Accept-Ranges` is `none` and a `Range` is not served (the whole body, 200).
 *   `Content-MD5` (the stored md5) only with the stored bytes. A gzip body PUT without its identity
 *   length (length = encoded length) is sent decoded without a Content-Length (chunked), as CouchDB
 *   does when it cannot know it.
 * - `PUT`: `Content-Encoding: gzip` marks the body as gzip, stored as it came (identity and gzip
 *   only, else 415); `Content-MD5` (or the trailer a chunked body announces in `Trailer`) is
 *   checked against the md5 of the body as sent (get_md5_header/1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inflateAttachment } from '../couch/att-encoding.js';
import type { AttachmentMeta } from '../couch/attachments.js';
import { CouchError } from '../couch/errors.js';
import { baseHeaders, sendBytes } from './response.js';

const SUPPORTED = ['gzip', 'identity'] as const;
const Q_VALUE = /^((?:0|1)(?:\.\d{1,3})?)$/;

/** mochiweb_util:parse_qvalues/1: `[coding, q]` pairs, or null for an invalid header. */
function parseQValues(header: string): Array<[string, number]> | null {
  const out: Array<[string, number]> = [];
  for (const pair of header.toLowerCase().split(',').filter((p) => p !== '')) {
    const [type, ...params] = pair.split(';').filter((p) => p !== '');
    if (type === undefined) return null;
    // extract_q/4: parameters up to `q` must be `name=value`; those after it are kept unread.
    let q = 1;
    const rest: string[] = [];
    const normalized = params.map((p) => p.replace(/\s/g, ''));
    for (let i = 0; i < normalized.length; i++) {
      const kv = /^([^=]+)=([^=]+)$/.exec(normalized[i]!);
      if (kv === null) return null;
      if (kv[1] !== 'q') {
        rest.push(normalized[i]!);
        continue;
      }
      if (!Q_VALUE.test(kv[2]!) || Number(kv[2]) > 1) return null;
      q = Number(kv[2]);
      rest.push(...normalized.slice(i + 1));
      break;
    }
    out.push([[type.replace(/^ +| +$/g, ''), ...rest].join(';'), q]);
  }
  return out;
}

/**
 * The codings among `gzip` and `identity` the request accepts (pick_accepted_encodings/3 with
 * identity as the default): 400 for an invalid `Accept-Encoding`, 406 when it refuses both.
 */
export function acceptedEncodings(req: IncomingMessage): string[] {
  const header = req.headers['accept-encoding'];
  const qvalues = parseQValues(typeof header === 'string' ? header : '');
  if (qvalues === null) throw new CouchError('bad_request');
  const accepted = qvalues.filter(([, q]) => q > 0).map(([e]) => e);
  const refused = new Set(qvalues.filter(([, q]) => q === 0).map(([e]) => e));
  if (refused.has('*')) for (const e of SUPPORTED) if (!accepted.includes(e)) refused.add(e);
  if (accepted.includes('*')) for (const e of SUPPORTED) if (!refused.has(e)) accepted.push(e);
  if (!accepted.includes('identity')) accepted.push('identity');
  const out = SUPPORTED.filter((e) => accepted.includes(e) && !refused.has(e));
  if (out.length === 0) throw new CouchError('unacceptable_encoding');
  return out;
}

/** A standalone PUT's Content-Encoding: `gzip`, or undefined for identity; 415 for anything else. */
export function requestEncoding(req: IncomingMessage): 'gzip' | undefined {
  const header = req.headers['content-encoding'];
  const enc = (typeof header === 'string' ? header : 'identity').trim().toLowerCase();
  if (enc === 'identity') return undefined;
  if (enc === 'gzip') return 'gzip';
  throw new CouchError('unsupported_content_encoding');
}

/**
 * The `md5-…` digest a standalone PUT asserts (get_md5_header/1): its Content-MD5 header, else,
 * for a chunked body that announced it in `Trailer`, the Content-MD5 trailer. Read after the body.
 */
export function requestMd5(req: IncomingMessage): string | undefined {
  const header = req.headers['content-md5'];
  const announced = /\bcontent-md5\b/i.test(String(req.headers.trailer ?? ''));
  const value = typeof header === 'string' ? header : announced ? req.trailers['content-md5'] : undefined;
  return value === undefined ? undefined : 'md5-' + Buffer.from(value, 'base64').toString('base64');
}

/**
 * Answer a GET of an attachment stored with `meta.encoding` (gzip): `stored` as it is to a client
 * that accepts it, else decoded (see the header).
 */
export async function sendEncodedAttachment(res: ServerResponse, meta: AttachmentMeta, stored: Buffer, etag: string, accepted: readonly string[]): Promise<void> {
  const headers: Record<string, string | number> = { ETag: etag, 'Content-Type': meta.contentType, 'Accept-Ranges': 'none' };
  if (accepted.includes(meta.encoding!)) {
    sendBytes(res, 200, stored, { ...headers, 'Content-Encoding': meta.encoding!, 'Content-MD5': meta.digest.slice(4) });
    return;
  }
  // Decoded on zlib's thread pool when large (couch/att-encoding.ts inflateAttachment).
  const identity = await inflateAttachment(meta.name, stored, meta.length);
  if (meta.length !== meta.encodedLength) {
    sendBytes(res, 200, identity, headers);
    return;
  }
  res.writeHead(200, baseHeaders(headers));
  res.end(res.req.method === 'HEAD' ? undefined : identity);
}
