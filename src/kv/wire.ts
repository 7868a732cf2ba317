/**
 * Wire bytes of the hottest replies, written straight into one buffer.
 *
 * A GET or SET reply built as a codec Packet and then run through `encodePacket` costs several
 * objects and buffers per request (the Packet, its extras writer, the encoded copy); on a pipelined
 * load that is most of the KV face's CPU time. These encoders produce exactly the bytes the codec
 * would (test/kv/wire.test.ts checks them against `encodePacket`) and are used only for successful
 * value and mutation replies with the classic response magic; everything else goes through the codec.
 *
 * Response header (kv docs/BinaryProtocol.md "Response header"; dcp.md §1.1):
 *   0 magic 0x81 | 1 opcode | 2-3 key length | 4 extras length | 5 datatype | 6-7 status
 *   8-11 total body length | 12-15 opaque | 16-23 CAS
 */
import { Magic } from '../codec/magic.js';

const HEADER = 24;

function header(out: Buffer, opcode: number, keyLength: number, extrasLength: number, datatype: number, bodyLength: number, opaque: number, cas: bigint): void {
  out[0] = Magic.ClientResponse;
  out[1] = opcode;
  out.writeUInt16BE(keyLength, 2);
  out[4] = extrasLength;
  out[5] = datatype;
  out.writeUInt16BE(0, 6); // status Success
  out.writeUInt32BE(bodyLength, 8);
  out.writeUInt32BE(opaque >>> 0, 12);
  out.writeBigUInt64BE(cas, 16);
}

/**
 * A successful GET/GETQ/GETK/GETKQ/GAT/GATQ reply: extras = 4-byte flags, then the key (GETK
 * variants only: pass an empty buffer otherwise), then the value.
 */
export function valueReply(opcode: number, opaque: number, cas: bigint, flags: number, datatype: number, key: Buffer, value: Buffer): Buffer {
  const body = 4 + key.length + value.length;
  const out = Buffer.allocUnsafe(HEADER + body);
  header(out, opcode, key.length, 4, datatype, body, opaque, cas);
  out.writeUInt32BE(flags >>> 0, HEADER);
  key.copy(out, HEADER + 4);
  value.copy(out, HEADER + 4 + key.length);
  return out;
}

/**
 * A successful mutation reply (SET/ADD/REPLACE/APPEND/PREPEND/DELETE): the new CAS, and the
 * 16-byte mutation token (vbucket uuid, seqno) when the client negotiated MUTATION_SEQNO.
 */
export function mutationReply(opcode: number, opaque: number, cas: bigint, token?: { vbUuid: number; seqno: number }): Buffer {
  const extras = token ? 16 : 0;
  const out = Buffer.allocUnsafe(HEADER + extras);
  header(out, opcode, 0, extras, 0, extras, opaque, cas);
  if (token) {
    out.writeBigUInt64BE(BigInt(token.vbUuid), HEADER);
    out.writeBigUInt64BE(BigInt(token.seqno), HEADER + 8);
  }
  return out;
}
