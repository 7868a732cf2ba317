/**
 * STAT: one reply per statistic (key = name, value = ASCII), then an empty terminator, as
 * `cbstats` expects (dcp.md §2.3). Groups are a table; other faces (DCP) add theirs through the
 * listener's extensions (command-spec.ts KvExtensions, passed in by the server). Supported: ""
 * (general), `all`, `memory`, `timings`, `config` (stats-engine.ts), `vbucket`, `vbucket-seqno [vb]`,
 * `vbucket-details [vb]`, `failovers [vb]`, `connections [self|id]` (stats-connections.ts), `key`/`vkey <key> <vb>` and `uuid` (stats-key.ts),
 * the collection groups
 * (stats-collections.ts: `collections`, `scopes`, their `-byid` and `-details` forms), and the
 * extensions' groups.
 */
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import { decodeStatRequest, encodeStatResponse, encodeStatTerminator } from '../../codec/ops/stat.js';
import { EngineError } from '../../engine/errors.js';
import type { VBucketInfo } from '../../engine/types.js';
import { SERVER_VERSION } from './bootstrap.js';
import type { Session } from '../session.js';
import type { CommandSpec, StatGroup, StatPairs } from '../command-spec.js';
import { configGroup, engineGeneral, memoryGroup, timingsGroup } from './stats-engine.js';
import { COLLECTION_STAT_GROUPS } from './stats-collections.js';
import { KEY_STAT_GROUPS } from './stats-key.js';
import { connectionsGroup } from './stats-connections.js';

const started = Date.now();

/** The vbuckets a group covers: one named in the arguments, or all of the bucket's. */
function vbucketsOf(session: Session, args: string[]): VBucketInfo[] {
  const bucket = session.bucket;
  if (!bucket) throw new EngineError('NO_BUCKET', 'select a bucket first');
  if (args[0] !== undefined) {
    const vb = Number(args[0]);
    if (!Number.isInteger(vb)) throw new EngineError('EINVAL', `bad vbucket ${args[0]}`);
    return [bucket.vbucketInfo(vb)];
  }
  return Array.from({ length: bucket.numVBuckets }, (_, vb) => bucket.vbucketInfo(vb));
}

const general: StatGroup = (session, args) => {
  const s = session.stats;
  const pairs: StatPairs = [
    ['pid', process.pid],
    ['uptime', Math.floor((Date.now() - started) / 1000)],
    ['time', Math.floor(Date.now() / 1000)],
    ['version', SERVER_VERSION],
    ['curr_connections', s.connections],
    ['total_connections', s.totalConnections],
    ['cmd_total_ops', s.commands],
    ['auth_cmds', s.authSuccess + s.authFailure],
    ['auth_errors', s.authFailure],
    ['rejected_conns', s.malformedFrames],
    ['tls_handshake_failures', s.tlsHandshakeFailures],
    ['tls_on_plain_port', s.tlsOnPlainPort],
    ['cmd_subdoc_lookup', s.subdoc.lookups],
    ['cmd_subdoc_mutation', s.subdoc.mutations],
    ['subdoc_mutation_path_failures', s.subdoc.mutationFailures],
    ['range_scans_created', s.rangeScan.created],
    ['range_scan_items', s.rangeScan.items],
    ['range_scans_completed', s.rangeScan.completed],
    ['range_scans_cancelled', s.rangeScan.cancelled],
  ];
  // The failed-login throttle is shared by all three faces (src/auth/throttle.ts).
  const t = session.ctx.authThrottle.stats();
  pairs.push(
    ['auth_failed_logins', t.failedLogins],
    ['auth_throttled_attempts', t.throttledAttempts],
    ['auth_throttle_rejected', t.rejectedAttempts],
    ['auth_throttled_addresses', t.throttledAddresses],
    ['auth_throttle_tracked', t.trackedAddresses],
  );
  // The data directory's health (store/storage-fault.ts): `failing` while commits fail (full
  // disk), with the failed transactions and recoveries counted since start.
  const health = session.ctx.engine.store.health;
  pairs.push(['ep_storage_state', health.state], ['ep_storage_write_failures', health.writeFailures]);
  pairs.push(['ep_storage_recoveries', health.recoveries], ['ep_storage_last_error', health.lastError?.errno ?? '']);
  // Acknowledged writes the flusher kept through a failed commit: retries, and those given up at close.
  const writer = session.ctx.engine.store.writer;
  pairs.push(['ep_storage_kept_retries', writer.retries], ['ep_storage_kept_abandoned', writer.abandoned]);
  const b = session.bucket;
  if (b) {
    pairs.push(['ep_num_vbuckets', b.numVBuckets], ['ep_total_persisted', b.stats.writes - b.pendingWrites]);
    pairs.push(['ep_expired_access', b.stats.expirations], ['ep_tombstone_purged', b.stats.purged]);
    // Reads of a current version from LMDB, as kv_engine counts its background fetches, and (Freshet's
    // own) those served from the record cache (engine/record-cache.ts).
    pairs.push(['ep_bg_fetched', b.stats.bgFetches], ['ep_record_cache_hits', b.stats.recordCacheHits]);
  }
  pairs.push(...engineGeneral(session, args));
  return pairs;
};

