/**
 * Sequence-number commands: OBSERVE_SEQNO, GET_ALL_VB_SEQNOS and GET_FAILOVER_LOG (dcp.md §2.3).
 * Clients use them to implement "stream from now" and to learn what is persisted.
 */
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import { decodeObserveSeqnoRequest, encodeObserveSeqnoResponse } from '../../codec/ops/observe-seqno.js';
import { decodeAllVbSeqnosRequest, encodeAllVbSeqnosResponse } from '../../codec/ops/all-vb-seqnos.js';
import { decodeFailoverLogRequest, encodeFailoverLogResponse } from '../../codec/ops/failover-log.js';
import { EngineError } from '../../engine/errors.js';
import { VBUCKET_STATE_CODE, type VBucketState } from '../../engine/types.js';
import type { Session } from '../session.js';
import { collectionsEnabled } from './keys.js';
import type { CommandSpec } from '../dispatch.js';

function observeSeqno(session: Session, req: Packet): Packet {
  const { vbucket, vbUuid } = decodeObserveSeqnoRequest(req);
  const info = session.bucket!.vbucketInfo(vbucket);
  if (info.state === 'dead') throw new EngineError('NOT_MY_VBUCKET', `vbucket ${vbucket} is dead`);
  const index = info.failoverLog.findIndex((e) => e.uuid === vbUuid);
  if (index < 0) throw new EngineError('KEY_ENOENT', `vbucket uuid ${vbUuid} is not in the failover log`);
  const base = { vbucket, vbUuid: info.uuid, lastPersistedSeqno: info.persistedSeqno, currentSeqno: info.highSeqno };
  // An older uuid means a failover happened: report where that branch ended (format 1).
  const response = index === 0 ? base : { ...base, failover: { oldVbUuid: vbUuid, lastSeqnoForOldUuid: info.failoverLog[index - 1]!.seqno } };
  return encodeObserveSeqnoResponse(response, { opaque: req.opaque });
}

/** Filter codes of GET_ALL_VB_SEQNOS: 0 = every live state (kv: active, replica, pending). */
function matchesState(filter: number | undefined, state: VBucketState): boolean {
  if (filter === undefined || filter === 0) return state !== 'dead';
  return VBUCKET_STATE_CODE[state] === filter;
}

/**
 * With a collection id (the 8-byte extras form) the seqnos are that collection's high seqnos
 * (its system events included), how a collection-aware DCP consumer starts "from now" (kv
 * docs/dcp/documentation/commands/get_seqno.md). kv accepts the id only from a connection that
 * negotiated Collections (EINVAL otherwise); an id not in the manifest is UNKNOWN_COLLECTION.
 */
function allVbSeqnos(session: Session, req: Packet): Packet {
  const { state, collectionId } = decodeAllVbSeqnosRequest(req);
  const bucket = session.bucket!;
  if (collectionId !== undefined) {
    if (!collectionsEnabled(session)) throw new EngineError('EINVAL', 'a collection id needs HELLO Collections');
    const manifest = bucket.manifest;
    if (!manifest.hasCollection(collectionId)) {
      throw manifest.unknownCollection(collectionId);
    }
  }
  const entries = [];
  for (let vb = 0; vb < bucket.numVBuckets; vb++) {
    const info = bucket.vbucketInfo(vb);
    if (!matchesState(state, info.state)) continue;
    entries.push({ vbucket: vb, seqno: collectionId === undefined ? info.highSeqno : bucket.collectionHighSeqno(vb, collectionId) });
  }
  return encodeAllVbSeqnosResponse(entries, { opaque: req.opaque });
}

function failoverLog(session: Session, req: Packet): Packet {
  const { vbucket } = decodeFailoverLogRequest(req);
  const info = session.bucket!.vbucketInfo(vbucket);
  const entries = info.failoverLog.map((e) => ({ vbUuid: e.uuid, seqno: e.seqno }));
  return encodeFailoverLogResponse(entries, req.opcode as typeof Opcode.GetFailoverLog, { opaque: req.opaque });
}

export const SEQNO_COMMANDS: readonly CommandSpec[] = [
  { opcode: Opcode.ObserveSeqno, handler: observeSeqno, auth: true, bucket: true },
  { opcode: Opcode.GetAllVbSeqnos, handler: allVbSeqnos, auth: true, bucket: true },
  { opcode: Opcode.GetFailoverLog, handler: failoverLog, auth: true, bucket: true },
];
