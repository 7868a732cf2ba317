/**
 * Options of a BucketDataSource: cbdatasource's `BucketDataSourceOptions` with the same defaults
 * (`DefaultBucketDataSourceOptions`, dcp.md §4.1), in lowerCamelCase, plus the options that go
 * beyond it (dcp.md §5.3 "best in class": from/to, keys only, rollback mitigation, streaming config).
 *
 * Every field is documented where it is declared; `resolveOptions` fills the defaults and rejects
 * values that cannot work (a negative buffer, a threshold outside (0, 1]) with a RangeError.
 */
import type { Duplex } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import type { KvTlsOptions } from '../client/conn-dial.js';
import { connectWith } from './kv-connect.js';
import { collectionFilterOf, type CollectionFilter } from './collections.js';
import { SILENT_LOGGER, type Logger } from '../common/logger.js';

export type StreamFrom = 'beginning' | 'now';
export type StreamTo = 'now' | 'infinity';

/**
 * The consumer's logger: the one logger contract of the tree (common/logger.ts), under the name
 * this folder has always exported it; a pino logger fits.
 */
export type ConsumerLogger = Logger;
export { SILENT_LOGGER };

/** Opens the TCP (or any) byte stream to a data node; the default dials with node:net. */
export type ConnectFn = (host: string, port: number, timeoutMs: number) => Promise<Duplex>;

export interface RollbackMitigationOptions {
  /** How often persisted seqnos are polled with OBSERVE_SEQNO while items are held. */
  readonly pollIntervalMs?: number;
}

export interface BucketDataSourceOptions {
  /** DCP connection name (DCP_OPEN key). Default `freshet-<random hex>` (cbdatasource: random). */
  readonly name?: string;

  /** Factor to grow the sleep between retries to the cluster manager (REST or KV config). */
  readonly clusterManagerBackoffFactor?: number;
  /** First sleep (ms) before retrying the cluster manager. */
  readonly clusterManagerSleepInitMS?: number;
  /** Longest sleep (ms) between retries to the cluster manager. */
  readonly clusterManagerSleepMaxMS?: number;

  /** Factor to grow the sleep between reconnects to a data node. */
  readonly dataManagerBackoffFactor?: number;
  /** First sleep (ms) before reconnecting to a data node. */
  readonly dataManagerSleepInitMS?: number;
  /** Longest sleep (ms) between reconnects to a data node. */
  readonly dataManagerSleepMaxMS?: number;

  /** DCP flow-control window (control `connection_buffer_size`); 0 disables flow control. */
  readonly feedBufferSizeBytes?: number;
  /** Send DCP_BUFFER_ACK once this fraction of the window has been processed. */
  readonly feedBufferAckThreshold?: number;
  /** Producer noop interval (controls `enable_noop` + `set_noop_interval`); 0 leaves noops off. */
  readonly noopTimeIntervalSecs?: number;

  /** Per-vbucket end seqno (backup-style bounded streams); others stream forever. */
  readonly seqEnd?: ReadonlyMap<number, number> | Readonly<Record<number, number>>;

  /**
   * With no traffic for this long a NOOP (0x0a) is sent; if that NOOP is not answered within
   * another PingTimeoutMS the connection is declared dead and re-established.
   */
  readonly pingTimeoutMS?: number;

  /** Ask for extended attributes (DCP_OPEN IncludeXattrs, HELLO XATTR). */
  readonly includeXAttrs?: boolean;

  // --- beyond cbdatasource ---------------------------------------------------------------------

  /** Where a vbucket with no stored position starts: its first seqno, or its current high seqno. */
  readonly from?: StreamFrom;
  /** 'now': end every vbucket at the high seqno it had when first seen; 'infinity': never end. */
  readonly to?: StreamTo;
  /** Stream keys and metadata only (DCP_OPEN NoValue flag). */
  readonly keysOnly?: boolean;
  /** Deletions carry their delete time (DCP_OPEN IncludeDeleteTimes: V2 deletion extras). */
  readonly includeDeleteTimes?: boolean;
  /** Deletions carry user xattrs too, not only system ones (DCP_OPEN IncludeDeletedUserXattrs). */
  readonly includeDeletedUserXattrs?: boolean;
  /**
   * Expiries arrive as DCP_EXPIRATION instead of deletions (control `enable_expiry_opcode`,
   * required when set; kv sends them only with IncludeDeleteTimes).
   */
  readonly expiryOpcode?: boolean;
  /** Deliver only items the server has persisted (OBSERVE_SEQNO polling); false = off. */
  readonly rollbackMitigation?: false | RollbackMitigationOptions;
  /** Follow `/pools/default/bs/BUCKET` for map changes when seeds are REST URLs. */
  readonly streamingConfig?: boolean;
  /** TCP connect timeout (ms) for data nodes and the KV bootstrap. */
  readonly connectTimeoutMS?: number;
  /** Timeout (ms) of bootstrap requests (SASL, HELLO, config) and of each REST GET. */
  readonly requestTimeoutMS?: number;
  /** Bytes of undelivered DCP messages per connection before socket reads pause. */
  readonly readHighWaterMarkBytes?: number;

