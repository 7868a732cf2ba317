/**
 * Opening the DCP connection a replica node keeps to an active node, as kv_engine's DcpConsumer
 * does for ns_server's replicator (kv docs/dcp/documentation/building-a-simple-client.md and
 * commands/open-connection.md, control.md):
 *
 *   HELLO Xerror, SelectBucket, Json, Xattr → SASL PLAIN (every node of a dev cluster shares the
 *   administrator credentials; loopback only) → SELECT_BUCKET → DCP_OPEN Producer | IncludeXattrs |
 *   IncludeDeleteTimes | IncludeDeletedUserXattrs → DCP_CONTROL enable_noop, set_noop_interval,
 *   enable_expiry_opcode.
 *
 * Why each flag: a replica must store what the active stores, so xattrs (on mutations and on
 * tombstones), delete times (V2 deletions) and expirations as their own opcode all travel; noop is
 * mandatory with xattrs (kv `dcp_noop_mandatory_for_v5_features`). Flow control stays off: the
 * socket is paused instead when the replica falls behind (replica-connection.ts). The connection
 * name contains "replication", which keeps cursor dropping off for it (src/dcp/settings.ts).
 */
import net from 'node:net';
import { DcpControlKey, DcpOpenFlag, Feature, encodeDcpControlRequest, encodeDcpOpenRequest } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import { KvConnection, expectSuccess } from '../client/connection.js';
import { dial } from '../client/conn-dial.js';

export interface ReplicaHandshake {
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly onServerRequest: (p: Packet, conn: KvConnection) => void;
  readonly timeoutMs?: number;
  /** Seconds between the producer's noops. */
  readonly noopIntervalSecs?: number;
}

export const REPLICA_OPEN_FLAGS =
  DcpOpenFlag.Producer | DcpOpenFlag.IncludeXattrs | DcpOpenFlag.IncludeDeleteTimes | DcpOpenFlag.IncludeDeletedUserXattrs;

export interface OpenedReplicaConnection {
  readonly conn: KvConnection;
  readonly socket: net.Socket;
}

/** Dial and open a DCP producer on the active node; closes everything on failure. */
export async function openReplicaConnection(h: ReplicaHandshake): Promise<OpenedReplicaConnection> {
  const timeoutMs = h.timeoutMs ?? 5000;
  const socket = await dial({ host: h.host, port: h.port, connectTimeoutMs: timeoutMs });
  const conn = new KvConnection(socket, { requestTimeoutMs: timeoutMs, onServerRequest: h.onServerRequest });
  try {
    await conn.hello(h.name, [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.Xattr]);
    await conn.saslPlain(h.username, h.password);
    await conn.selectBucket(h.bucket);
    expectSuccess(await conn.request(encodeDcpOpenRequest({ name: h.name, flags: REPLICA_OPEN_FLAGS })));
    const controls: [string, string][] = [
      [DcpControlKey.EnableNoop, 'true'],
      [DcpControlKey.SetNoopInterval, String(h.noopIntervalSecs ?? 20)],
      [DcpControlKey.EnableExpiryOpcode, 'true'],
    ];
    for (const [key, value] of controls) expectSuccess(await conn.request(encodeDcpControlRequest({ key, value })));
    return { conn, socket };
  } catch (err) {
    await conn.close();
    throw err;
  }
}
