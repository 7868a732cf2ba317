/**
 * Datatype bits (header byte 5). Source: kv include/mcbp/protocol/datatype.h,
 * docs/BinaryProtocol.md "Data Types"; dcp.md §1.3.
 *
 * No bit set means raw bytes. A server may only set bits the client negotiated with
 * HELLO (JSON 0x0b, SNAPPY 0x0a, XATTR 0x06). In DCP the bits describe the payload as
 * transmitted, not the stored document (kv dcp commands/mutation.md).
 */

export const DATATYPE_TABLE = [
  { bit: 0x01, name: 'Json' },
  { bit: 0x02, name: 'Snappy' },
  { bit: 0x04, name: 'Xattr' },
] as const;

export type DatatypeName = (typeof DATATYPE_TABLE)[number]['name'];

export const Datatype = {
  Raw: 0x00,
  Json: 0x01,
  Snappy: 0x02,
  Xattr: 0x04,
} as const;

/** Mask of all defined bits; anything outside is invalid on the wire. */
export const DATATYPE_MASK = 0x07;

export function isValidDatatype(dt: number): boolean {
  return Number.isInteger(dt) && dt >= 0 && (dt & ~DATATYPE_MASK) === 0;
}

export function hasJson(dt: number): boolean {
  return (dt & Datatype.Json) !== 0;
}

export function hasSnappy(dt: number): boolean {
  return (dt & Datatype.Snappy) !== 0;
}

export function hasXattr(dt: number): boolean {
  return (dt & Datatype.Xattr) !== 0;
}

/** Names of the bits set, for logs: 0x03 -> ['Json', 'Snappy']. */
export function datatypeNames(dt: number): DatatypeName[] {
  return DATATYPE_TABLE.filter((d) => (dt & d.bit) !== 0).map((d) => d.name);
}
