/**
 * DCP_STREAM_REQ: the decision, made synchronously against the vbucket's current state, in the
 * exact check order of kv_engine `DcpProducer::streamRequest` (shared/specs/dcp.md §3.5):
 *
 *   1  vbucket missing                                  -> NotMyVbucket (caller: bucket.vbucket throws)
 *   2  vbucket not active                               -> NotMyVbucket
 *   3  FromLatest: start = snap start = snap end = high seqno; uuid 0 -> latest uuid
 *   4  IncludeXattrs or collection-aware without noop   -> NotSupported (dcp_noop_mandatory_for_v5_features)
 *   5  start > end                                      -> Erange
 *   6  not snap start <= start <= snap end              -> Erange
 *   7  stream-request JSON (collections, scope, uid, sid) -> Einval / UnknownCollection / UnknownScope
 *                                                         (with the manifest uid) / DcpStreamIdInvalid
 *   8  an active stream for this vbucket (and sid)      -> KeyEexists
 *   9  FailoverLog.needsRollback                        -> Rollback + 8-byte seqno
 *  10  ToLatest / DiskOnly fix the end; start > end or start > high seqno -> Erange
 *  11  start == snap start and snap end > high seqno    -> snap end trimmed to snap start
 *  13  accept: Success carrying the failover log
 * (Step 12, Enomem/Etmpfail, has no Freshet counterpart: backfills are read in bounded batches
 * and a vbucket never receives an initial disk snapshot from elsewhere.)
 *
 * Freshet answers NotMyVbucket for replica vbuckets too: it holds no replica copies that a
 * consumer could usefully follow (kv streams replicas only for intra-cluster uses).
 */
import { Status } from '../codec/status.js';
import { DcpStreamFlag, type DecodedStreamRequest } from '../codec/dcp/stream-req.js';
import type { FailoverEntry as WireFailoverEntry } from '../codec/ops/failover-log.js';
import { DEFAULT_ID, type Manifest } from '../engine/manifest.js';
import type { VBucket } from '../engine/vbucket.js';
import { parseStreamFilter, type FilterSpec, type StreamFilter } from './stream-filter.js';
import type { ProducerSettings } from './settings.js';

/** The parameters of a stream that passed every check. */
export interface AcceptedStream {
  readonly vbucket: number;
  readonly opaque: number;
  readonly flags: number;
  readonly start: number;
  /** Inclusive; Infinity streams forever. */
  readonly end: number;
  readonly vbUuid: number;
  readonly snapStart: number;
  readonly snapEnd: number;
  readonly streamId?: number;
  /** Which collections the stream carries (stream-filter.ts). */
  readonly filter: StreamFilter;
  /** The vbucket's failover log, newest first: the Success reply's body. */
  readonly failoverLog: WireFailoverEntry[];
  /** The vbucket's persisted seqno at acceptance: below it the stream backfills from disk. */
  readonly persistedAtStart: number;
}

export type StreamRequestDecision =
  | { readonly kind: 'refuse'; readonly status: number; readonly reason: string; readonly manifestUid?: number }
  | { readonly kind: 'rollback'; readonly seqno: number; readonly reason: string }
  | { readonly kind: 'accept'; readonly stream: AcceptedStream };

export interface StreamRequestContext {
  readonly settings: ProducerSettings;
  /** True when an active (not ending/dead) stream exists for this vbucket and stream id. */
  readonly hasActiveStream: (vbucket: number, streamId: number | undefined) => boolean;
  /** The bucket's collections manifest, which the stream-request value is checked against. */
  readonly manifest: Manifest;
}

const refuse = (status: number, reason: string): StreamRequestDecision => ({ kind: 'refuse', status, reason });
const flag = (flags: number, bit: number): boolean => (flags & bit) !== 0;

/**
 * kv DcpProducer::getHighSeqnoOfCollections: for a filtered stream (legacy streams filter on
 * `_default`), the highest seqno of its collections; none for an unfiltered one. A client at or
 * past it has every change of its collections, so the purge seqno cannot have hidden any.
 */
