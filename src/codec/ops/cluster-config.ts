/**
 * GET_CLUSTER_CONFIG 0xb5 (CCCP) and the server push ClustermapChangeNotification
 * (magic 0x82, server opcode 0x01).
 * Source: kv docs/BinaryProtocol.md "0x01 Clustermap Change Notification"; dcp.md §2.2;
 * couchbase-sdk-bootstrap.md §3.5, §3.8.
 *
 * GET_CLUSTER_CONFIG request: no key, no value; extras empty or 16 bytes
 *   (epoch i64, revision i64) = "only reply with a newer map" (feature 0x1d).
 * Response: value = bucket (or global) config JSON, datatype JSON customary; an empty
 *   value when the known version is current.
 * Push: extras 4 = u32 revision; key = bucket name; value = config JSON. No reply.
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Datatype } from '../datatype.js';
import { Magic } from '../magic.js';
import { Opcode, ServerOpcode } from '../opcodes.js';
import { expectExtras, expectKey, expectOpcode, toBuffer, u32Buffer } from '../layout.js';
import type { Bytes } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export interface KnownConfigVersion {
  readonly epoch: number;
  readonly revision: number;
}

export function encodeGetClusterConfigRequest(known?: KnownConfigVersion, init: PacketInit = {}): Packet {
  const extras =
    known === undefined ? Buffer.alloc(0) : new BufferWriter(16).u64(known.epoch).u64(known.revision).toBuffer();
  return makeRequest(Opcode.GetClusterConfig, { ...init, extras });
}

export function decodeGetClusterConfigRequest(p: Packet): { readonly known?: KnownConfigVersion } {
  expectOpcode(p, Opcode.GetClusterConfig);
  expectExtras(p, 0, 16);
  expectKey(p, false);
  if (p.extras.length === 0) return {};
  const r = new BufferReader(p.extras);
  return { known: { epoch: r.u64Number('epoch'), revision: r.u64Number('revision') } };
}

export function encodeGetClusterConfigResponse(config: Bytes, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.GetClusterConfig, { datatype: Datatype.Json, ...init, value: toBuffer(config) });
}

/** The config JSON text ('' when the server had nothing newer). Parsing is the caller's. */
export function decodeGetClusterConfigResponse(p: Packet): { readonly config: string } {
  expectOpcode(p, Opcode.GetClusterConfig);
  return { config: p.value.toString('utf8') };
}

export interface ClustermapChangeNotification {
  readonly revision: number;
  readonly bucket: string;
  readonly config: string;
}

export function encodeClustermapChangeNotification(n: ClustermapChangeNotification, init: PacketInit = {}): Packet {
  return makeRequest(ServerOpcode.ClustermapChangeNotification, {
    datatype: Datatype.Json,
    ...init,
    magic: Magic.ServerRequest,
    extras: u32Buffer(n.revision),
    key: Buffer.from(n.bucket, 'utf8'),
    value: Buffer.from(n.config, 'utf8'),
  });
}

export function decodeClustermapChangeNotification(p: Packet): ClustermapChangeNotification {
  expectOpcode(p, ServerOpcode.ClustermapChangeNotification);
  expectExtras(p, 4);
  return { revision: p.extras.readUInt32BE(0), bucket: p.key.toString('utf8'), config: p.value.toString('utf8') };
}
