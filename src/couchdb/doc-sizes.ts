/**
 * The bytes a CouchDB document holds outside its engine record, for `GET /{db}` sizes
 * (engine/doc-counts.ts `OutsideBytes`): its attachments, whose bytes live in `couch_att` by
 * digest (db.ts) while the record's xattrs list them (doc-store.ts `_sync.atts`). CouchDB adds
 * each attachment's length to a document's external size (couch_db_updater, couch_att).
 *
 * Read from the record in place, during the counting scan: only records whose xattrs mention
 * attachments are parsed.
 */
import { recordKeyEnd, recordValueStart } from '../engine/record.js';

const ATTS = Buffer.from('"atts":[');

/** `OutsideBytes` for the counting scan: the attachments listed in a record's xattrs. */
export function attachmentBytes(record: Buffer, size: number): number {
  return attachmentBytesIn(record, recordKeyEnd(record), Math.min(recordValueStart(record), size));
}

/** A stored document's size for its partition (partition-size.ts): its body and attachments. */
export function storedDocBytes(item: { readonly value: Buffer; readonly xattrs: Buffer | null }): number {
  return item.value.length + (item.xattrs ? attachmentBytesIn(item.xattrs, 0, item.xattrs.length) : 0);
}

/** The lengths of `_sync.atts` in the xattrs JSON at `bytes[start, end)`. */
function attachmentBytesIn(bytes: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  // Searched within the xattrs only: a record read in place sits in lmdb-js's large shared buffer.
  if (bytes.subarray(start, end).indexOf(ATTS) < 0) return 0;
  let xattrs: unknown;
  try {
    xattrs = JSON.parse(bytes.toString('utf8', start, end));
  } catch {
    return 0; // not ours to judge here: the document's own reads report a broken record
  }
  const sync = typeof xattrs === 'object' && xattrs !== null ? (xattrs as Record<string, unknown>)._sync : undefined;
  const atts = typeof sync === 'object' && sync !== null ? (sync as Record<string, unknown>).atts : undefined;
  if (!Array.isArray(atts)) return 0;
  let total = 0;
  for (const a of atts) {
    const length = typeof a === 'object' && a !== null ? (a as Record<string, unknown>).length : undefined;
    if (typeof length === 'number' && Number.isSafeInteger(length) && length > 0) total += length;
  }
  return total;
}
