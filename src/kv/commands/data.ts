/**
 * Document commands on the selected bucket, each on the collection its key names (keys.ts)
 * (dcp.md §2.3; SDK encodings in
 * couchbase-sdk-bootstrap.md §4): GET/GETQ/GETK/GETKQ, SET/ADD/REPLACE and quiet forms, DELETE,
 * INCR/DECR, APPEND/PREPEND, TOUCH, GAT, GET_META.
 *
 * The vbucket in the header must be the key's vbucket and active here, else NotMyVbucket with
 * the cluster map (the engine checks both). Quiet commands answer nothing on success (and GETQ
 * nothing on a miss). Mutation replies carry the 16-byte token when MUTATION_SEQNO was granted.
 */
import { Opcode, isQuietOpcode } from '../../codec/opcodes.js';
import { Status } from '../../codec/status.js';
import { Feature } from '../../codec/features.js';
import { Datatype } from '../../codec/datatype.js';
import { findFrameInfo, RequestFrameId } from '../../codec/frame-info.js';
import { replyTo, type Packet } from '../../codec/packet.js';
import { decodeEvictKeyRequest, decodeGetRequest, encodeGetResponseFrame, encodeGetResponseFrameFrom } from '../../codec/ops/get.js';
import { decodeStoreRequest, decodeConcatRequest, encodeMutationResponseFrame } from '../../codec/ops/mutation.js';
import { decodeDeleteRequest } from '../../codec/ops/delete.js';
import { decodeArithRequest, encodeArithResponse } from '../../codec/ops/arith.js';
import { decodeTouchRequest, encodeTouchResponse } from '../../codec/ops/touch.js';
import { decodeGetMetaRequest, encodeGetMetaResponse } from '../../codec/ops/get-meta.js';
import { EngineError, isEngineError } from '../../engine/errors.js';
import { RecordOffsets, recordDatatype, recordFlags, recordValueStart } from '../../engine/record-view.js';
import type { MutationResult } from '../../engine/types.js';
import type { StoreMode } from '../../engine/mutations.js';
import { errorReply } from '../replies.js';
import { KvReplyError } from '../errors.js';
import { collectionOf, documentKey, incomingValue, outgoingDatatype } from './keys.js';
import { durabilityOf, durableOutcome } from './durability.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';

function token(session: Session, r: MutationResult): { vbUuid: number; seqno: number } | undefined {
  return session.features.has(Feature.MutationSeqno) ? { vbUuid: r.token.vbuuid, seqno: r.token.seqno } : undefined;
}

/** Quiet success → no reply; loud → the reply (a codec frame: this is the hot path, see codec/ops/get.ts). */
function mutationReply(session: Session, req: Packet, r: MutationResult): Reply {
  if (isQuietOpcode(req.opcode)) return null;
  return encodeMutationResponseFrame(req.opcode, req.opaque, r.cas, token(session, r));
}

/** GETK/GETKQ echo the key (as the client sent it, collection prefix included). */
const GETK: ReadonlySet<number> = new Set([Opcode.GetK, Opcode.GetKQ]);
const EMPTY = Buffer.alloc(0);

function get(session: Session, req: Packet): Reply {
  const { key } = decodeGetRequest(req);
  try {
    const collection = collectionOf(session, key);
    const docKey = documentKey(session, key);
    // Most hits are answered from the stored bytes, with no Item (Collection.residentRecord).
    const raw = collection.residentRecord(docKey, req.vbucket);
    if (raw) {
      session.stats.ops.getHits++;
      return encodeGetResponseFrameFrom(req.opcode, req.opaque, recordFlags(raw), outgoingDatatype(session, recordDatatype(raw)), GETK.has(req.opcode) ? key : EMPTY, raw, RecordOffsets.CAS, recordValueStart(raw));
    }
    if (raw === undefined) throw new EngineError('KEY_ENOENT');
    const item = collection.get(docKey, req.vbucket);
    session.stats.ops.getHits++;
    return encodeGetResponseFrame(req.opcode, req.opaque, item.cas, item.flags, outgoingDatatype(session, item.datatype), GETK.has(req.opcode) ? key : EMPTY, item.value);
  } catch (err) {
    // `get_misses` counts client GETs only (the engine's read counters also see internal lookups).
    if (!isEngineError(err, 'KEY_ENOENT')) throw err;
    session.stats.ops.getMisses++;
    // GETQ/GETKQ stay silent on a miss (memcached quiet semantics).
    if (isQuietOpcode(req.opcode)) return null;
    // kv_engine get_context.cc `noSuchItem`: a bare KEY_ENOENT (no error context), and GETK
    // echoes the key so that a client matching replies by key can tell which one missed.
    return replyTo(req, { status: Status.KeyEnoent, key: GETK.has(req.opcode) ? key : EMPTY });
  }
}

