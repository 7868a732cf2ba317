/**
 * The sub-document commands on the KV face (kv_engine docs/SubDocument.md, daemon/subdocument.cc):
 * single-path lookups and mutations 0xc5-0xcf, 0xd2, 0xd3 and the multi-path MULTI_LOOKUP 0xd0 /
 * MULTI_MUTATION 0xd1. Wire formats: codec/ops/subdoc.ts and subdoc-multi.ts; request checks:
 * subdoc/specs.ts; the operations: subdoc/execute.ts; the atomic write: engine/subdoc-write.ts.
 *
 * Replies, as kv sends them:
 * - a single-path failure is the path's status (PATH_ENOENT, ...) with the XERROR context;
 * - MULTI_LOOKUP answers every spec; the header says SUCCESS, or SUBDOC_MULTI_PATH_FAILURE when one
 *   failed (…_DELETED / SUBDOC_SUCCESS_DELETED when ACCESS_DELETED read a tombstone);
 * - MULTI_MUTATION answers the values of the specs that return one (COUNTER), or the index and
 *   status of the first failing spec with SUBDOC_MULTI_PATH_FAILURE; nothing was written then;
 * - a document-level failure (KEY_ENOENT, KEY_EEXISTS for CAS or ADD, EINVAL, ...) is the status
 *   of the whole command with no body.
 * Mutation replies carry the mutation token when MUTATION_SEQNO was negotiated.
 */
import { Opcode } from '../../codec/opcodes.js';
import { Status } from '../../codec/status.js';
import { Feature } from '../../codec/features.js';
import { Datatype } from '../../codec/datatype.js';
import { findFrameInfo, RequestFrameId } from '../../codec/frame-info.js';
import { replyTo, type Packet } from '../../codec/packet.js';
import { SUBDOC_LOOKUP_OPCODES, SUBDOC_MUTATION_OPCODES, SubdocDocFlag, decodeSubdocRequest } from '../../codec/ops/subdoc.js';
import { decodeMultiRequest, encodeLookupResults, encodeMutationFailure, encodeMutationResults } from '../../codec/ops/subdoc-multi.js';
import { encodeMutationToken } from '../../codec/ops/mutation-token.js';
import { Privilege } from '../../auth/roles.js';
import type { Collection } from '../../engine/collection.js';
import { EngineError } from '../../engine/errors.js';
import { LOCKED_CAS } from '../../engine/locks.js';
import type { MutationResult } from '../../engine/types.js';
import { isSubdocError } from '../../subdoc/errors.js';
import { checkDocFlags, checkMultiSpecs, checkSpec, type Spec } from '../../subdoc/specs.js';
import { SpecFailure, runLookups, runMutations, type ExecContext, type MutationPlan } from '../../subdoc/execute.js';
import { decideBase, planToEdit, type Base } from '../../subdoc/document.js';
import { collectionPrivileges } from '../access.js';
import { errorReply } from '../replies.js';
import { collectionOf, documentKey } from './keys.js';
import { durabilityOf, durableOutcome } from './durability.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';

interface Command {
  readonly key: Buffer;
  readonly specs: Spec[];
  readonly docFlags: number;
  readonly expiry: number | undefined;
  readonly multi: boolean;
  /** Bytes after the 16th spec of a multi-path command. */
  readonly excess: boolean;
}

function spec(opcode: number, flags: number, path: Buffer, value: Buffer): Spec {
  return { opcode, flags, path: path.toString('utf8'), value };
}

function decode(req: Packet): Command {
  if (req.opcode === Opcode.SubdocMultiLookup || req.opcode === Opcode.SubdocMultiMutation) {
    const r = decodeMultiRequest(req);
    return { key: r.key, docFlags: r.docFlags, expiry: r.expiry, multi: true, excess: r.excess, specs: r.specs.map((s) => spec(s.opcode, s.flags, s.path, s.value)) };
  }
  const r = decodeSubdocRequest(req);
  return { key: r.key, docFlags: r.docFlags, expiry: r.expiry, multi: false, excess: false, specs: [spec(req.opcode, r.pathFlags, r.path, r.value)] };
}

/** Decode and check a command; a refused one is the reply. */
function prepare(session: Session, req: Packet, mutator: boolean): Command | Packet {
  const cmd = decode(req);
  const xattrEnabled = session.features.has(Feature.Xattr);
  try {
    checkDocFlags(cmd.docFlags, mutator, req.cas);
    if (cmd.multi) checkMultiSpecs(cmd.specs, mutator, cmd.docFlags, xattrEnabled, cmd.excess);
    else checkSpec(cmd.specs[0]!, mutator, false, cmd.docFlags, xattrEnabled);
  } catch (err) {
    if (isSubdocError(err)) return errorReply(session, req, err.status, err.message);
    throw err;
  }
  return cmd;
}

function context(session: Session, target: Collection, key: Buffer): ExecContext {
  const bucket = session.bucket!;
  const mask = collectionPrivileges(session, target.id);
  return {
    vbucketUuid: bucket.vbucketInfo(bucket.vbucketOf(key)).uuid,
    hlcNow: BigInt(Date.now()) * 1_000_000n,
    access: {
      systemRead: (mask & Privilege.SystemXattrRead) !== 0,
      systemWrite: (mask & Privilege.SystemXattrWrite) !== 0,
      userRead: (mask & (Privilege.XattrRead | Privilege.Read)) !== 0,
      userWrite: (mask & (Privilege.XattrWrite | Privilege.Upsert)) !== 0,
    },
  };
}

const jsonDatatype = (session: Session): number => (session.features.has(Feature.Json) ? Datatype.Json : Datatype.Raw);

