/**
 * Single-path sub-document commands 0xc5-0xcf, 0xd2, 0xd3 (SUBDOC_GET, EXISTS, DICT_ADD,
 * DICT_UPSERT, DELETE, REPLACE, ARRAY_PUSH_LAST/FIRST, ARRAY_INSERT, ARRAY_ADD_UNIQUE, COUNTER,
 * GET_COUNT, REPLACE_BODY_WITH_XATTR). Source: kv docs/SubDocument.md "Wire Protocol Format",
 * daemon/subdocument_validators.cc, include/memcached/protocol_binary.h (SubdocPayloadParser).
 *
 * Request:
 *   extras (3, 4, 7 or 8 bytes): path length u16, path flags u8, [expiry u32 (mutations)],
 *                                [doc flags u8]
 *   key: the document key; value: path, then the operation's value (if any)
 * Response: extras = 16-byte mutation token (mutations, with HELLO MutationSeqno); value = the
 * path's JSON (GET), the new number (COUNTER) or the count (GET_COUNT); CAS in the header.
 *
 * The path and doc flag bits are shared with the multi-path commands (subdoc-multi.ts).
 */
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, layoutError, toBuffer, type Bytes } from '../layout.js';
import { makeRequest, type Packet, type PacketInit } from '../packet.js';

/** Path flags (cb::mcbp::subdoc::PathFlag). */
export const SubdocPathFlag = { MkdirP: 0x01, XattrPath: 0x04, ExpandMacros: 0x10 } as const;
/** Document flags (cb::mcbp::subdoc::DocFlag). */
export const SubdocDocFlag = { Mkdoc: 0x01, Add: 0x02, AccessDeleted: 0x04, CreateAsDeleted: 0x08, ReviveDocument: 0x10, ReplicaRead: 0x20 } as const;

/** Longest path a request may carry (SUBDOC_PATH_MAX_LENGTH); longer is EINVAL. */
export const SUBDOC_PATH_MAX_LENGTH = 1024;

export const SUBDOC_LOOKUP_OPCODES: readonly number[] = [Opcode.SubdocGet, Opcode.SubdocExists, Opcode.SubdocGetCount];
export const SUBDOC_MUTATION_OPCODES: readonly number[] = [
  Opcode.SubdocDictAdd,
  Opcode.SubdocDictUpsert,
  Opcode.SubdocDelete,
  Opcode.SubdocReplace,
  Opcode.SubdocArrayPushLast,
  Opcode.SubdocArrayPushFirst,
  Opcode.SubdocArrayInsert,
  Opcode.SubdocArrayAddUnique,
  Opcode.SubdocCounter,
  Opcode.SubdocReplaceBodyWithXattr,
];

export interface SubdocRequest {
  readonly opcode: number;
  readonly key: Bytes;
  readonly path: Bytes;
  readonly value?: Bytes;
  readonly pathFlags?: number;
  readonly docFlags?: number;
  /** Mutations only. */
  readonly expiry?: number;
  readonly cas?: bigint;
  readonly vbucket?: number;
}

export interface DecodedSubdocRequest {
  readonly key: Buffer;
  readonly path: Buffer;
  readonly value: Buffer;
  readonly pathFlags: number;
  readonly docFlags: number;
  /** Undefined when the request carried none. */
  readonly expiry: number | undefined;
}

export function encodeSubdocRequest(req: SubdocRequest, init: PacketInit = {}): Packet {
  const path = toBuffer(req.path);
  const w = new BufferWriter(8).u16(path.length).u8(req.pathFlags ?? 0);
  if (req.expiry !== undefined) w.u32(req.expiry);
  if (req.docFlags !== undefined) w.u8(req.docFlags);
  return makeRequest(req.opcode, {
    vbucket: req.vbucket ?? 0,
    cas: req.cas ?? 0n,
    ...init,
    extras: w.toBuffer(),
    key: toBuffer(req.key),
    value: Buffer.concat([path, toBuffer(req.value)]),
  });
}

export function decodeSubdocRequest(p: Packet): DecodedSubdocRequest {
  expectOpcode(p, ...SUBDOC_LOOKUP_OPCODES, ...SUBDOC_MUTATION_OPCODES);
  const mutation = SUBDOC_MUTATION_OPCODES.includes(p.opcode);
  if (mutation) expectExtras(p, 3, 4, 7, 8);
  else expectExtras(p, 3, 4);
  expectKey(p, true);
  const e = p.extras;
  const pathLength = e.readUInt16BE(0);
  if (pathLength > SUBDOC_PATH_MAX_LENGTH) throw layoutError(p, `path of ${pathLength} bytes; the limit is ${SUBDOC_PATH_MAX_LENGTH}`);
  if (pathLength > p.value.length) throw layoutError(p, `path length ${pathLength} exceeds the ${p.value.length}-byte value`);
  return {
    key: p.key,
    path: p.value.subarray(0, pathLength),
    value: p.value.subarray(pathLength),
    pathFlags: e[2]!,
    expiry: e.length >= 7 ? e.readUInt32BE(3) : undefined,
    docFlags: e.length === 4 ? e[3]! : e.length === 8 ? e[7]! : 0,
  };
}