/**
 * GET_REPLICA (0x83): a document from this node's replica of its vbucket, answered as GET is
 * (flags, CAS, datatype, value); what the SDK's getAnyReplica/getAllReplicas send to replica nodes.
 */
function getReplica(session: Session, req: Packet): Reply {
  const { key } = decodeGetRequest(req);
  const item = collectionOf(session, key).replicaGet(documentKey(session, key), req.vbucket);
  return encodeGetResponseFrame(req.opcode, req.opaque, item.cas, item.flags, outgoingDatatype(session, item.datatype), EMPTY, item.value);
}

/**
 * EVICT_KEY (0x93): eject a persisted document's value from memory (Collection.evictKey). kv_engine
 * answers the outcome as text in the body ("Ejected."; ep_testsuite_common.cc `evict_key` checks
 * it), KEY_ENOENT for no document and KEY_EEXISTS for one not yet on disk.
 */
const EJECTED = Buffer.from('Ejected.');
function evictKey(session: Session, req: Packet): Reply {
  const { key } = decodeEvictKeyRequest(req);
  collectionOf(session, key).evictKey(documentKey(session, key), req.vbucket);
  return replyTo(req, { value: EJECTED });
}

const STORE_MODES: Record<number, StoreMode> = {
  [Opcode.Set]: 'set',
  [Opcode.SetQ]: 'set',
  [Opcode.Add]: 'add',
  [Opcode.AddQ]: 'add',
  [Opcode.Replace]: 'replace',
  [Opcode.ReplaceQ]: 'replace',
};

/**
 * Not `async`: a sync throw is answered like a rejection (connection.ts `safely`). A write
 * acknowledged from memory is answered in this turn, with no promise (Collection.storeItemNow);
 * only a write that waits for the disk returns one.
 */
function store(session: Session, req: Packet): Reply | Promise<Reply> {
  const r = decodeStoreRequest(req);
  const mode = STORE_MODES[req.opcode]!;
  // ADD creates, so there is no version to compare with (kv_engine add_validator: ExpectedCas::NotSet).
  if (mode === 'add' && r.cas !== 0n) throw new KvReplyError(Status.Einval, 'ADD does not take a CAS');
  const preserveExpiry = findFrameInfo(req.framingExtras, RequestFrameId.PreserveTtl) !== undefined;
  const durability = durabilityOf(req);
  const bucket = session.bucket!;
  // A value with datatype XATTR carries the document's xattrs in front of the body (keys.ts).
  const v = incomingValue(session, r.datatype, r.value, bucket.maxJsonDepth);
  const written = collectionOf(session, r.key).storeItemNow(
    mode,
    documentKey(session, r.key),
    v.value,
    { cas: r.cas, flags: r.flags, expiry: r.expiration, datatype: v.datatype, preserveExpiry, durability: durability?.level, xattrs: v.xattrs },
    req.vbucket,
  );
  if (!(written instanceof Promise)) return mutationReply(session, req, written);
  return durableOutcome(bucket, written, durability).then((w) => mutationReply(session, req, w));
}

async function concat(session: Session, req: Packet): Promise<Reply> {
  const r = decodeConcatRequest(req);
  const side = req.opcode === Opcode.Append || req.opcode === Opcode.AppendQ ? 'append' : 'prepend';
  const target = collectionOf(session, r.key);
  const key = documentKey(session, r.key);
  const durability = durabilityOf(req);
  const written = await durableOutcome(session.bucket!, side === 'append'
    ? target.append(key, r.value, r.cas, req.vbucket, durability?.level)
    : target.prepend(key, r.value, r.cas, req.vbucket, durability?.level), durability);
  return mutationReply(session, req, written);
}

async function remove(session: Session, req: Packet): Promise<Reply> {
  const r = decodeDeleteRequest(req);
  const durability = durabilityOf(req);
  const written = await durableOutcome(session.bucket!, collectionOf(session, r.key).delete(documentKey(session, r.key), { cas: r.cas, durability: durability?.level }, req.vbucket), durability);
  return mutationReply(session, req, written);
}

async function arith(session: Session, req: Packet): Promise<Reply> {
  const r = decodeArithRequest(req);
  const target = collectionOf(session, r.key);
  const key = documentKey(session, r.key);
  const durability = durabilityOf(req);
  const opts = { delta: r.delta, initial: r.initial, expiry: r.expiration, cas: req.cas, durability: durability?.level };
  const isIncr = req.opcode === Opcode.Increment || req.opcode === Opcode.IncrementQ;
  const result = await durableOutcome(session.bucket!, isIncr ? target.increment(key, opts, req.vbucket) : target.decrement(key, opts, req.vbucket), durability);
  if (isQuietOpcode(req.opcode)) return null;
  return encodeArithResponse(req.opcode, { value: result.value, cas: result.cas, token: token(session, result) }, { opaque: req.opaque });
}

