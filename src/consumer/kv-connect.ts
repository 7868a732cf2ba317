/**
 * Opening an authenticated KV connection to a data node: dial, HELLO, SASL, SELECT_BUCKET
 * (dcp.md §4.4; couchbase-sdk-bootstrap.md §2-§3), and the map over KV for couchbase:// seeds
 * (GET_CLUSTER_CONFIG 0xb5, "$HOST" replaced by the address dialled).
 *
 * Authentication: the strongest SCRAM the server lists (SHA512, then SHA256, then SHA1; our client
 * verifies the server signature), then PLAIN if SCRAM failed or none is listed. PLAIN after a
 * failed SCRAM is what lets users that only have PLAIN credentials (Couchbase LDAP users) in;
 * cbdatasource only ever sends PLAIN (dcp.md §4.4 step 2). Refusal is an AuthFailError.
 *
 * The caller gets the socket as well as the connection: the DCP session pauses socket reads
 * itself when its receiver falls behind (conn-inbox.ts does the same for the iterator API).
 */
import type { Duplex } from 'node:stream';
import { Feature, Status } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import { KvConnection } from '../client/connection.js';
import { openSocket, type KvTlsOptions } from '../client/conn-dial.js';
import { KvStatusError } from '../client/conn-errors.js';
import { ScramClient } from '../auth/scram-client.js';
import { AuthError } from '../auth/errors.js';
import { SCRAM_HASHES, SCRAM_HASH_ORDER } from '../auth/scram-crypto.js';
import { AuthFailError, ConsumerError } from './errors.js';
import { parseClusterMap, type ClusterMap } from './cluster-map.js';
import type { ConnectFn } from './options.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface KvConnectParams {
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly credentials?: Credentials;
  readonly agent: string;
  readonly includeXAttrs?: boolean;
  /** HELLO Collections (0x12), required: keys then carry their LEB128 collection id. */
  readonly collections?: boolean;
  readonly connect?: ConnectFn;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxInFlight?: number;
  readonly onServerRequest?: (p: Packet, conn: KvConnection) => void;
  /** Aborting closes the socket at once (a node that accepted and never answers must not hold close()). */
  readonly signal?: AbortSignal;
}

export interface KvNode {
  readonly conn: KvConnection;
  readonly socket: Duplex;
  /** The SASL mechanism used, or undefined without credentials. */
  readonly mechanism: string | undefined;
}

/** The dialer of `couchbase://` (plain TCP) or, with `tls`, of `couchbases://` (conn-dial.ts). */
export function connectWith(tls?: KvTlsOptions): ConnectFn {
  return (host, port, timeoutMs) =>
    openSocket(host, port, timeoutMs, tls).catch((e: unknown) => {
      throw new ConsumerError('CONNECTION', `connect to ${host}:${port} failed: ${(e as Error).message}`, { host, port }, { cause: e });
    });
}

export const defaultConnect: ConnectFn = connectWith();

function isAuthRefusal(e: unknown): boolean {
  return (e instanceof KvStatusError && (e.status === Status.AuthError || e.status === Status.Einval)) || e instanceof AuthError;
}

async function scram(conn: KvConnection, hash: (typeof SCRAM_HASH_ORDER)[number], c: Credentials): Promise<void> {
  const client = new ScramClient({ hash, user: c.username, password: c.password });
  const first = await conn.saslAuth(client.mechanism, client.start());
  if (first.done) throw new AuthError('SCRAM_SERVER_INVALID', 'server ended SCRAM after client-first');
  const final = await conn.saslStep(client.mechanism, client.respond(first.payload.toString('utf8')));
  if (!final.done) throw new AuthError('SCRAM_SERVER_INVALID', 'server asked to continue after client-final');
  client.verify(final.payload.toString('utf8'));
}

