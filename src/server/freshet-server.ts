/**
 * A whole Freshet server in one process: the engine over LMDB, the users, and the three
 * listeners (KV + DCP, cluster manager REST, CouchDB HTTP). Tests start it in-process on port 0.
 */
import { pino, type Logger } from 'pino';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { UserRegistry } from '../auth/credentials.js';
import { startKvFace } from '../kv/index.js';
import { startMgmtFace } from '../mgmt/index.js';
import { startHttpFace } from '../http/index.js';
import { ClusterMember } from '../cluster/member.js';
import type { Listener, Ports, ServerContext } from './context.js';

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
  /** Create bucket `default` when there is none (default true). */
  createDefaultBucket?: boolean;
  logger?: Logger;
  /** Faster password hashing for tests (fewer PBKDF2 iterations). */
  fastHashing?: boolean;
  /** Serve as one node of a development cluster described by a map file (src/cluster/). */
  clusterMap?: ClusterMapOption;
}

export const DEFAULT_PORTS: Ports = { kv: 11210, mgmt: 8091, http: 5984 };

export class FreshetServer {
  private constructor(
    readonly context: ServerContext,
    private readonly listeners: Listener[],
    /** Set when started with `clusterMap`. */
    readonly cluster?: ClusterMember,
  ) {}

  get engine(): Engine {
    return this.context.engine;
  }

  get ports(): Ports {
    return this.context.ports;
  }

  /** The line `freshet serve` prints once every listener accepts connections. */
  readyLine(): string {
    const { kv, mgmt, http } = this.context.ports;
    return `freshet ready kv=${kv} mgmt=${mgmt} http=${http} data=${this.context.engine.store.path}`;
  }

  static async start(opts: ServerOptions): Promise<FreshetServer> {
    const logger = opts.logger ?? pino({ level: 'silent' });
    const engine = await Engine.open({ dataDir: opts.dataDir, ...pickEngineOptions(opts) });
    logStorageHealth(engine, logger);
    if (engine.recoveredFromCrash) logger.warn('the last run did not shut down cleanly: new failover entries were created');
    const users = await openUsers(engine, opts);
    if (opts.createDefaultBucket !== false && !engine.bucket('default') && engine.buckets().length === 0) {
      await engine.createBucket('default', { numVBuckets: opts.numVBuckets ?? 1024 });
    }
    const host = opts.host ?? '127.0.0.1';
    const context: ServerContext = { engine, users, logger, host, ports: { kv: 0, mgmt: 0, http: 0 }, configRev: 1 };
    const listeners: Listener[] = [];
    try {
      const kv = await startKvFace(context, opts.kvPort ?? DEFAULT_PORTS.kv);
      listeners.push(kv);
      context.ports.kv = kv.port;
      const mgmt = await startMgmtFace(context, opts.mgmtPort ?? DEFAULT_PORTS.mgmt);
      listeners.push(mgmt);
      context.ports.mgmt = mgmt.port;
      const http = await startHttpFace(context, opts.httpPort ?? DEFAULT_PORTS.http);
      listeners.push(http);
      context.ports.http = http.port;
    } catch (err) {
      for (const l of listeners) await l.close();
      await engine.close();
      throw err;
    }
    if (opts.clusterMap === undefined) return new FreshetServer(context, listeners);
    let cluster: ClusterMember;
    try {
      cluster = await ClusterMember.start(context, {
        ...opts.clusterMap,
        username: opts.username ?? 'Administrator',
        password: opts.password ?? 'password',
      });
    } catch (err) {
      for (const l of listeners) await l.close();
      await engine.close();
      throw err;
    }
    return new FreshetServer(context, listeners, cluster);
  }

  /** Stop accepting, close every connection, flush and close the engine (a clean shutdown). */
  async close(): Promise<void> {
    await this.cluster?.close();
    for (const l of this.listeners.splice(0)) await l.close();
    await this.context.engine.close();
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
  return out;
}

/** Users live in the engine's system database; the administrator is (re)set from the options. */
async function openUsers(engine: Engine, opts: ServerOptions): Promise<UserRegistry> {
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
  const password = opts.password ?? 'password';
  if (!users.isAdmin(name) || !(await users.verifyAsync(name, password))) await users.setAdmin(name, password);
  return users;
}
