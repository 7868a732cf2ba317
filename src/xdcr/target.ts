/**
 * The target side of `freshet xdcr push`: writes each source version to a Couchbase (or Freshet)
 * bucket with SET_WITH_META / DEL_WITH_META, as goxdcr's XMEM nozzle does (parts/xmem_nozzle.go,
 * router.go ComposeMCRequest): the source's CAS, rev seqno, flags and expiry travel in the extras
 * and the target's conflict resolution decides. KEY_EEXISTS means the target's version won: counted,
 * not an error.
 *
 * Routing: the target's cluster map (GET_CLUSTER_CONFIG on the bootstrap connection,
 * consumer/kv-connect.ts), key → vbucket by CRC32 (engine/vbucket-hash.ts, the hash every Couchbase
 * client uses) → active node, one authenticated connection per node. NOT_MY_VBUCKET carries the
 * node's newer map in its body: it replaces ours (when newer) and the write is retried; a vbucket
 * with no active node, TMPFAIL or a closed connection are retried with a back-off until the push
 * is stopped.
 *
 * Options word: revid buckets refuse FORCE_ACCEPT_WITH_META_OPS and last-write-wins buckets require
 * it (kv ep_engine.cc decodeWithMetaOptions). The first EINVAL for a write sent without it switches
 * this target to sending it (the bucket is lww), as goxdcr chooses it from the bucket's
 * `conflictResolutionType`; expirations carry IS_EXPIRATION.
 */
import { XdcrTargetError } from './errors.js';
import { Datatype, encodeWithMetaRequest, Opcode, Status, type Packet } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { connectKvNode, fetchConfigOverKv, type Credentials } from '../consumer/kv-connect.js';
import { isNewerMap, parseClusterMap, splitServer, type ClusterMap } from '../consumer/cluster-map.js';
import { parseSeed } from '../consumer/seeds.js';
import type { ItemEvent } from '../consumer/change-events.js';
import { vbucketOf } from '../engine/vbucket-hash.js';

const FORCE_ACCEPT_WITH_META_OPS = 0x02;
const IS_EXPIRATION = 0x10;
const AGENT = 'freshet-xdcr-push';

export interface TargetOptions {
  /** couchbase://HOST[:PORT]/BUCKET */
  readonly url: string;
  readonly credentials?: Credentials;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Aborting stops retries (a write in progress then rejects). */
  readonly signal?: AbortSignal;
}

export interface TargetStats {
  /** Versions the target took. */
  written: number;
  /** Versions the target's own version beat (KEY_EEXISTS). */
  rejected: number;
  notMyVbucket: number;
  retries: number;
}

export type WriteOutcome = 'written' | 'rejected';

