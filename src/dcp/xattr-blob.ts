/**
 * The xattr section kv_engine puts in front of a document body when a DCP connection was opened
 * with IncludeXattrs (datatype bit 0x04): kv docs/Document.md "Extended attributes" and
 * xattr/blob.cc.
 *
 *   u32 total length of the pairs that follow (network order, excluding these 4 bytes)
 *   repeated: u32 length of (key + NUL + value + NUL), key, 0x00, value (JSON text), 0x00
 *
 * Freshet keeps a document's system xattrs as one JSON object (engine Item.xattrs); each
 * top-level member becomes one pair. Anything that is not a JSON object yields no section, so a
 * consumer never receives a blob it cannot parse.
 *
 * System xattrs are the ones whose name starts with `_` (kv docs/Document.md); a deletion sent to
 * a connection without IncludeDeletedUserXattrs carries only those (active_stream.cc
 * `shouldModifyItem` strips user xattrs from deletions).
 */

/** Encode stored xattrs (a JSON object's bytes) as a kv xattr blob, or null when there are none. */
export function encodeXattrBlob(xattrs: Buffer | null, systemOnly = false): Buffer | null {
  if (xattrs === null || xattrs.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(xattrs.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const pairs: Buffer[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === undefined || (systemOnly && !key.startsWith('_'))) continue;
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(JSON.stringify(value), 'utf8');
    const pair = Buffer.allocUnsafe(4 + k.length + 1 + v.length + 1);
    pair.writeUInt32BE(k.length + 1 + v.length + 1, 0);
    k.copy(pair, 4);
    pair[4 + k.length] = 0;
    v.copy(pair, 5 + k.length);
    pair[pair.length - 1] = 0;
    pairs.push(pair);
    total += pair.length;
  }
  if (pairs.length === 0) return null;
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(total, 0);
  return Buffer.concat([head, ...pairs], 4 + total);
}
