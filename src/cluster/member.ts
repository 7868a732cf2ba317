/**
 * One server's membership of a development cluster: it watches the shared map file
 * (map-watcher.ts), applies every new map (map-apply.ts) and runs this node's intra-cluster
 * replication (replica-feeds.ts). `FreshetServer` starts it when given a `clusterMap` option
 * (`freshet serve --cluster-map FILE --node-index N`).
 *
 * Until a valid map is read the node serves alone, as without the option: the file may be written
 * only once every node has printed its ready line (and so its ephemeral ports).
 */
import { applyClusterMap, type ApplySummary, type ClusterDeps } from './map-apply.js';
import type { ClusterMapFile } from './map-file.js';
import { MapWatcher } from './map-watcher.js';
import { ReplicaFeeds } from './replica-feeds.js';

export interface ClusterMemberOptions {
  /** Path of the map file (map-file.ts). */
  readonly file: string;
  /** This node's index in the map's `nodes`. */
  readonly nodeIndex: number;
  /** Stat polling interval of the file in ms (default 100). */
  readonly pollIntervalMs?: number;
  /** Credentials this node uses on the other nodes (a dev cluster shares its administrator). */
  readonly username: string;
  readonly password: string;
}

export class ClusterMember {
  readonly replicaFeeds: ReplicaFeeds;
  readonly #watcher: MapWatcher;
  readonly #detach: () => void;
  #last: ApplySummary | undefined;

  private constructor(ctx: ClusterDeps, o: ClusterMemberOptions) {
    const logger = ctx.logger.child({ component: 'cluster', node: o.nodeIndex });
    this.replicaFeeds = new ReplicaFeeds({ logger, username: o.username, password: o.password, nodeName: `node${o.nodeIndex}` });
    this.#watcher = new MapWatcher({
      file: o.file,
      ...(o.pollIntervalMs === undefined ? {} : { intervalMs: o.pollIntervalMs }),
      onMap: async (map) => {
        this.#last = await applyClusterMap({ ctx, replicaFeeds: this.replicaFeeds, nodeIndex: o.nodeIndex, logger }, map);
        logger.info(this.#last, 'cluster map applied');
      },
      onProblem: (err) => logger.error({ err, file: o.file }, 'cluster map not applied; the previous map stays in force'),
    });
    const onDeleted = (name: string): void => void this.replicaFeeds.dropBucket(name);
    ctx.engine.on('bucket-deleted', onDeleted);
    this.#detach = () => ctx.engine.off('bucket-deleted', onDeleted);
  }

  static async start(ctx: ClusterDeps, options: ClusterMemberOptions): Promise<ClusterMember> {
    if (!Number.isInteger(options.nodeIndex) || options.nodeIndex < 0) throw new RangeError(`node index ${options.nodeIndex} is not a non-negative integer`);
    const member = new ClusterMember(ctx, options);
    await member.#watcher.start();
    return member;
  }

  /** The map in force (the last valid one read), if any. */
  get map(): ClusterMapFile | undefined {
    return this.#watcher.current;
  }

  /** What the last apply did. */
  get lastApply(): ApplySummary | undefined {
    return this.#last;
  }

  /** Read the file now instead of at the next poll. */
  refresh(): Promise<void> {
    return this.#watcher.check();
  }

  async close(): Promise<void> {
    this.#detach();
    await this.#watcher.close();
    await this.replicaFeeds.close();
  }
}
