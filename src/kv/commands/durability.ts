/**
 * The durability requirement of a KV mutation (request frame info 1, dcp.md §2.1; kv_engine
 * docs/SyncWrites.md), and the SyncWrite timeout.
 *
 * Levels on the wire: 1 majority, 2 majorityAndPersistActive, 3 persistToMajority; anything else
 * is DurabilityInvalidLevel (0xa0). Freshet is one node, so a majority is this node: `majority` is
 * met in memory, the persisting levels once the write is on disk (engine WriteMode `sync`). A
 * SyncWrite that is not durable within its timeout answers SyncWriteAmbiguous (0xa3): the write
 * may still complete, as in Couchbase, and the key stays held until it does.
 */
import { decodeDurability, findFrameInfo, RequestFrameId } from '../../codec/frame-info.js';
import type { Packet } from '../../codec/packet.js';
import { EngineError } from '../../engine/errors.js';
import type { DurabilityLevel } from '../../engine/types.js';
import type { Bucket } from '../../engine/bucket.js';

const LEVELS: Record<number, DurabilityLevel> = { 1: 'majority', 2: 'majorityAndPersistActive', 3: 'persistToMajority' };

/**
 * kv_engine's default SyncWrite timeout when the frame has none (`durability_timeout` is applied
 * by the client normally; the server default in ep-engine configuration is 30 s).
 */
export const DEFAULT_SYNC_WRITE_TIMEOUT_MS = 30_000;

export interface Durability {
  readonly level: DurabilityLevel;
  readonly timeoutMs: number;
}

/** The request's durability requirement, or undefined for a plain write. */
export function durabilityOf(req: Packet): Durability | undefined {
  const frame = findFrameInfo(req.framingExtras, RequestFrameId.DurabilityRequirement);
  return frame === undefined ? undefined : parseDurability(frame);
}

/**
 * A DurabilityRequirement frame's data: a bad length is Einval (ProtocolError), a level other than
 * 1-3 DurabilityInvalidLevel, as kv_engine's `cb::durability::Requirements` parse.
 */
export function parseDurability(frame: Buffer): Durability {
  const { level, timeoutMs } = decodeDurability(frame);
  const name = LEVELS[level];
  if (name === undefined) throw new EngineError('DURABILITY_INVALID_LEVEL', `durability level ${level} is not 1, 2 or 3`);
  // Timeout 0 means "the server's default" (kv_engine: a 0 timeout in the frame is not allowed
  // to mean "no wait"); 0xffff is "infinite", kept as a very long wait.
  return { level: name, timeoutMs: timeoutMs === undefined || timeoutMs === 0 ? DEFAULT_SYNC_WRITE_TIMEOUT_MS : timeoutMs };
}

/**
 * The write's outcome: a SyncWrite (its level, or the bucket's `durabilityMinLevel`, persists) is
 * waited for at most its timeout, past which it is ambiguous; a plain write resolves at once and
 * needs no timer.
 */
export function durableOutcome<T>(bucket: Bucket, write: Promise<T>, durability: Durability | undefined): Promise<T> {
  if (bucket.writeMode(durability?.level) !== 'sync') return write;
  const ms = durability?.timeoutMs ?? DEFAULT_SYNC_WRITE_TIMEOUT_MS;
  // One promise and one timer per SyncWrite (not a race of two promises and a `finally`): every
  // persisting write of a durable load passes here.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new EngineError('SYNC_WRITE_AMBIGUOUS', `not durable within ${ms} ms; the write may still complete`)), ms);
    write.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, (err: unknown) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