/** SCRAM (strongest listed) then PLAIN; returns the mechanism that worked. */
export async function authenticate(conn: KvConnection, c: Credentials, server: string): Promise<string> {
  const mechs = new Set(await conn.listMechs());
  const scramHash = SCRAM_HASH_ORDER.find((h) => mechs.has(SCRAM_HASHES[h].mechanism));
  let lastError: unknown;
  if (scramHash !== undefined) {
    try {
      await scram(conn, scramHash, c);
      return SCRAM_HASHES[scramHash].mechanism;
    } catch (e) {
      if (!isAuthRefusal(e)) throw e;
      lastError = e;
    }
  }
  if (mechs.has('PLAIN')) {
    try {
      await conn.saslPlain(c.username, c.password);
      return 'PLAIN';
    } catch (e) {
      if (!isAuthRefusal(e)) throw e;
      lastError = e;
    }
  }
  throw new AuthFailError(server, c.username, { cause: lastError ?? new Error(`no usable SASL mechanism in ${[...mechs].join(' ')}`) });
}

const closedError = (server: string): ConsumerError => new ConsumerError('CLOSED', `connecting to ${server} aborted: the data source is closing`, { server });

/** Close `conn` when `signal` aborts; returns the unsubscribe (listeners must not pile up on a long-lived signal). */
export function closeOnAbort(conn: KvConnection, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => {};
  const onAbort = (): void => void conn.close();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** The dial, given up at once on abort (a socket that connects later is destroyed). */
async function dialUnlessAborted(p: KvConnectParams, server: string): Promise<Duplex> {
  const { signal } = p;
  if (signal?.aborted) throw closedError(server);
  const dialing = (p.connect ?? defaultConnect)(p.host, p.port, p.connectTimeoutMs);
  if (signal === undefined) return dialing;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(closedError(server));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([dialing, aborted]);
  } catch (e) {
    dialing.then((s) => s.destroy()).catch(() => {});
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Dial, HELLO, authenticate, select the bucket. Closes the connection on any failure, and on
 * `signal` (the caller keeps it closed after that with closeOnAbort if it wants).
 */
export async function connectKvNode(p: KvConnectParams): Promise<KvNode> {
  const server = `${p.host}:${p.port}`;
  const socket = await dialUnlessAborted(p, server);
  const conn = new KvConnection(socket, {
    requestTimeoutMs: p.requestTimeoutMs,
    maxInFlight: p.maxInFlight ?? 2048,
    ...(p.onServerRequest ? { onServerRequest: p.onServerRequest } : {}),
  });
  const unsubscribe = closeOnAbort(conn, p.signal);
  try {
    const features = [Feature.Xerror, Feature.SelectBucket, Feature.Json, ...(p.includeXAttrs ? [Feature.Xattr] : []), ...(p.collections ? [Feature.Collections] : [])];
    const enabled = await conn.hello(p.agent, features);
    if (p.collections && !enabled.includes(Feature.Collections)) {
      throw new ConsumerError('COLLECTIONS_UNSUPPORTED', `${server} does not support collections (HELLO Collections refused)`, { server });
    }
    const mechanism = p.credentials ? await authenticate(conn, p.credentials, server) : undefined;
    try {
      await conn.selectBucket(p.bucket);
    } catch (e) {
      // a connection lost or timed out before the answer says nothing about the bucket
      if (!(e instanceof KvStatusError)) throw new ConsumerError('CONNECTION', `SELECT_BUCKET ${p.bucket} on ${server}: ${(e as Error).message}`, { server }, { cause: e });
      // kv answers Eaccess for an unknown bucket and for no permission alike
      throw new ConsumerError('BUCKET_NOT_FOUND', `SELECT_BUCKET ${p.bucket} on ${server} failed: ${(e as Error).message}`, { server }, { cause: e });
    }
    if (p.signal?.aborted) throw closedError(server);
    return { conn, socket, mechanism };
  } catch (e) {
    await conn.close();
    throw p.signal?.aborted ? closedError(server) : e;
  } finally {
    unsubscribe();
  }
}

/** The cluster map over KV (couchbase:// seeds): GET_CLUSTER_CONFIG on an open connection. */
export async function fetchConfigOverKv(conn: KvConnection, host: string, tls = false): Promise<ClusterMap> {
  const json = await conn.getClusterConfig();
  let doc: unknown;
  try {
    doc = JSON.parse(json) as unknown;
  } catch (e) {
    throw new ConsumerError('BAD_MAP', `GET_CLUSTER_CONFIG from ${host} is not JSON`, { host }, { cause: e });
  }
  return parseClusterMap(doc, host, { tls });
}
