/**
 * How a replica node opens its DCP connection to an active node, as kv_engine's DcpConsumer does
 * for ns_server's replicator (kv docs/dcp/documentation/building-a-simple-client.md and
 * commands/open-connection.md, control.md), as options of the consumer library's connection
 * (src/consumer/stream-setup.ts turns them into the handshake):
 *
 *   HELLO Xerror, SelectBucket, Json, Xattr → SASL (every node of a dev cluster shares the
 *   administrator credentials; loopback only) → SELECT_BUCKET → DCP_OPEN Producer | IncludeXattrs |
 *   IncludeDeleteTimes | IncludeDeletedUserXattrs → DCP_CONTROL enable_noop, set_noop_interval,
 *   enable_expiry_opcode (and send_stream_end_on_client_close_stream, optional).
 *
 * Why each flag: a replica must store what the active stores, so xattrs (on mutations and on
 * tombstones), delete times (V2 deletions) and expirations as their own opcode all travel; noop is
 * mandatory with xattrs (kv `dcp_noop_mandatory_for_v5_features`). Flow control stays off: the
 * socket is paused instead when the replica falls behind (readHighWaterMarkBytes). The connection
 * name contains "replication", which keeps cursor dropping off for it (src/dcp/settings.ts).
 * Retries (reconnects, refused or ended streams) start at 50 ms and double up to 1 s.
 */
import type { BucketDataSourceOptions } from '../consumer/options.js';

const RETRY = { init: 50, factor: 2, max: 1000 } as const;

export const REPLICA_DCP_OPTIONS = {
  // Every collection and every system event, so the copy holds what the active holds (kv's
  // DcpConsumer streams unfiltered with HELLO Collections).
  allCollections: true,
  includeXAttrs: true,
  includeDeleteTimes: true,
  includeDeletedUserXattrs: true,
  expiryOpcode: true,
  feedBufferSizeBytes: 0,
  readHighWaterMarkBytes: 4 * 1024 * 1024,
  noopTimeIntervalSecs: 20,
  connectTimeoutMS: 5000,
  requestTimeoutMS: 5000,
  // A source that stops answering (a CLOSE_STREAM a promotion waits for included) is found dead
  // within two of these, and every stream ends with the connection.
  pingTimeoutMS: 5000,
  dataManagerSleepInitMS: RETRY.init,
  dataManagerBackoffFactor: RETRY.factor,
  dataManagerSleepMaxMS: RETRY.max,
  clusterManagerSleepInitMS: RETRY.init,
  clusterManagerBackoffFactor: RETRY.factor,
  clusterManagerSleepMaxMS: RETRY.max,
} as const satisfies BucketDataSourceOptions;