export { XdcrTargetError } from './errors.js';

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class XdcrTarget {
  readonly stats: TargetStats = { written: 0, rejected: 0, notMyVbucket: 0, retries: 0 };
  readonly #opts: TargetOptions;
  readonly #bucket: string;
  readonly #host: string;
  #map: ClusterMap;
  readonly #conns = new Map<string, Promise<KvConnection>>();
  #lww = false;
  #closed = false;

  private constructor(opts: TargetOptions, bucket: string, host: string, map: ClusterMap, first: { server: string; conn: KvConnection }) {
    this.#opts = opts;
    this.#bucket = bucket;
    this.#host = host;
    this.#map = map;
    this.#conns.set(first.server, Promise.resolve(first.conn));
  }

  /** Connect to the target's seed node, authenticate, select the bucket and read its map. */
  static async open(opts: TargetOptions): Promise<XdcrTarget> {
    const seeds = parseSeed(opts.url);
    const seed = seeds[0];
    if (seed === undefined || seed.kind !== 'kv' || seed.bucket === undefined || seed.tls) {
      throw new Error(`the target must be couchbase://HOST[:PORT]/BUCKET, got ${opts.url}`);
    }
    const node = await connectKvNode({
      host: seed.host,
      port: seed.port,
      bucket: seed.bucket,
      agent: AGENT,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
    });
    try {
      const map = await fetchConfigOverKv(node.conn, seed.host);
      const server = `${seed.host.includes(':') ? `[${seed.host}]` : seed.host}:${seed.port}`;
      return new XdcrTarget(opts, seed.bucket, seed.host, map, { server, conn: node.conn });
    } catch (e) {
      await node.conn.close();
      throw e;
    }
  }

  get numVBuckets(): number {
    return this.#map.vBucketMap.length;
  }

  #connection(server: string): Promise<KvConnection> {
    let c = this.#conns.get(server);
    if (c === undefined) {
      const { host, port } = splitServer(server);
      c = connectKvNode({
        host,
        port,
        bucket: this.#bucket,
        agent: AGENT,
        ...(this.#opts.credentials ? { credentials: this.#opts.credentials } : {}),
        connectTimeoutMs: this.#opts.connectTimeoutMs ?? 10_000,
        requestTimeoutMs: this.#opts.requestTimeoutMs ?? 30_000,
      }).then((n) => n.conn);
      this.#conns.set(server, c);
      // A failed dial is forgotten, so the next attempt dials again.
      c.catch(() => this.#conns.delete(server));
    }
    return c;
  }

  #request(change: ItemEvent, vb: number): Packet {
    const deleted = change.type !== 'mutation';
    // A deletion keeps only its xattrs; the body of a tombstone is not replicated (kv sanitizes it away).
    const xattrOnly = deleted && (change.datatype & Datatype.Xattr) !== 0;
    let options = this.#lww ? FORCE_ACCEPT_WITH_META_OPS : 0;
    if (change.type === 'expiration') options |= IS_EXPIRATION;
    return encodeWithMetaRequest({
      opcode: deleted ? Opcode.DelWithMeta : Opcode.SetWithMeta,
      key: change.key,
      value: deleted && !xattrOnly ? Buffer.alloc(0) : change.value,
      flags: change.type === 'mutation' ? change.flags : 0,
      expiry: change.type === 'mutation' ? change.expiry : change.deleteTime,
      revSeqno: change.revSeqno,
      metaCas: change.cas,
      ...(options === 0 ? {} : { options }),
      datatype: deleted && !xattrOnly ? 0 : change.datatype & (Datatype.Json | Datatype.Xattr),
      vbucket: vb,
    });
  }

  /** Write one source version; resolves once the target answered it for good. */
  async write(change: ItemEvent): Promise<WriteOutcome> {
    let attempt = 0;
    for (;;) {
      if (this.#closed) throw new Error('the target is closed');
      const vb = vbucketOf(change.key, this.#map.vBucketMap.length);
      const owner = this.#map.vBucketMap[vb]?.[0] ?? -1;
      const server = owner >= 0 ? this.#map.serverList[owner] : undefined;
      let res: Packet | undefined;
      if (server !== undefined) {
        try {
          const conn = await this.#connection(server);
          res = await conn.request(this.#request(change, vb));
        } catch (err) {
          if (this.#opts.signal?.aborted) throw err;
          this.#conns.delete(server);
          res = undefined;
        }
      }
      if (res !== undefined) {
        if (res.status === Status.Success) {
          this.stats.written++;
          return 'written';
        }
        if (res.status === Status.KeyEexists) {
          this.stats.rejected++;
          return 'rejected';
        }
        if (res.status === Status.Einval && !this.#lww) {
          // The bucket may be last-write-wins: it wants FORCE_ACCEPT (see the header).
          this.#lww = true;
          continue;
        }
        if (res.status === Status.NotMyVbucket) {
          this.stats.notMyVbucket++;
          this.#takeMap(res.value);
        } else if (res.status !== Status.Etmpfail && res.status !== Status.Ebusy) {
          throw new XdcrTargetError(`${change.type === 'mutation' ? 'SET' : 'DEL'}_WITH_META ${change.key.toString()} failed: status 0x${res.status.toString(16)} ${res.value.toString()}`, res.status);
        }
      }
      this.stats.retries++;
      await sleep(Math.min(1000, 10 * 2 ** Math.min(attempt++, 7)), this.#opts.signal);
      if (res === undefined || res.status === Status.NotMyVbucket) await this.#refreshMap();
    }
  }

  /** A NOT_MY_VBUCKET body is the node's map: take it when newer. */
  #takeMap(body: Buffer): void {
    if (body.length === 0) return;
    try {
      const map = parseClusterMap(JSON.parse(body.toString()) as unknown, this.#host);
      if (isNewerMap(map, this.#map)) this.#map = map;
    } catch {
      // not a map: the refresh below fetches one
    }
  }

  async #refreshMap(): Promise<void> {
    for (const [server, c] of this.#conns) {
      try {
        const map = await fetchConfigOverKv(await c, splitServer(server).host);
        if (isNewerMap(map, this.#map)) this.#map = map;
        return;
      } catch {
        this.#conns.delete(server);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const conns = [...this.#conns.values()];
    this.#conns.clear();
    await Promise.all(conns.map((c) => c.then((conn) => conn.close(), () => undefined)));
  }
}
