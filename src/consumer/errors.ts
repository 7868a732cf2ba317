/**
 * Typed errors the consumer reports through `Receiver.onError` and its status events
 * (practice 7): one base class with a stable `code` (`CONSUMER_<KIND>`) and a `context`, the ES2022 `cause`.
 * The first two mirror cbdatasource's exported error types (dcp.md §4.1), so an application
 * can decide to `close()` on them exactly as it would with cbdatasource.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

/** The consumer's table: kind -> description. Codes are `CONSUMER_<KIND>`. */
export const CONSUMER_ERRORS = {
  ALL_SERVERS_FAILED: 'no seed produced a usable cluster map (cbdatasource AllServerURLsConnectBucketError)',
  AUTH_FAIL: 'SASL or REST basic auth refused the credentials (cbdatasource AuthFailError)',
  BUCKET_UUID: 'the bucket found does not have the expected uuid',
  BUCKET_NOT_FOUND: 'the pool lists no such bucket',
  BAD_MAP: 'the cluster map is unusable (no vBucketServerMap, bad indexes)',
  NO_ACTIVE: 'a wanted vbucket has no active node in the map',
  BAD_SEED: 'a seed URL that is neither http(s):// nor couchbase://',
  HANDSHAKE: 'DCP_OPEN / DCP_CONTROL refused',
  PROTOCOL: 'a stream message that violates the protocol (state, layout)',
  RECEIVER: 'the receiver threw',
  DEAD_CONNECTION: 'no answer to our NOOP within PingTimeoutMS',
  CONNECTION: 'connect failed or the connection was lost',
  CLOSED: 'the data source or stream was closed',
  UNKNOWN_COLLECTION: 'a collections filter names a collection the bucket manifest does not have',
  UNKNOWN_SCOPE: 'a scope filter (or a collection path) names a scope the bucket manifest does not have',
  COLLECTIONS_UNSUPPORTED: 'a collections filter was given but the node refused HELLO Collections or the manifest',
  STREAM_REFUSED: 'the producer refused a stream request (Eaccess, Enomem...; NotMyVbucket is a map change, not an error): the vbucket waits for the next map',
  MANIFEST_CHANGED: 'a stream request was refused with unknown collection/scope: the names are resolved again',
  CHECKPOINT_FORMAT: 'a stored checkpoint document is malformed (checkpoint-store.ts)',
} as const;

registerErrorCodes('CONSUMER', 'src/consumer/errors.ts', CONSUMER_ERRORS);

export type ConsumerErrorKind = Exclude<keyof typeof CONSUMER_ERRORS, 'CHECKPOINT_FORMAT'>;
export type ConsumerErrorCode = `CONSUMER_${ConsumerErrorKind}`;
export const CONSUMER_ERROR_CODES: readonly ConsumerErrorCode[] = Object.keys(CONSUMER_ERRORS)
  .filter((k): k is ConsumerErrorKind => k !== 'CHECKPOINT_FORMAT')
  .map((k) => errorCode('CONSUMER', k));

export class ConsumerError extends FreshetError<ConsumerErrorCode> {
  override name = 'ConsumerError';
  readonly kind: ConsumerErrorKind;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(kind: ConsumerErrorKind, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(errorCode('CONSUMER', kind), message, { cause: options?.cause });
    this.kind = kind;
    this.context = context;
  }
}

/** A stored checkpoint that does not parse (checkpoint-store.ts `parseCheckpoint`). */
export class CheckpointFormatError extends FreshetError<'CONSUMER_CHECKPOINT_FORMAT'> {
  override name = 'CheckpointFormatError';
  constructor(message: string) {
    super(errorCode('CONSUMER', 'CHECKPOINT_FORMAT'), message);
  }
}

/** Every seed failed to produce a usable cluster map; the data source keeps retrying. */
export class AllServerURLsConnectBucketError extends ConsumerError {
  override name = 'AllServerURLsConnectBucketError';
  readonly serverURLs: readonly string[];
  constructor(serverURLs: readonly string[], options?: ErrorOptions) {
    super('ALL_SERVERS_FAILED', `could not connect to any serverURL: ${JSON.stringify(serverURLs)}`, { serverURLs }, options);
    this.serverURLs = serverURLs;
  }
}

/** SASL (or REST basic auth) refused the credentials. */
export class AuthFailError extends ConsumerError {
  override name = 'AuthFailError';
  readonly serverURL: string;
  readonly user: string;
  constructor(serverURL: string, user: string, options?: ErrorOptions) {
    super('AUTH_FAIL', `auth fail, serverURL: ${serverURL}, user: ${user}`, { serverURL, user }, options);
    this.serverURL = serverURL;
    this.user = user;
  }
}

export function isConsumerError(e: unknown, kind?: ConsumerErrorKind): e is ConsumerError {
  return e instanceof ConsumerError && (kind === undefined || e.kind === kind);
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
