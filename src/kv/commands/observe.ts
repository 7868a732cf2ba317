/**
 * OBSERVE 0x92 (codec/ops/observe.ts): for each key, whether its current version is on disk.
 * SDKs use it for the legacy `persistTo`/`replicateTo` durability (polling until the write they
 * made reports persisted), the way before SyncWrites; OBSERVE_SEQNO (seqnos.ts) is the seqno-based
 * variant of the same poll.
 *
 * As kv_engine ep_engine.cc `observe` (via `getKeyStats` with deleted items wanted):
 * - a live version reports FoundPersisted once its seqno is at or below the vbucket's persisted
 *   seqno (the exact seqno the flusher has on disk, vbucket.ts), FoundNotPersisted before that,
 *   with its CAS, so the client can tell its own write from a later one;
 * - a deletion not yet on disk is LogicallyDeleted (with the tombstone's CAS); once on disk kv_engine
 *   drops it from its hash table, so it reports NotFound with CAS 0, as does a key never written;
 * - a SyncWrite in progress is not observed: reads see the committed version (in-flight.ts).
 * The entry's vbucket must exist and not be dead (else NotMyVbucket for the whole request); a key
 * that does not hash to the vbucket named is not in it (NotFound), as kv_engine looks it up there.
 * Replica vbuckets answer too: that is how `replicateTo` polls replicas. Keys carry the collection
 * prefix when Collections was negotiated (keys.ts), and each key's collection needs Read
 * (kv_engine checks the privilege per key; access.ts).
 */
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import { decodeObserveRequest, encodeObserveResponse, ObserveKeyState, type ObserveEntry } from '../../codec/ops/observe.js';
import { Privilege } from '../../auth/roles.js';
import { EngineError } from '../../engine/errors.js';
import type { Item } from '../../engine/types.js';
import { requireCollectionPrivilege } from '../access.js';
import { collectionOf, documentKey } from './keys.js';
import type { Session } from '../session.js';
import type { CommandSpec } from '../dispatch.js';

/** The key state of `item` given the vbucket's persisted seqno. */
export function observedState(item: Item | undefined, persistedSeqno: number): { state: number; cas: bigint } {
  const persisted = item !== undefined && item.seqno <= persistedSeqno;
  if (item === undefined || (item.deleted && persisted)) return { state: ObserveKeyState.NotFound, cas: 0n };
  if (item.deleted) return { state: ObserveKeyState.LogicallyDeleted, cas: item.cas };
  return { state: persisted ? ObserveKeyState.FoundPersisted : ObserveKeyState.FoundNotPersisted, cas: item.cas };
}

function observe(session: Session, req: Packet): Packet {
  const keys = decodeObserveRequest(req);
  const bucket = session.bucket!;
  const entries: ObserveEntry[] = [];
  for (const { vbucket, key } of keys) {
    if (vbucket >= bucket.numVBuckets || bucket.vbucketState(vbucket) === 'dead') {
      throw new EngineError('NOT_MY_VBUCKET', `vbucket ${vbucket} is not here`);
    }
    const collection = collectionOf(session, key);
    requireCollectionPrivilege(session, collection.id, Privilege.Read);
    const docKey = documentKey(session, key);
    const item = bucket.vbucketOf(docKey) === vbucket ? collection.lookup(docKey) : undefined;
    entries.push({ vbucket, key, ...observedState(item, bucket.vbucket(vbucket).persistedSeqno) });
  }
  // Persist and replicate time estimates are hints for the poll interval; 0 = poll at will.
  return encodeObserveResponse({ entries, persistTimeMs: 0, replicateTimeMs: 0 }, { opaque: req.opaque });
}

export const OBSERVE_COMMANDS: readonly CommandSpec[] = [{ opcode: Opcode.Observe, handler: observe, auth: true, bucket: true }];
