/**
 * Splitting a DCP value that carries extended attributes (datatype bit 0x04) back into Freshet's
 * stored form: the xattrs as one JSON object's bytes (engine Item.xattrs) and the body.
 * The inverse of src/dcp/xattr-blob.ts; layout from kv docs/Document.md "Extended attributes":
 *
 *   u32 total length of the pairs that follow (network order, excluding these 4 bytes)
 *   repeated: u32 length of (key + NUL + value + NUL), key, 0x00, value (JSON text), 0x00
 *
 * Each value is already JSON text, so the object is rebuilt by concatenation, which keeps the
 * members' order and text exactly as the producer sent them.
 */

export class XattrBlobError extends Error {
  readonly code = 'XATTR_BLOB_INVALID';
}

export interface SplitValue {
  readonly xattrs: Buffer | null;
  readonly body: Buffer;
}

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
