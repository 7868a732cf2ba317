/**
 * The layout of the `_sync` summary at the front of a document's xattrs: the one home of the
 * bytes that doc-store.ts writes (`storeDoc`: `_sync` first, its scalar members in this order)
 * and that two readers parse without JSON.parse: doc-sync.ts `summaryFromPrefix` (text) and
 * changes-bytes.ts `readFastRow` (bytes of the record, the `_changes` hot path).
 *
 *   {"_sync":{"v":1,"rs":<rev seqno>,"rev":"<winner rev>","del":0|1,"nl":<leaves>,"tree":…
 *
 * Only an unconflicted document (`"nl":1`) whose `rs` equals the item's rev seqno (no KV write
 * since) is summarized; anything else takes the full path. test/couchdb/changes-bytes.test.ts
 * checks that the writer and both readers agree.
 */

export const SUMMARY_HEAD = '{"_sync":{"v":1,"rs":';
export const REV_KEY = '"rev":"';
/** What follows the rev's closing quote, for a live and a deleted single-leaf winner. */
export const TAIL_LIVE = '","del":0,"nl":1,';
export const TAIL_DELETED = '","del":1,"nl":1,';
/** Offset of the 0/1 of `del` in the tail. */
export const DEL_AT = 8;

/** Characters of the xattrs that hold the `_sync` summary (with room for long non-hex revs). */
export const SUMMARY_PREFIX_CHARS = 240;
