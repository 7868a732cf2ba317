/**
 * The replica feeds of one node (intra-cluster replication; not the CouchDB replicator of
 * src/replicator): for every bucket, one DCP connection per active node that
 * owns vbuckets this node keeps replicas of (replica-connection.ts), as ns_server sets up one
 * replicator per (source node, destination node, bucket).
 *
 * `update` takes the wanted sources of one bucket (vbucket → node) from the map. A vbucket whose
 * source changes is first released by its old connection (stream closed, items on disk) and only
 * then requested from the new one, so no two streams ever feed one replica copy. Connections left
 * with nothing to stream are closed.
 */
import type { Logger } from '../common/logger.js';
import type { Bucket } from '../engine/bucket.js';
import type { MapNode } from './map-file.js';
import { ReplicaConnection, type ReplicaConnectionStats } from './replica-connection.js';

export interface ReplicaFeedsOptions {
  readonly logger: Logger;
  readonly username: string;
  readonly password: string;
  /** Used in DCP connection names, e.g. "replication:node1->node0:default" style. */
  readonly nodeName: string;
}

interface Source {
  readonly conn: ReplicaConnection;
  readonly bucket: Bucket;
}

function sourceKey(bucket: string, node: MapNode): string {
  return `${bucket}|${node.hostname}:${node.kvPort}`;
}

export class ReplicaFeeds {
  readonly #o: ReplicaFeedsOptions;
  readonly #sources = new Map<string, Source>();

  constructor(options: ReplicaFeedsOptions) {
    this.#o = options;
  }

  /** Replicate exactly the vbuckets in `sources` (vbucket → owning node) of this bucket. */
  async update(bucket: Bucket, sources: ReadonlyMap<number, MapNode>): Promise<void> {
    const wanted = new Map<string, { node: MapNode; vbs: number[] }>();
    for (const [vb, node] of sources) {
      const key = sourceKey(bucket.name, node);
      let w = wanted.get(key);
      if (w === undefined) wanted.set(key, (w = { node, vbs: [] }));
      w.vbs.push(vb);
    }
    // Release first: a moved vbucket leaves its old stream before it joins the new one.
    const releases: Promise<void>[] = [];
    for (const [key, s] of this.#sources) {
      if (s.bucket !== bucket) continue;
      const keep = new Set(wanted.get(key)?.vbs ?? []);
      for (const vb of s.conn.wanted) if (!keep.has(vb)) releases.push(s.conn.release(vb));
    }
    await Promise.all(releases);
    for (const [key, s] of [...this.#sources]) {
      if (s.bucket === bucket && !wanted.has(key)) {
        this.#sources.delete(key);
        await s.conn.close();
      }
    }
    for (const [key, { node, vbs }] of wanted) {
      let s = this.#sources.get(key);
      if (s === undefined) {
        const conn = new ReplicaConnection({
          bucket,
          host: node.hostname,
          port: node.kvPort,
          name: `replication:${node.hostname}:${node.kvPort}->${this.#o.nodeName}:${bucket.name}`,
          username: this.#o.username,
          password: this.#o.password,
          logger: this.#o.logger,
        });
        this.#sources.set(key, (s = { conn, bucket }));
      }
      s.conn.setWanted(vbs);
    }
  }

  /** Stop replicating `vb` of `bucket` anywhere; resolves once its items are on disk. */
  async release(bucket: Bucket, vb: number): Promise<void> {
    await Promise.all([...this.#sources.values()].filter((s) => s.bucket === bucket && s.conn.wanted.has(vb)).map((s) => s.conn.release(vb)));
  }

  /** Forget a bucket (deleted): close its connections. */
  async dropBucket(name: string): Promise<void> {
    for (const [key, s] of [...this.#sources]) {
      if (s.bucket.name !== name) continue;
      this.#sources.delete(key);
      await s.conn.close();
    }
  }

  /** Counters summed over every connection. */
  stats(): ReplicaConnectionStats {
    const total: ReplicaConnectionStats = { connects: 0, streamRequests: 0, rollbacks: 0, streamEnds: 0, items: 0 };
    for (const { conn } of this.#sources.values()) {
      for (const k of Object.keys(total) as (keyof ReplicaConnectionStats)[]) total[k] += conn.stats[k];
    }
    return total;
  }

  async close(): Promise<void> {
    const all = [...this.#sources.values()];
    this.#sources.clear();
    await Promise.all(all.map((s) => s.conn.close()));
  }
}
