/**
 * KV range scans, Couchbase 7.6 (kv_engine docs/range_scans/; codec/ops/range-scan.ts): the SDK's
 * `collection.scan()` creates a scan per vbucket, continues it until RangeScanComplete, and may
 * cancel it.
 *
 * - Create: the collection must exist (UnknownCollection) and the user must read it (NoAccess);
 *   the vbucket must be active here (NotMyVbucket). Snapshot requirements: a `vb_uuid` other than
 *   the vbucket's is VbUuidNotEqual (0xA8); a `seqno` not yet persisted waits up to `timeout_ms`,
 *   then TMPFAIL; `seqno_exists` also needs that seqno to be at most the vbucket's high seqno
 *   (NotStored otherwise). A range or sample with no keys is KeyEnoent, which the SDK takes as an
 *   empty vbucket (range_scan_orchestrator.cxx). The keys are taken now (engine/range-scan.ts).
 * - Continue: items in key order, as several responses of at most `BATCH_BYTES` each; the last
 *   carries RangeScanMore when the item, byte or time limit stopped it, RangeScanComplete at the
 *   end (the scan is then gone). Every continue returns at least one item unless the scan ended.
 *   A document deleted or expired since the create is skipped; values go without xattrs, as
 *   without HELLO RangeScanIncludeXattr.
 * - Cancel: Success, or KeyEnoent for an unknown scan.
 *
 * Scans belong to the bucket. An idle scan is dropped after `SCAN_LIFETIME_MS` (kv_engine's
 * `range_scan_max_lifetime`, 60 s), and at most `MAX_SCANS` live per bucket: beyond it a create
 * gets TMPFAIL, on which the SDK lowers its concurrency and retries.
 */
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import { replyTo } from '../../codec/packet.js';
import { Status } from '../../codec/status.js';
import { Datatype } from '../../codec/datatype.js';
import {
  decodeRangeScanCancelRequest, decodeRangeScanContinueRequest, decodeRangeScanCreateRequest, encodeRangeScanContinueResponse,
  encodeRangeScanCreateResponse, scanItemSize, type RangeScanCreateRequest, type ScanItem,
} from '../../codec/ops/range-scan.js';
import { randomBytes } from 'node:crypto';
import { Privilege } from '../../auth/roles.js';
import type { Bucket } from '../../engine/bucket.js';
import { EngineError } from '../../engine/errors.js';
import { keysInRange, sampleKeys } from '../../engine/range-scan.js';
import { requireCollectionPrivilege } from '../access.js';
import { errorReply } from '../replies.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';

const SCAN_LIFETIME_MS = 60_000;
/**
 * Scans open at once per bucket: a scan keeps its vbucket's keys (1/1024 of the bucket's, on the
 * default layout) until its last continue, so this bounds them to about four copies of the
 * bucket's key set; an SDK scan opens one per vbucket.
 */
const MAX_SCANS = 4096;
/** Items are sent in responses of about this many bytes (kv_engine leaves the split to the server). */
const BATCH_BYTES = 64 * 1024;
/** How often a create waiting for its seqno to persist looks again. */
const PERSIST_POLL_MS = 5;

interface Scan {
  readonly vb: number;
  readonly collection: number;
  readonly keyOnly: boolean;
  /** Latin1 strings (engine/range-scan.ts). */
  readonly keys: string[];
  next: number;
  lastUsed: number;
}

const scansByBucket = new WeakMap<Bucket, { readonly scans: Map<string, Scan>; sweptAt: number }>();
/** Idle scans are looked for at most this often: an SDK scan sends three requests per vbucket. */
const SWEEP_INTERVAL_MS = 1000;

/** The bucket's live scans, the idle ones dropped. */
function scansOf(bucket: Bucket): Map<string, Scan> {
  let entry = scansByBucket.get(bucket);
  if (entry === undefined) scansByBucket.set(bucket, (entry = { scans: new Map(), sweptAt: 0 }));
  const now = Date.now();
  if (now - entry.sweptAt >= SWEEP_INTERVAL_MS) {
    entry.sweptAt = now;
    for (const [id, scan] of entry.scans) if (now - scan.lastUsed > SCAN_LIFETIME_MS) entry.scans.delete(id);
  }
  return entry.scans;
}

function activeVBucket(bucket: Bucket, vb: number): void {
  if (vb >= bucket.numVBuckets || bucket.vbucketInfo(vb).state !== 'active') throw new EngineError('NOT_MY_VBUCKET', `vbucket ${vb} is not active here`);
}

/** Waits (up to the request's timeout) for the snapshot requirements; a refusal, or null when met. */
async function snapshotRefusal(session: Session, req: Packet, c: RangeScanCreateRequest): Promise<Packet | null> {
  const s = c.snapshot;
  if (s === undefined) return null;
  const bucket = session.bucket!;
  const info = (): ReturnType<Bucket['vbucketInfo']> => bucket.vbucketInfo(c.vbucket);
  if (String(info().uuid) !== s.vbUuid) return errorReply(session, req, Status.VbUuidNotEqual, `vbucket uuid is ${info().uuid}`);
  if (s.seqnoExists && s.seqno > info().highSeqno) return errorReply(session, req, Status.NotStored, `seqno ${s.seqno} does not exist`);
  const deadline = Date.now() + (s.timeoutMs ?? 0);
  while (info().persistedSeqno < s.seqno) {
    if (Date.now() >= deadline) return errorReply(session, req, Status.Etmpfail, `seqno ${s.seqno} is not persisted yet`);
    await new Promise((resolve) => setTimeout(resolve, PERSIST_POLL_MS));
  }
  return null;
}

