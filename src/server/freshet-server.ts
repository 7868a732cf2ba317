/**
 * A whole Freshet server in one process: the engine over LMDB, the users, the cluster map
 * (src/topology/), and the three listeners (KV + DCP, cluster manager REST, CouchDB HTTP). Tests
 * start it in-process on port 0.
 *
 * Wiring is explicit: the server builds each face's dependencies from what it owns and passes
 * them in; the addresses learn each real port from the server as its listener binds.
 */
import { SILENT_LOGGER, type Logger } from '../common/logger.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import type { DurabilityLevel } from '../engine/types.js';
import { UserRegistry } from '../auth/credentials.js';
import { AuthThrottle, type AuthThrottleConfig } from '../auth/throttle.js';
import { startKvFace } from '../kv/index.js';
import { newKvStats } from '../kv/stats-counters.js';
import { DCP_COMMANDS } from '../dcp/commands.js';
import { dcpAggStats, dcpStats } from '../dcp/stats.js';
import { tapCommands } from '../tap/commands.js';
import { tapStats } from '../tap/stats.js';
import { DEFAULT_TAP_SETTINGS, type TapSettings } from '../tap/producer.js';
import { startMgmtFace } from '../mgmt/index.js';
import { startHttpFace } from '../http/index.js';
import type { ClusterMember } from '../cluster/member.js';
import { ServerMetrics } from '../metrics/index.js';
import { NodeAddresses, type Listener, type Ports } from '../topology/addresses.js';
import { Topology } from '../topology/topology.js';
import { DEFAULT_TLS_PORTS, loadTlsMaterial, type TlsMaterial, type TlsServerOptions } from './tls.js';
import type { AccessLog } from '../common/access-log.js';

/** Join a development cluster (src/cluster/): the shared map file and this node's index in it. */
export interface ClusterMapOption {
  file: string;
  nodeIndex: number;
  /** Stat polling interval of the file in ms (default 100). */
  pollIntervalMs?: number;
}

export interface ServerOptions extends Partial<Omit<EngineOptions, 'dataDir'>> {
  dataDir: string;
  host?: string;
  kvPort?: number;
  mgmtPort?: number;
  httpPort?: number;
  username?: string;
  password?: string;
  /** vbuckets of the `default` bucket created on first start (default 1024). */
  numVBuckets?: number;
  /** durabilityMinLevel of the `default` bucket created on first start (`serve --durability`). */
  durability?: DurabilityLevel;
  /** Whether the `default` bucket created on first start may be flushed (`serve --enable-flush`). */
  flushEnabled?: boolean;
  /** Create bucket `default` when there is none (default true). */
  createDefaultBucket?: boolean;
  logger?: Logger;
  /** `serve --access-log`: one entry per HTTP request and per KV connection (src/common/access-log.ts). */
  accessLog?: AccessLog;
  /** Faster password hashing for tests (fewer PBKDF2 iterations). */
  fastHashing?: boolean;
  /**
   * Delay answers to an address after repeated failed logins (src/auth/throttle.ts); missing
   * fields take the defaults, `false` turns the delays off (failures are still counted).
   */
  authThrottle?: AuthThrottleConfig;
  /** Serve as one node of a development cluster described by a map file (src/cluster/). */
  clusterMap?: ClusterMapOption;
  /**
   * TLS listeners beside the plain ones (or instead of them with `only`): KV on `kvPort` (11207),
   * REST on `mgmtPort` (18091), CouchDB on `httpPort` (6984). Without `cert`/`key` a self-signed
   * development certificate is generated into DATA/tls (src/server/tls.ts).
   */
  tls?: TlsServerOptions;
  /** TAP producer settings (src/tap): the idle NOOP interval (200 s) and the ack window (10). */
  tap?: Partial<TapSettings>;
}

export const DEFAULT_PORTS: Pick<Ports, 'kv' | 'mgmt' | 'http'> = { kv: 11210, mgmt: 8091, http: 5984 };

export class FreshetServer {
  private constructor(
    readonly metrics: ServerMetrics,
    readonly engine: Engine,
    readonly users: UserRegistry,
    /** The failed-login throttle every face shares. */
    readonly authThrottle: AuthThrottle,
    readonly logger: Logger,
    readonly addresses: NodeAddresses,
    /** The cluster map every face advertises. */
    readonly topology: Topology,
    private readonly listeners: Listener[],
    /** The TLS certificate in use; undefined while TLS is off. */
    readonly tls: TlsMaterial | undefined,
    /** Set when started with `clusterMap`. */
    readonly cluster?: ClusterMember,
  ) {}

  get ports(): Readonly<Ports> {
    return this.addresses.ports;
  }

