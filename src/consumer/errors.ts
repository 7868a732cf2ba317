/**
 * Typed errors the consumer reports through `Receiver.onError` and its status events
 * (practice 7): one base class with a stable `code` and a `context`, the ES2022 `cause`.
 * The first two mirror cbdatasource's exported error types (dcp.md §4.1), so an application
 * can decide to `close()` on them exactly as it would with cbdatasource.
 */
export const CONSUMER_ERROR_CODES = [
  'DCP_ERR_ALL_SERVERS_FAILED', // cbdatasource AllServerURLsConnectBucketError
  'DCP_ERR_AUTH', // cbdatasource AuthFailError
  'DCP_ERR_BUCKET_UUID', // the bucket found does not have the expected uuid
  'DCP_ERR_BUCKET_NOT_FOUND', // the pool lists no such bucket
  'DCP_ERR_BAD_MAP', // the cluster map is unusable (no vBucketServerMap, bad indexes)
  'DCP_ERR_NO_ACTIVE', // a wanted vbucket has no active node in the map
  'DCP_ERR_BAD_SEED', // a seed URL that is neither http(s):// nor couchbase://
  'DCP_ERR_HANDSHAKE', // DCP_OPEN / DCP_CONTROL refused
  'DCP_ERR_PROTOCOL', // a stream message that violates the protocol (state, layout)
  'DCP_ERR_RECEIVER', // the receiver threw
  'DCP_ERR_DEAD_CONNECTION', // no answer to our NOOP within PingTimeoutMS
  'DCP_ERR_CONNECTION', // connect failed or the connection was lost
  'DCP_ERR_CLOSED', // the data source or stream was closed
] as const;

export type ConsumerErrorCode = (typeof CONSUMER_ERROR_CODES)[number];

export class ConsumerError extends Error {
  override name = 'ConsumerError';
  readonly code: ConsumerErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ConsumerErrorCode, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.context = context;
  }
}

/** Every seed failed to produce a usable cluster map; the data source keeps retrying. */
export class AllServerURLsConnectBucketError extends ConsumerError {
  override name = 'AllServerURLsConnectBucketError';
  readonly serverURLs: readonly string[];
  constructor(serverURLs: readonly string[], options?: ErrorOptions) {
    super('DCP_ERR_ALL_SERVERS_FAILED', `could not connect to any serverURL: ${JSON.stringify(serverURLs)}`, { serverURLs }, options);
    this.serverURLs = serverURLs;
  }
}

/** SASL (or REST basic auth) refused the credentials. */
export class AuthFailError extends ConsumerError {
  override name = 'AuthFailError';
  readonly serverURL: string;
  readonly user: string;
  constructor(serverURL: string, user: string, options?: ErrorOptions) {
    super('DCP_ERR_AUTH', `auth fail, serverURL: ${serverURL}, user: ${user}`, { serverURL, user }, options);
    this.serverURL = serverURL;
    this.user = user;
  }
}

export function isConsumerError(e: unknown, code?: ConsumerErrorCode): e is ConsumerError {
  return e instanceof ConsumerError && (code === undefined || e.code === code);
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