function collectionHighOf(spec: FilterSpec, vb: VBucket, manifest: Manifest): { collectionHigh?: number } {
  let ids: readonly number[];
  switch (spec.kind) {
    case 'all':
      return {};
    case 'legacy':
      ids = [DEFAULT_ID];
      break;
    case 'collections':
      ids = spec.ids;
      break;
    case 'scope':
      ids = manifest.collectionsOf(spec.scopeId).map((c) => c.id);
      break;
  }
  return { collectionHigh: ids.reduce((max, id) => Math.max(max, vb.collectionHigh.get(id) ?? 0), 0) };
}

export function decideStreamRequest(req: DecodedStreamRequest, vb: VBucket, ctx: StreamRequestContext): StreamRequestDecision {
  const { settings } = ctx;
  if (vb.state !== 'active') return refuse(Status.NotMyVbucket, `vbucket ${vb.id} is ${vb.state}`);

  const high = vb.highSeqno;
  let { startSeqno: start, snapStartSeqno: snapStart, snapEndSeqno: snapEnd, vbUuid } = req;
  let end = req.endSeqno;
  if (flag(req.flags, DcpStreamFlag.FromLatest)) {
    start = snapStart = snapEnd = high;
    if (vbUuid === 0) vbUuid = vb.failoverLog.latest.uuid;
  }

  if ((settings.includeXattrs || settings.collections) && !settings.noopEnabled) {
    return refuse(Status.NotSupported, 'noop is mandatory for xattrs and collections (enable_noop=true)');
  }
  if (start > end) return refuse(Status.Erange, `start seqno ${start} is above end seqno ${end}`);
  if (!(snapStart <= start && start <= snapEnd)) {
    return refuse(Status.Erange, `snapshot start ${snapStart} <= start ${start} <= snapshot end ${snapEnd} is required`);
  }

  const parsed = parseStreamFilter(req.value, settings.collections, settings.streamIds, ctx.manifest);
  if (!parsed.ok) {
    const { status, reason, manifestUid } = parsed;
    return manifestUid === undefined ? refuse(status, reason) : { kind: 'refuse', status, reason, manifestUid };
  }
  const { streamId, clientPurgeSeqno } = parsed.filter;

  if (ctx.hasActiveStream(vb.id, streamId)) return refuse(Status.KeyEexists, `a stream already exists for vbucket ${vb.id}`);

  const rollback = vb.failoverLog.needsRollback({
    start,
    highSeqno: high,
    uuid: vbUuid,
    snapStart,
    snapEnd,
    purgeSeqno: vb.purgeSeqno,
    ignorePurged: flag(req.flags, DcpStreamFlag.IgnorePurgedTombstones),
    ...(clientPurgeSeqno === undefined ? {} : { clientPurgeSeqno }),
    ...collectionHighOf(parsed.filter.spec, vb, ctx.manifest),
    strictUuid: flag(req.flags, DcpStreamFlag.StrictVbUuid),
  });
  if (rollback.rollback) return { kind: 'rollback', seqno: rollback.seqno, reason: rollback.reason };

  if (flag(req.flags, DcpStreamFlag.ToLatest)) end = high;
  if (flag(req.flags, DcpStreamFlag.DiskOnly)) end = vb.persistedSeqno;
  if (start > end) return refuse(Status.Erange, `start seqno ${start} is above end seqno ${end} (should have rolled back)`);
  if (start > high) return refuse(Status.Erange, `start seqno ${start} is above the high seqno ${high} (should have rolled back)`);

  if (start === snapStart && snapEnd > high) snapEnd = snapStart;

  return {
    kind: 'accept',
    stream: {
      vbucket: vb.id,
      opaque: req.opaque,
      flags: req.flags,
      start,
      end,
      vbUuid,
      snapStart,
      snapEnd,
      ...(streamId === undefined ? {} : { streamId }),
      filter: parsed.filter,
      failoverLog: vb.failoverLog.toArray().map((e) => ({ vbUuid: e.uuid, seqno: e.seqno })),
      persistedAtStart: vb.persistedSeqno,
    },
  };
}