  /**
   * The line `freshet serve` prints once every listener accepts connections: space-separated
   * `name=value` fields, `kv= mgmt= http=` for the plain ports, `kvs= mgmts= https=` for the TLS
   * ones; a face that does not listen (TLS off, or plain ports closed by `tls.only`) is left out.
   */
  readyLine(): string {
    const { kv, mgmt, http, kvTls, mgmtTls, httpTls } = this.ports;
    const plain = this.tls !== undefined && kv === 0 ? '' : `kv=${kv} mgmt=${mgmt} http=${http} `;
    const secure = this.tls === undefined ? '' : `kvs=${kvTls} mgmts=${mgmtTls} https=${httpTls} `;
    return `freshet ready ${plain}${secure}data=${this.engine.store.path}`;
  }

  static async start(opts: ServerOptions): Promise<FreshetServer> {
    const logger = opts.logger ?? SILENT_LOGGER;
    const engine = await Engine.open({ dataDir: opts.dataDir, ...pickEngineOptions(opts) });
    logStorageHealth(engine, logger);
    const { replacedPid, path: lockPath } = engine.store.lock;
    if (replacedPid !== null) logger.warn({ lockPath, pid: replacedPid }, `took over the data directory lock of process ${replacedPid}, which is gone`);
    for (const { path, mode, fix } of engine.store.exposed) {
      logger.warn({ path, mode: mode.toString(8) }, `${path} is accessible to other users (mode ${mode.toString(8)}): documents and password hashes are readable; run: ${fix}`);
    }
    if (engine.recoveredFromCrash) logger.warn('the last run did not shut down cleanly: new failover entries were created');
    let users: UserRegistry;
    let tls: TlsMaterial | undefined;
    try {
      // Before any listener: a bad certificate stops the start with its own message.
      if (opts.tls !== undefined) tls = await loadTlsMaterial(opts.tls, engine.store.path, logger);
      users = await openUsers(engine, opts, logger);
      if (opts.createDefaultBucket !== false && !engine.bucket('default') && engine.buckets().length === 0) {
        await engine.createBucket('default', { numVBuckets: opts.numVBuckets ?? 1024, durabilityMinLevel: opts.durability ?? 'none', flushEnabled: opts.flushEnabled === true });
      }
    } catch (err) {
      await engine.close(); // release the data directory
      throw err;
    }
    const host = opts.host ?? '127.0.0.1';
    const authThrottle = new AuthThrottle(opts.authThrottle, { log: logger });
    const addresses = new NodeAddresses(host);
    const topology = new Topology({ engine, addresses });
    const metrics = new ServerMetrics({ engine, authThrottle });
    const listeners: Listener[] = [];
    const abort = async (err: unknown): Promise<never> => {
      for (const l of listeners) await l.close();
      topology.stopWatching();
      await engine.close();
      throw err;
    };
    try {
      await topology.startWatching();
      const plain = tls === undefined || opts.tls?.only !== true;
      // The KV port is also the DCP and TAP producer: their opcodes and `stats dcp`/`stats tap` are handed in here.
      const accessLog = opts.accessLog === undefined ? {} : { accessLog: opts.accessLog };
      const kvDeps = { engine, users, authThrottle, logger, host, clusterConfig: topology, ...accessLog };
      const tap: TapSettings = { ...DEFAULT_TAP_SETTINGS, ...opts.tap };
      const kvExtensions = { extraCommands: [...DCP_COMMANDS, ...tapCommands(tap)], statGroups: { dcp: dcpStats, dcpagg: dcpAggStats, tap: tapStats(tap) } };
      const kvStats = newKvStats(); // one set of counters for the plain and the TLS port
      metrics.attachKv(kvStats);
      if (plain) {
        const kv = await startKvFace(kvDeps, opts.kvPort ?? DEFAULT_PORTS.kv, kvExtensions, { stats: kvStats });
        listeners.push(kv);
        addresses.bound('kv', kv.port);
      }
      if (tls !== undefined) {
        const kvTls = await startKvFace(kvDeps, opts.tls?.kvPort ?? DEFAULT_TLS_PORTS.kv, kvExtensions, { stats: kvStats, tls: tls.context });
        listeners.push(kvTls);
        addresses.bound('kvTls', kvTls.port);
      }
      const mgmtDeps = { engine, users, authThrottle, logger, host, topology, metrics, ...accessLog };
      if (plain) {
        const mgmt = await startMgmtFace(mgmtDeps, opts.mgmtPort ?? DEFAULT_PORTS.mgmt);
        listeners.push(mgmt);
        addresses.bound('mgmt', mgmt.port);
      }
      if (tls !== undefined) {
        const mgmtTls = await startMgmtFace(mgmtDeps, opts.tls?.mgmtPort ?? DEFAULT_TLS_PORTS.mgmt, tls.context);
        listeners.push(mgmtTls);
        addresses.bound('mgmtTls', mgmtTls.port);
      }
      const http = await startHttpFace({ engine, users, authThrottle, logger, host, ports: addresses.ports, metrics, ...accessLog }, {
        port: plain ? (opts.httpPort ?? DEFAULT_PORTS.http) : null,
        ...(tls === undefined ? {} : { tls: { options: tls.context, port: opts.tls?.httpPort ?? DEFAULT_TLS_PORTS.http } }),
      });
      listeners.push(http);
      metrics.attachHttp(http.face);
      addresses.bound('http', http.port);
      addresses.bound('httpTls', http.tlsPort);
    } catch (err) {
      return abort(err);
    }
    const make = (cluster?: ClusterMember): FreshetServer =>
      new FreshetServer(metrics, engine, users, authThrottle, logger, addresses, topology, listeners, tls, cluster);
    if (opts.clusterMap === undefined) return make();
    let cluster: ClusterMember;
    try {
      // Only a development cluster node needs the cluster code (and the DCP client it replicates with).
      const { ClusterMember } = await import('../cluster/member.js');
      cluster = await ClusterMember.start({ engine, logger, topology, ports: addresses.ports }, {
        ...opts.clusterMap,
        username: opts.username ?? 'Administrator',
        password: opts.password ?? 'password',
      });
    } catch (err) {
      return abort(err);
    }
    return make(cluster);
  }