  readonly logger?: ConsumerLogger;
  /** Transport hook (cbdatasource's `Connect`). */
  readonly connect?: ConnectFn;
  /** HTTP hook for the REST calls (cbdatasource's `ConnectBucket` level). Default: global fetch. */
  readonly fetch?: typeof fetch;
  /**
   * TLS to every node (KV on `kvSSL` ports, REST over https) trusting `ca` (PEM; default Node's
   * trust store). Implied, with the default trust, by a `couchbases://` or `https://` seed.
   */
  readonly tls?: KvTlsOptions;

  /**
   * Stream only these collections, `scope.collection` paths (collections.ts). The source is then
   * collection-aware: HELLO Collections, names resolved with GET_COLLECTIONS_MANIFEST, the stream
   * request carries the JSON filter, system events and SEQNO_ADVANCED arrive. Without this or
   * `scope`, only the default collection is streamed (cbdatasource).
   */
  readonly collections?: readonly string[];
  /** Stream every collection of one scope (exclusive with `collections`). */
  readonly scope?: string;
  /**
   * Stream every collection, unfiltered, with every system event (exclusive with `collections`
   * and `scope`): what a replica needs (kv's DcpConsumer streams without a filter).
   */
  readonly allCollections?: boolean;
}

export type ResolvedDataSourceOptions = Required<Omit<BucketDataSourceOptions, 'seqEnd' | 'connect' | 'fetch' | 'rollbackMitigation' | 'tls' | 'collections' | 'scope' | 'allCollections'>> & {
  /** Undefined: a legacy source (default collection only, no HELLO Collections). */
  readonly collectionFilter: CollectionFilter | undefined;
  readonly seqEnd: ReadonlyMap<number, number>;
  /** Undefined: plain TCP and http. */
  readonly tls: KvTlsOptions | undefined;
  /** The caller's, else the TLS dialer when TLS is on, else undefined (plain TCP). */
  readonly connect: ConnectFn | undefined;
  readonly fetch: typeof fetch;
  readonly rollbackMitigation: false | Required<RollbackMitigationOptions>;
};

/** cbdatasource's DefaultBucketDataSourceOptions (dcp.md §4.1), plus ours. */
export const DEFAULT_BUCKET_DATA_SOURCE_OPTIONS = {
  clusterManagerBackoffFactor: 1.5,
  clusterManagerSleepInitMS: 100,
  clusterManagerSleepMaxMS: 1000,
  dataManagerBackoffFactor: 1.5,
  dataManagerSleepInitMS: 100,
  dataManagerSleepMaxMS: 1000,
  feedBufferSizeBytes: 20_000_000,
  feedBufferAckThreshold: 0.2,
  noopTimeIntervalSecs: 120,
  pingTimeoutMS: 30_000,
  includeXAttrs: false,
  from: 'beginning',
  to: 'infinity',
  keysOnly: false,
  includeDeleteTimes: false,
  includeDeletedUserXattrs: false,
  expiryOpcode: false,
  streamingConfig: true,
  connectTimeoutMS: 10_000,
  requestTimeoutMS: 10_000,
  readHighWaterMarkBytes: 0, // 0 = derived: max(2 x window, 1 MiB), or 8 MiB without a window
} as const;

const DEFAULT_POLL_INTERVAL_MS = 100;

function positive(name: string, v: number, allowZero = true): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  return v;
}

function toSeqEndMap(seqEnd: BucketDataSourceOptions['seqEnd']): ReadonlyMap<number, number> {
  if (seqEnd === undefined) return new Map();
  if (seqEnd instanceof Map) return new Map(seqEnd);
  return new Map(Object.entries(seqEnd).map(([vb, end]) => [Number(vb), end]));
}

export function randomConnectionName(): string {
  return `freshet-${Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0')}`;
}

/**
 * A fetch that trusts `ca` for https (undici's own fetch with an Agent, as the replicator does):
 * the REST seeds of a Freshet started with `--tls` present its self-signed certificate. Idle
 * connections close after a second, so a closed data source leaves nothing holding the process.
 */