/**
 * TOUCH answers with the CAS; GAT and GATQ with the document. GATQ is quiet the way GETQ is: the
 * hit is answered and the miss is not (kv_engine daemon/protocol/mcbp/gat_context.cc `noSuchItem`).
 */
async function touch(session: Session, req: Packet): Promise<Reply> {
  const r = decodeTouchRequest(req);
  let written: MutationResult;
  try {
    written = await collectionOf(session, r.key).touch(documentKey(session, r.key), r.expiration, req.vbucket);
  } catch (err) {
    if (!isEngineError(err, 'KEY_ENOENT')) throw err;
    // gat_context.cc noSuchItem: GATQ stays silent, TOUCH and GAT get a bare KEY_ENOENT.
    return req.opcode === Opcode.GatQ ? null : replyTo(req, { status: Status.KeyEnoent });
  }
  if (req.opcode === Opcode.Touch) return encodeTouchResponse(written.cas, { opaque: req.opaque });
  const item = written.item;
  return encodeGetResponseFrame(req.opcode, req.opaque, item.cas, item.flags, outgoingDatatype(session, item.datatype), EMPTY, item.value);
}

function getMeta(session: Session, req: Packet): Reply {
  const r = decodeGetMetaRequest(req);
  try {
    const item = collectionOf(session, r.key).getMeta(documentKey(session, r.key), req.vbucket);
    // Tombstones report their delete time in the expiry field, as kv_engine does.
    const response = {
      deleted: item.deleted,
      flags: item.flags,
      expiry: item.deleted ? item.deleteTime : item.expiry,
      revSeqno: item.revSeqno,
      cas: item.cas,
      // XATTR says the version has xattrs, the last tie-breaker of XDCR's conflict resolution.
      // The stored datatype as it is, whatever the connection negotiated: kv's
      // get_meta_context.cc sendResponse copies info.datatype with no datatype filter.
      ...(r.version === 2 ? { datatype: (item.datatype & Datatype.Json) | (item.xattrs !== null ? Datatype.Xattr : 0) } : {}),
    };
    const reply = encodeGetMetaResponse(response, { opaque: req.opaque });
    reply.opcode = req.opcode;
    return reply;
  } catch (err) {
    if (!isEngineError(err, 'KEY_ENOENT')) throw err;
    // get_meta_context.cc noSuchItem: GETQ_META stays silent, GET_META is a bare KEY_ENOENT.
    return r.quiet ? null : replyTo(req, { status: Status.KeyEnoent });
  }
}

/**
 * FLUSH and FLUSHQ: kv_engine keeps both opcodes but supports neither (mcbp/protocol/opcode.cc
 * `Flush_Unsupported`, `Flushq_Unsupported`): NotSupported, the quiet one too (a quiet command
 * stays silent on success only). A bucket is flushed over REST (`controller/doFlush`).
 */
function unsupported(session: Session, req: Packet): Reply {
  return errorReply(session, req, Status.NotSupported, 'not supported by Freshet');
}

const data = (opcode: number, handler: CommandSpec['handler']): CommandSpec => ({ opcode, handler, auth: true, bucket: true });

export const DATA_COMMANDS: readonly CommandSpec[] = [
  ...[Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ].map((op) => data(op, get)),
  data(Opcode.GetReplica, getReplica),
  data(Opcode.EvictKey, evictKey),
  ...[Opcode.Set, Opcode.SetQ, Opcode.Add, Opcode.AddQ, Opcode.Replace, Opcode.ReplaceQ].map((op) => data(op, store)),
  ...[Opcode.Append, Opcode.AppendQ, Opcode.Prepend, Opcode.PrependQ].map((op) => data(op, concat)),
  ...[Opcode.Delete, Opcode.DeleteQ].map((op) => data(op, remove)),
  ...[Opcode.Increment, Opcode.IncrementQ, Opcode.Decrement, Opcode.DecrementQ].map((op) => data(op, arith)),
  ...[Opcode.Touch, Opcode.Gat, Opcode.GatQ].map((op) => data(op, touch)),
  ...[Opcode.GetMeta, Opcode.GetQMeta].map((op) => data(op, getMeta)),
  ...[Opcode.Flush, Opcode.FlushQ].map((op) => data(op, unsupported)),
];