function lookup(session: Session, req: Packet): Reply {
  const cmd = prepare(session, req, false);
  if (!('specs' in cmd)) return cmd;
  const target = collectionOf(session, cmd.key);
  const key = documentKey(session, cmd.key);
  // ReplicaRead (lookupInAnyReplica) reads this node's replica copy; kv_engine takes the flag only
  // from a connection that negotiated SubdocReplicaRead.
  const replicaRead = (cmd.docFlags & SubdocDocFlag.ReplicaRead) !== 0;
  if (replicaRead && !session.features.has(Feature.SubdocReplicaRead)) return errorReply(session, req, Status.Einval, 'ReplicaRead needs HELLO SubdocReplicaRead');
  const found = replicaRead ? target.replicaLookup(key, req.vbucket) : target.getMeta(key, req.vbucket);
  if (found === undefined) return errorReply(session, req, Status.KeyEnoent, 'no such document');
  // kv fetches with bucket_get, which shows a locked document with CAS 0xffffffffffffffff
  // (reply and $document alike).
  const item = found.deleted || replicaRead ? found : target.get(key, req.vbucket);
  const accessDeleted = (cmd.docFlags & SubdocDocFlag.AccessDeleted) !== 0;
  if (item.deleted && !accessDeleted) return errorReply(session, req, Status.KeyEnoent, 'the document is deleted');
  // A lookup checks the request's CAS as a mutation does (subdocument_context.cc
  // get_document_for_searching): a locked document is LOCKED unless a CAS is given, another
  // document's CAS is KEY_EEXISTS.
  if (item.cas === LOCKED_CAS) {
    if (req.cas === 0n || req.cas === LOCKED_CAS) throw new EngineError('LOCKED', 'the document is locked');
  } else if (req.cas !== 0n && req.cas !== item.cas) {
    return errorReply(session, req, Status.KeyEexists, 'CAS mismatch');
  }
  session.stats.subdoc.lookups++;
  const results = runLookups(item, cmd.specs, context(session, target, key));
  const failed = results.some((r) => r.status !== Status.Success);
  if (cmd.multi) {
    const status = item.deleted
      ? failed ? Status.SubdocMultiPathFailureDeleted : Status.SubdocSuccessDeleted
      : failed ? Status.SubdocMultiPathFailure : Status.Success;
    return replyTo(req, { status, cas: item.cas, value: encodeLookupResults(results) });
  }
  const r = results[0]!;
  if (r.status !== Status.Success) return errorReply(session, req, r.status, 'path lookup failed');
  const withValue = req.opcode !== Opcode.SubdocExists;
  return replyTo(req, {
    status: item.deleted ? Status.SubdocSuccessDeleted : Status.Success,
    cas: item.cas,
    value: withValue ? r.value : Buffer.alloc(0),
    datatype: withValue ? jsonDatatype(session) : Datatype.Raw,
  });
}

async function mutate(session: Session, req: Packet): Promise<Reply> {
  const cmd = prepare(session, req, true);
  if (!('specs' in cmd)) return cmd;
  const target = collectionOf(session, cmd.key);
  const key = documentKey(session, cmd.key);
  const ctx = context(session, target, key);
  const maxDepth = session.bucket!.maxJsonDepth;
  const preserveExpiry = findFrameInfo(req.framingExtras, RequestFrameId.PreserveTtl) !== undefined;
  const durability = durabilityOf(req);
  let base: Base | undefined;
  let plan: MutationPlan | undefined;
  let written: MutationResult;
  try {
    written = await durableOutcome(session.bucket!, target.edit(
      key,
      { ...(cmd.expiry === undefined ? {} : { expiry: cmd.expiry }), preserveExpiry, durability: durability?.level, cas: req.cas },
      (current, cas) => {
        base = decideBase(current, cmd.docFlags, cas);
        plan = runMutations({ base: base.base, deleted: base.deleted, docFlags: cmd.docFlags }, cmd.specs, ctx);
        return planToEdit(plan, maxDepth);
      },
      req.vbucket,
    ), durability);
  } catch (err) {
    if (err instanceof SpecFailure) {
      session.stats.subdoc.mutationFailures++;
      if (!cmd.multi) return errorReply(session, req, err.error.status, err.error.message);
      const status = base?.deleted ? Status.SubdocMultiPathFailureDeleted : Status.SubdocMultiPathFailure;
      return replyTo(req, { status, value: encodeMutationFailure(err.index, err.error.status) });
    }
    if (isSubdocError(err)) return errorReply(session, req, err.status, err.message);
    throw err;
  }
  session.stats.subdoc.mutations++;
  const results = plan!.results;
  const extras = session.features.has(Feature.MutationSeqno)
    ? encodeMutationToken({ vbUuid: written.token.vbuuid, seqno: written.token.seqno })
    : Buffer.alloc(0);
  const status = base!.deleted ? Status.SubdocSuccessDeleted : Status.Success;
  if (cmd.multi) {
    const value = encodeMutationResults(results.map((r) => ({ index: r.index, status: Status.Success, value: r.value })));
    return replyTo(req, { status, cas: written.cas, extras, value });
  }
  const value = results[0]?.value;
  return replyTo(req, { status, cas: written.cas, extras, ...(value ? { value, datatype: jsonDatatype(session) } : {}) });
}

const data = (opcode: number, handler: CommandSpec['handler']): CommandSpec => ({ opcode, handler, auth: true, bucket: true });

export const SUBDOC_COMMANDS: readonly CommandSpec[] = [
  ...SUBDOC_LOOKUP_OPCODES.map((op) => data(op, lookup)),
  data(Opcode.SubdocMultiLookup, lookup),
  ...SUBDOC_MUTATION_OPCODES.map((op) => data(op, mutate)),
  data(Opcode.SubdocMultiMutation, mutate),
];