  /** Stop accepting, close every connection, flush and close the engine (a clean shutdown). */
  async close(): Promise<void> {
    await this.cluster?.close();
    for (const l of this.listeners.splice(0)) await l.close();
    this.topology.stopWatching();
    await this.engine.close();
  }
}

/**
 * One log line per storage state change (healthy → failing → healthy), not one per failed write:
 * on a full disk every write fails until space returns, and each is already answered.
 */
function logStorageHealth(engine: Engine, logger: Logger): void {
  engine.store.health.on('state', (state: string, err: unknown) => {
    if (state === 'failing') {
      logger.error({ err, dataDir: engine.store.path }, 'storage writes are failing: writes are refused (KV TMPFAIL, HTTP 507) until space returns; reads continue');
    } else {
      logger.warn({ dataDir: engine.store.path }, 'storage writes succeed again');
    }
  });
  engine.on('close-error', (err: unknown) => logger.error({ err }, 'could not record the clean shutdown; the next start will recover as after a crash'));
}

function pickEngineOptions(opts: ServerOptions): Partial<EngineOptions> {
  const out: Partial<EngineOptions> = {};
  if (opts.expiryPagerMs !== undefined) out.expiryPagerMs = opts.expiryPagerMs;
  if (opts.compactionMs !== undefined) out.compactionMs = opts.compactionMs;
  if (opts.purgeAgeSeconds !== undefined) out.purgeAgeSeconds = opts.purgeAgeSeconds;
  if (opts.clock !== undefined) out.clock = opts.clock;
  if (opts.maxJsonDepth !== undefined) out.maxJsonDepth = opts.maxJsonDepth;
  if (opts.maxDirtyBytes !== undefined) out.maxDirtyBytes = opts.maxDirtyBytes;
  if (opts.checkpointBytes !== undefined) out.checkpointBytes = opts.checkpointBytes;
  if (opts.recordCacheBytes !== undefined) out.recordCacheBytes = opts.recordCacheBytes;
  return out;
}

/** Users live in the engine's system database; the administrator is (re)set from the options. */
const DEFAULT_ADMIN_PASSWORD = 'password';

async function openUsers(engine: Engine, opts: ServerOptions, logger: Logger): Promise<UserRegistry> {
  const system = engine.store.system;
  const hashing = opts.fastHashing ? { scramIterations: 64, passwordIterations: 64 } : {};
  const users = new UserRegistry({
    ...hashing,
    load: () => (system.get('users') as unknown[] | undefined) ?? [],
    save: async (records) => {
      await engine.store.putMeta(system, 'users', records);
    },
  });
  const name = opts.username ?? 'Administrator';
  const password = opts.password ?? DEFAULT_ADMIN_PASSWORD;
  if (!users.isAdmin(name) || !(await users.verifyAsync(name, password))) await users.setAdmin(name, password);
  // Couchbase's and the SDK samples' well-known default: anyone who can reach a port is admin.
  if (password === DEFAULT_ADMIN_PASSWORD) {
    logger.warn({ user: name }, `the administrator ${name} has the default password "${DEFAULT_ADMIN_PASSWORD}": set -p/--password or FRESHET_PASSWORD`);
  }
  return users;
}