/** The KV face's own groups; the extensions' are added per listener (statCommands). */
const BUILTIN_GROUPS: Readonly<Record<string, StatGroup>> = {
  '': general,
  // `all` is general plus the engine's values: Freshet's general group already carries both.
  all: general,
  memory: memoryGroup,
  timings: timingsGroup,
  config: configGroup,
  vbucket: (session, args) => vbucketsOf(session, args).map((v) => [`vb_${v.id}`, v.state]),
  'vbucket-seqno': (session, args) =>
    vbucketsOf(session, args).flatMap((v): StatPairs => [
      [`vb_${v.id}:uuid`, v.uuid],
      [`vb_${v.id}:high_seqno`, v.highSeqno],
      [`vb_${v.id}:abs_high_seqno`, v.highSeqno],
      [`vb_${v.id}:last_persisted_seqno`, v.persistedSeqno],
      [`vb_${v.id}:purge_seqno`, v.purgeSeqno],
      [`vb_${v.id}:last_persisted_snap_start`, v.persistedSeqno],
      [`vb_${v.id}:last_persisted_snap_end`, v.persistedSeqno],
      [`vb_${v.id}:max_visible_seqno`, v.highSeqno],
    ]),
  'vbucket-details': (session, args) =>
    vbucketsOf(session, args).flatMap((v): StatPairs => [
      [`vb_${v.id}`, v.state],
      [`vb_${v.id}:uuid`, v.uuid],
      [`vb_${v.id}:high_seqno`, v.highSeqno],
      [`vb_${v.id}:purge_seqno`, v.purgeSeqno],
      [`vb_${v.id}:persistence_seqno`, v.persistedSeqno],
      [`vb_${v.id}:num_failover_entries`, v.failoverLog.length],
      // goxdcr and the XDCR gateway read the vbucket's max CAS here (gocbcorex VbucketDetailsStatsParser).
      [`vb_${v.id}:max_cas`, v.maxCas],
    ]),
  failovers: (session, args) =>
    vbucketsOf(session, args).flatMap((v): StatPairs => [
      [`vb_${v.id}:num_entries`, v.failoverLog.length],
      // kv's FailoverTable::addStats; gocbcorex's FailoverStatsParser expects it. Freshet erases none.
      [`vb_${v.id}:num_erroneous_entries_erased`, 0],
      ...v.failoverLog.flatMap((e, i): StatPairs => [
        [`vb_${v.id}:${i}:id`, e.uuid],
        [`vb_${v.id}:${i}:seq`, e.seqno],
      ]),
    ]),
  connections: connectionsGroup,
  ...COLLECTION_STAT_GROUPS,
  ...KEY_STAT_GROUPS,
};

/** The STAT command over the built-in groups plus `extra` (a name given twice is a wiring bug). */
export function statCommands(extra: Readonly<Record<string, StatGroup>>): CommandSpec[] {
  const groups = new Map<string, StatGroup>(Object.entries(BUILTIN_GROUPS));
  for (const [name, group] of Object.entries(extra)) {
    if (groups.has(name)) throw new Error(`stat group "${name}" registered twice`);
    groups.set(name, group);
  }
  const stat = (session: Session, req: Packet): Packet[] => {
    const { group: raw } = decodeStatRequest(req);
    const [name = '', ...args] = raw.trim().split(/\s+/).filter((w, i) => w.length > 0 || i === 0);
    const group = groups.get(name);
    if (!group) throw new EngineError('KEY_ENOENT', `unknown stat group "${name}"`);
    const replies = group(session, args).map(([key, value]) =>
      encodeStatResponse({ name: key, value: String(value) }, { opaque: req.opaque }),
    );
    replies.push(encodeStatTerminator({ opaque: req.opaque }));
    return replies;
  };
  return [{ opcode: Opcode.Stat, handler: stat, auth: true, bucket: false }];
}
