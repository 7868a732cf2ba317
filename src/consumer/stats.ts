/**
 * Monotonic counters, one per branch outcome (practice 14), after cbdatasource's
 * `BucketDataSourceStats` (its 130 `Tot*` fields, dcp.md §4.1) in lowerCamelCase, plus the
 * branches Freshet's consumer adds (unknown messages skipped, dead connections, from/to 'now',
 * persistence gating). Tests assert deltas of these counters instead of mocking internals.
 *
 * The list is data: adding a counter is one line here, and `newStats()` / `copyStats()` follow.
 */
export const STAT_NAMES = [
  'totStart',
  'totKick',
  'totKickDeduped',
  'totKickOk',

  'totRefreshCluster',
  'totRefreshClusterConnectBucket',
  'totRefreshClusterConnectBucketErr',
  'totRefreshClusterConnectBucketOk',
  'totRefreshClusterBucketUUIDErr',
  'totRefreshClusterVBMNilErr',
  'totRefreshClusterKickWorkers',
  'totRefreshClusterStopped',
  'totRefreshClusterAllServerURLsConnectBucketErr',
  'totRefreshClusterStreamingUpdate',
  'totRefreshClusterDone',

  'totRefreshWorkers',
  'totRefreshWorkersVBucketIDErr',
  'totRefreshWorkersMasterIdxErr',
  'totRefreshWorkersMasterServerErr',
  'totRefreshWorkersRemoveWorker',
  'totRefreshWorkersAddWorker',
  'totRefreshWorkersKickWorker',
  'totRefreshWorkersDone',

  'totWorkerStart',
  'totWorkerDone',
  'totWorkerBody',
  'totWorkerConnect',
  'totWorkerConnectErr',
  'totWorkerConnectOk',
  'totWorkerAuth',
  'totWorkerAuthErr',
  'totWorkerAuthFail',
  'totWorkerAuthOk',
  'totWorkerUPROpenErr',
  'totWorkerUPROpenOk',
  'totWorkerClientClose',
  'totWorkerReconnectSleep',
  'totWorkerReceive',
  'totWorkerHandleRecv',
  'totWorkerHandleRecvErr',
  'totWorkerHandleRecvOk',
  'totWorkerConnLost',
  'totWorkerDeadConnection',

  'totUPRDataChange',
  'totUPRDataChangeStateErr',
  'totUPRDataChangeMutation',
  'totUPRDataChangeDeletion',
  'totUPRDataChangeExpiration',
  'totUPRDataChangeErr',
  'totUPRDataChangeOk',
  'totUPRCloseStream',
  'totUPRCloseStreamRes',
  'totUPRCloseStreamResStateErr',
  'totUPRCloseStreamResErr',
  'totUPRCloseStreamResOk',
  'totUPRStreamReq',
  'totUPRStreamReqWant',
  'totUPRStreamReqRes',
  'totUPRStreamReqResStateErr',
  'totUPRStreamReqResFail',
  'totUPRStreamReqResFailNotMyVBucket',
  'totUPRStreamReqResFailERange',
  'totUPRStreamReqResFailENoMem',
  'totUPRStreamReqResFailOther',
  'totUPRStreamReqResRollback',
  'totUPRStreamReqResRollbackStart',
  'totUPRStreamReqResRollbackErr',
  'totUPRStreamReqResWantAfterRollback',
  'totUPRStreamReqResKick',
  'totUPRStreamReqResSuccess',
  'totUPRStreamReqResSuccessOk',
  'totUPRStreamReqResFLogErr',
  'totUPRStreamReqSkippedDone',
  'totUPRStreamEnd',
  'totUPRStreamEndStateErr',
  'totUPRStreamEndKick',
  'totUPRStreamEndDone',
  'totUPRStreamEndClosed',
  'totUPRStreamEndRollback',
  'totUPRStreamEndRetrySleep',
  'totUPRStreamEndFilterEmpty',
  'totUPRSystemEvent',
  'totUPRSeqnoAdvanced',
  'totUPRStreamReqResFailUnknownCollection',
  'totCollectionsManifest',
  'totCollectionsManifestErr',
  'totUPRSnapshot',
  'totUPRSnapshotStateErr',
  'totUPRSnapshotStart',
  'totUPRSnapshotStartErr',
  'totUPRSnapshotOk',
  'totUPRNoop',
  'totUPRControl',
  'totUPRControlErr',
  'totUPRControlOptionalRefused',
  'totUPRBufferAck',
  'totUPRBufferAckBytes',
  'totUPRUnknown',
  'totUPRUnsupported',
  'totUPRStaleDrop',
  'totUPRMalformed',
  'totUPROutsideSnapshot',

  'totWantCloseRequestedVBucketErr',
  'totWantClosingVBucketErr',

  'totSelectBucketErr',
  'totHandShakeErr',
  'totGetVBucketMetaData',
  'totGetVBucketMetaDataUnmarshalErr',
  'totGetVBucketMetaDataErr',
  'totGetVBucketMetaDataOk',
  'totSetVBucketMetaData',
  'totSetVBucketMetaDataMarshalErr',
  'totSetVBucketMetaDataErr',
  'totSetVBucketMetaDataOk',
  'totRollbackMetaDataFix',

  'totPingTimeout',
  'totPingReq',
  'totPingReqDone',

  'totFromNowResolve',
  'totFromNowResolveErr',
  'totToNowResolve',
  'totToNowResolveErr',
  'totComplete',

  'totPersistenceHeld',
  'totPersistenceReleased',
  'totPersistencePoll',
  'totPersistencePollErr',
] as const;

export type StatName = (typeof STAT_NAMES)[number];
export type BucketDataSourceStats = Record<StatName, number>;

export function newStats(): BucketDataSourceStats {
  return Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as BucketDataSourceStats;
}

/** An immutable snapshot (cbdatasource `Stats(dest)` / `AtomicCopyTo`). */
export function copyStats(s: BucketDataSourceStats): Readonly<BucketDataSourceStats> {
  return Object.freeze({ ...s });
}

/** `after - before` per counter, only the non-zero ones: handy in tests and logs. */
export function statsDelta(before: Readonly<BucketDataSourceStats>, after: Readonly<BucketDataSourceStats>): Partial<BucketDataSourceStats> {
  const out: Partial<BucketDataSourceStats> = {};
  for (const n of STAT_NAMES) if (after[n] !== before[n]) out[n] = after[n] - before[n];
  return out;
}