async function create(session: Session, req: Packet): Promise<Reply> {
  const c = decodeRangeScanCreateRequest(req);
  const bucket = session.bucket!;
  if (!bucket.manifest.hasCollection(c.collection)) throw bucket.manifest.unknownCollection(c.collection);
  requireCollectionPrivilege(session, c.collection, Privilege.Read);
  activeVBucket(bucket, c.vbucket);
  const refused = await snapshotRefusal(session, req, c);
  if (refused !== null) return refused;
  const keys = 'range' in c.scan ? keysInRange(bucket, c.vbucket, c.collection, c.scan.range) : sampleKeys(bucket, c.vbucket, c.collection, c.scan.sampling.samples, c.scan.sampling.seed);
  if (keys.length === 0) return errorReply(session, req, Status.KeyEnoent, 'no keys in the range');
  const scans = scansOf(bucket);
  if (scans.size >= MAX_SCANS) return errorReply(session, req, Status.Etmpfail, `${scans.size} range scans are open`);
  const id = randomBytes(16);
  scans.set(id.toString('hex'), { vb: c.vbucket, collection: c.collection, keyOnly: c.keyOnly, keys, next: 0, lastUsed: Date.now() });
  session.stats.rangeScan.created++;
  return encodeRangeScanCreateResponse(id, { opaque: req.opaque });
}

/** The scan's next item, or null for a key whose document is gone. */
function itemOf(bucket: Bucket, scan: Scan, key: Buffer): ScanItem | null {
  const item = bucket.collection(scan.collection).current(key);
  if (item === undefined || item.deleted) return null;
  if (scan.keyOnly) return { key };
  return { key, doc: { flags: item.flags, expiry: item.expiry, seqno: item.seqno, cas: item.cas, datatype: item.datatype & ~Datatype.Xattr, value: item.value } };
}

function continueScan(session: Session, req: Packet): Reply {
  const { id, itemLimit, timeLimitMs, byteLimit } = decodeRangeScanContinueRequest(req);
  const bucket = session.bucket!;
  const scans = scansOf(bucket);
  const key = id.toString('hex');
  const scan = scans.get(key);
  if (scan === undefined) return errorReply(session, req, Status.KeyEnoent, 'no such range scan');
  try {
    if (!bucket.manifest.hasCollection(scan.collection)) throw bucket.manifest.unknownCollection(scan.collection);
    requireCollectionPrivilege(session, scan.collection, Privilege.Read);
    activeVBucket(bucket, scan.vb);
  } catch (err) {
    scans.delete(key);
    throw err;
  }
  const deadline = timeLimitMs > 0 ? Date.now() + timeLimitMs : Infinity;
  const replies: Packet[] = [];
  let batch: ScanItem[] = [];
  let batchBytes = 0;
  let count = 0;
  let bytes = 0;
  while (scan.next < scan.keys.length) {
    if (count > 0 && ((itemLimit > 0 && count >= itemLimit) || (byteLimit > 0 && bytes >= byteLimit) || Date.now() >= deadline)) break;
    const item = itemOf(bucket, scan, Buffer.from(scan.keys[scan.next++]!, 'latin1'));
    if (item === null) continue;
    const size = scanItemSize(item);
    if (batchBytes + size > BATCH_BYTES && batch.length > 0) {
      replies.push(encodeRangeScanContinueResponse(batch, scan.keyOnly, Status.Success, { opaque: req.opaque }));
      [batch, batchBytes] = [[], 0];
    }
    batch.push(item);
    batchBytes += size;
    bytes += size;
    count++;
  }
  const done = scan.next >= scan.keys.length;
  if (done) {
    scans.delete(key);
    session.stats.rangeScan.completed++;
  } else scan.lastUsed = Date.now();
  session.stats.rangeScan.items += count;
  replies.push(encodeRangeScanContinueResponse(batch, scan.keyOnly, done ? Status.RangeScanComplete : Status.RangeScanMore, { opaque: req.opaque }));
  return replies;
}

function cancel(session: Session, req: Packet): Packet {
  const id = decodeRangeScanCancelRequest(req);
  if (!scansOf(session.bucket!).delete(id.toString('hex'))) return errorReply(session, req, Status.KeyEnoent, 'no such range scan');
  session.stats.rangeScan.cancelled++;
  return replyTo(req);
}

export const RANGE_SCAN_COMMANDS: readonly CommandSpec[] = [
  { opcode: Opcode.RangeScanCreate, handler: create, auth: true, bucket: true },
  { opcode: Opcode.RangeScanContinue, handler: continueScan, auth: true, bucket: true },
  { opcode: Opcode.RangeScanCancel, handler: cancel, auth: true, bucket: true },
];
