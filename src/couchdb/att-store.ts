/**
 * Attachment bytes, content-addressed by their CouchDB digest (`"md5-" + base64(md5(bytes))`,
 * couch-replication.md §3.6) in the database's `couch_att` side database (one per keyspace,
 * side-store.ts): the bytes as stored, gzip for a compressed attachment (couch/att-encoding.ts),
 * whose digest is that of the gzip bytes. Revisions only keep the
 * metadata (doc-store.ts `AttMeta`), so an attachment unchanged across revisions, documents or
 * conflicting branches is stored once.
 *
 * Bytes are written (and durable) before the revision that references them, so a reader never
 * finds metadata without data. Bytes no revision references any more are not collected yet: they
 * stay until the database is deleted.
 */
import { gunzipAttachment, isEncoded, md5Digest } from '../couch/att-encoding.js';
import type { AttachmentMeta } from '../couch/attachments.js';
import type { Db } from './db.js';

/** Store `data` under its digest (`digest`, when the caller already computed it). */
export async function putAttachmentData(db: Db, data: Buffer, digest = md5Digest(data)): Promise<string> {
  if (!db.atts.has(digest)) await db.atts.put(digest, data);
  return digest;
}

export function getAttachmentData(db: Db, digest: string): Buffer | undefined {
  const v = db.atts.get(digest);
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

/**
 * The identity bytes of an attachment: its stored bytes, gunzipped when it is stored compressed
 * (couch_att foldl_decode/3). Undefined when the bytes are missing.
 */
export function getIdentityData(db: Db, meta: AttachmentMeta): Buffer | undefined {
  const stored = getAttachmentData(db, meta.digest);
  if (stored === undefined || !isEncoded(meta.encoding)) return stored;
  return gunzipAttachment(meta.name, stored);
}