function fetchTrusting(tls: KvTlsOptions): typeof fetch {
  const dispatcher = new Agent({
    connect: { ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }), rejectUnauthorized: tls.rejectUnauthorized ?? true },
    keepAliveTimeout: 1_000,
    keepAliveMaxTimeout: 1_000,
  });
  const trusted = (input: string | URL | Request, init?: RequestInit): ReturnType<typeof fetch> =>
    undiciFetch(input instanceof Request ? input.url : input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as ReturnType<typeof fetch>;
  return trusted;
}

/** `impliedTls`: a seed asked for TLS (couchbases://, https://); the `tls` option is then `{}` if absent. */
export function resolveOptions(o: BucketDataSourceOptions = {}, impliedTls = false): ResolvedDataSourceOptions {
  const d = DEFAULT_BUCKET_DATA_SOURCE_OPTIONS;
  const threshold = o.feedBufferAckThreshold ?? d.feedBufferAckThreshold;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`feedBufferAckThreshold must be in (0, 1], got ${threshold}`);
  const window = positive('feedBufferSizeBytes', o.feedBufferSizeBytes ?? d.feedBufferSizeBytes);
  if (window > 0xffffffff) throw new RangeError('feedBufferSizeBytes must fit in 32 bits');
  const hwm = o.readHighWaterMarkBytes ?? d.readHighWaterMarkBytes;
  const mitigation = o.rollbackMitigation ?? false;
  const tls = o.tls ?? (impliedTls ? {} : undefined);
  return {
    name: o.name ?? randomConnectionName(),
    clusterManagerBackoffFactor: positive('clusterManagerBackoffFactor', o.clusterManagerBackoffFactor ?? d.clusterManagerBackoffFactor),
    clusterManagerSleepInitMS: positive('clusterManagerSleepInitMS', o.clusterManagerSleepInitMS ?? d.clusterManagerSleepInitMS),
    clusterManagerSleepMaxMS: positive('clusterManagerSleepMaxMS', o.clusterManagerSleepMaxMS ?? d.clusterManagerSleepMaxMS),
    dataManagerBackoffFactor: positive('dataManagerBackoffFactor', o.dataManagerBackoffFactor ?? d.dataManagerBackoffFactor),
    dataManagerSleepInitMS: positive('dataManagerSleepInitMS', o.dataManagerSleepInitMS ?? d.dataManagerSleepInitMS),
    dataManagerSleepMaxMS: positive('dataManagerSleepMaxMS', o.dataManagerSleepMaxMS ?? d.dataManagerSleepMaxMS),
    feedBufferSizeBytes: window,
    feedBufferAckThreshold: threshold,
    noopTimeIntervalSecs: positive('noopTimeIntervalSecs', o.noopTimeIntervalSecs ?? d.noopTimeIntervalSecs),
    seqEnd: toSeqEndMap(o.seqEnd),
    // cbdatasource: "When 0, the DefaultBucketDataSourceOptions.PingTimeoutMS is used"
    pingTimeoutMS: positive('pingTimeoutMS', o.pingTimeoutMS ?? d.pingTimeoutMS) || d.pingTimeoutMS,
    includeXAttrs: o.includeXAttrs ?? d.includeXAttrs,
    from: o.from ?? d.from,
    to: o.to ?? d.to,
    keysOnly: o.keysOnly ?? d.keysOnly,
    includeDeleteTimes: o.includeDeleteTimes ?? d.includeDeleteTimes,
    includeDeletedUserXattrs: o.includeDeletedUserXattrs ?? d.includeDeletedUserXattrs,
    expiryOpcode: o.expiryOpcode ?? d.expiryOpcode,
    rollbackMitigation:
      mitigation === false ? false : { pollIntervalMs: positive('pollIntervalMs', mitigation.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, false) },
    streamingConfig: o.streamingConfig ?? d.streamingConfig,
    connectTimeoutMS: positive('connectTimeoutMS', o.connectTimeoutMS ?? d.connectTimeoutMS),
    requestTimeoutMS: positive('requestTimeoutMS', o.requestTimeoutMS ?? d.requestTimeoutMS),
    readHighWaterMarkBytes: positive('readHighWaterMarkBytes', hwm) || (window > 0 ? Math.max(2 * window, 1 << 20) : 8 << 20),
    logger: o.logger ?? SILENT_LOGGER,
    tls,
    collectionFilter: collectionFilterOf(o),
    connect: o.connect ?? (tls === undefined ? undefined : connectWith(tls)),
    fetch: o.fetch ?? (tls === undefined || (tls.ca === undefined && tls.rejectUnauthorized !== false) ? globalThis.fetch : fetchTrusting(tls)),
  };
}
