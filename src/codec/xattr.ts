/**
 * The xattr section kv_engine puts in front of a document body when the datatype has bit 0x04
 * (a DCP connection opened with IncludeXattrs): kv docs/Document.md "Extended attributes" and
 * xattr/blob.cc. Encoder and decoder side by side; the DCP producer (src/dcp/messages.ts) encodes,
 * a replica (src/cluster/replica-items.ts) decodes.
 *
 *   u32 total length of the pairs that follow (network order, excluding these 4 bytes)
 *   repeated: u32 length of (key + NUL + value + NUL), key, 0x00, value (JSON text), 0x00
 *
 * Freshet keeps a document's xattrs as one JSON object (engine Item.xattrs); each top-level member
 * is one pair. Encoding: anything that is not a JSON object yields no section, so a consumer never
 * receives a blob it cannot parse. Decoding: each value is already JSON text, so the object is
 * rebuilt by concatenation, which keeps the members' order and text exactly as the producer sent
 * them.
 *
 * System xattrs are the ones whose name starts with `_` (kv docs/Document.md); a deletion sent to a
 * connection without IncludeDeletedUserXattrs carries only those (active_stream.cc
 * `shouldModifyItem` strips user xattrs from deletions): `systemOnly`.
 */
import { XattrBlobError } from './errors.js';
import { parseJson, stringify } from './json-tree.js';

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

export { XattrBlobError };

export interface SplitValue {
  readonly xattrs: Buffer | null;
  readonly body: Buffer;
}

/** Split a value with datatype bit 0x04 into the xattrs (a JSON object's bytes, or null) and the body. */
export function splitXattrValue(value: Buffer): SplitValue {
  if (value.length < 4) throw new XattrBlobError(`an xattr section needs 4 length bytes, the value has ${value.length}`);
  const total = value.readUInt32BE(0);
  if (4 + total > value.length) throw new XattrBlobError(`xattr section of ${total} bytes overruns a ${value.length}-byte value`);
  const members: string[] = [];
  let at = 4;
  while (at < 4 + total) {
    if (at + 4 > 4 + total) throw new XattrBlobError('truncated xattr pair length');
    const len = value.readUInt32BE(at);
    const start = at + 4;
    const end = start + len;
    if (len < 2 || end > 4 + total || value[end - 1] !== 0) throw new XattrBlobError(`malformed xattr pair at offset ${at}`);
    const nul = value.indexOf(0, start);
    if (nul < 0 || nul >= end - 1) throw new XattrBlobError(`xattr pair at offset ${at} has no key terminator`);
    const key = value.toString('utf8', start, nul);
    const json = value.toString('utf8', nul + 1, end - 1);
    members.push(`${JSON.stringify(key)}:${json}`);
    at = end;
  }
  const body = value.subarray(4 + total);
  return { xattrs: members.length === 0 ? null : Buffer.from(`{${members.join(',')}}`, 'utf8'), body };
}

/**
 * Stored xattrs without the user ones (names not starting with `_`): what a full-document write
 * or a delete keeps, since kv_engine carries only system xattrs over to the new version
 * (mutation_context.cc preserves the system xattrs of the replaced item; docs/SubDocument.md
 * "CMD_DELETE" drops user xattrs). The same buffer when there is nothing to drop.
 */
export function systemXattrsOnly(xattrs: Buffer | null): Buffer | null {
  if (xattrs === null || xattrs.length === 0) return xattrs;
  let tree;
  try {
    tree = parseJson(xattrs.toString('utf8'), -64);
  } catch {
    return xattrs;
  }
  if (!(tree instanceof Map)) return xattrs;
  const user = [...tree.keys()].filter((k) => !k.startsWith('_'));
  if (user.length === 0) return xattrs;
  for (const k of user) tree.delete(k);
  return tree.size === 0 ? null : Buffer.from(stringify(tree), 'utf8');
}
