/**
 * Per-command authorization on the selected bucket, as kv_engine's privilege chains do it
 * (daemon/mcbp_privileges.cc; docs/rbac.md): each opcode needs privileges, checked against what
 * the user holds on the bucket (src/auth/roles.ts `BucketAccess`).
 *
 * - Document commands are checked on the collection their key names (the LEB128 prefix with
 *   HELLO Collections, else the default collection): Ok runs the command; Fail (the user holds
 *   privileges on the collection, not this one) answers NoAccess (0x24); FailNoPrivileges (none at
 *   all there, or no such collection) answers UnknownCollection with the manifest uid, so the
 *   collection is invisible to the user, as kv_engine's `PrivilegeAccess::getEngineErrorCode`.
 * - Bucket-level commands (observe-seqno, all-vb-seqnos, failover log) need the privilege on the
 *   whole bucket (kv_engine checks them without a scope or collection).
 * - Collection lookups (GET_COLLECTION_ID, GET_SCOPE_ID, GET_COLLECTIONS_MANIFEST) need only some
 *   role on the bucket; their handlers answer for the collections `collectionVisible` shows.
 * - Every other command on a bucket (DCP among them) needs full access to the bucket, so a role
 *   scoped to a collection never reaches data through a command with no finer check.
 * The user's access is compiled once per connection and rebuilt only when the user registry
 * changed (its `generation`), another user authenticated, or another bucket was selected, as
 * kv_engine rebuilds a stale privilege context; revoking a role takes effect on the next command.
 */
import { Opcode } from '../codec/opcodes.js';
import type { Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { decodeLeb128 } from '../codec/leb128.js';
import { SUBDOC_LOOKUP_OPCODES, SUBDOC_MUTATION_OPCODES } from '../codec/ops/subdoc.js';
import { Feature } from '../codec/features.js';
import { BucketAccess, Privilege } from '../auth/roles.js';
import type { Bucket } from '../engine/bucket.js';
import { errorReply, replyForError } from './replies.js';
import { KvReplyError } from './errors.js';
import type { Session } from './session.js';

type Requirement =
  | { readonly on: 'collection'; readonly mask: number; readonly anyOf?: boolean }
  | { readonly on: 'bucket'; readonly mask: number }
  | { readonly on: 'visible' };

const { Read, Insert, Upsert, Delete, MetaRead } = Privilege;
const collection = (mask: number, anyOf = false): Requirement => ({ on: 'collection', mask, anyOf });

/** kv_engine's chains for the commands Freshet serves; an opcode absent here needs full access. */
const REQUIREMENTS: ReadonlyMap<number, Requirement> = new Map<number, Requirement>([
  ...[Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ, Opcode.GetReplica].map((op) => [op, collection(Read)] as const),
  ...[Opcode.Set, Opcode.SetQ, Opcode.Replace, Opcode.ReplaceQ].map((op) => [op, collection(Upsert)] as const),
  ...[Opcode.Append, Opcode.AppendQ, Opcode.Prepend, Opcode.PrependQ, Opcode.Touch].map((op) => [op, collection(Upsert)] as const),
  // requireInsertOrUpsert
  ...[Opcode.Add, Opcode.AddQ].map((op) => [op, collection(Insert | Upsert, true)] as const),
  ...[Opcode.Delete, Opcode.DeleteQ].map((op) => [op, collection(Delete)] as const),
  ...[Opcode.Increment, Opcode.IncrementQ, Opcode.Decrement, Opcode.DecrementQ].map((op) => [op, collection(Read | Upsert)] as const),
  ...[Opcode.Gat, Opcode.GatQ].map((op) => [op, collection(Read | Upsert)] as const),
  ...[Opcode.GetMeta, Opcode.GetQMeta].map((op) => [op, collection(MetaRead)] as const),
  // XDCR's writes (kv_engine: the plain write's privilege; ns_server's data_writer holds it)
  ...[Opcode.SetWithMeta, Opcode.SetQWithMeta].map((op) => [op, collection(Upsert)] as const),
  ...[Opcode.AddWithMeta, Opcode.AddQWithMeta].map((op) => [op, collection(Insert | Upsert, true)] as const),
  ...[Opcode.DelWithMeta, Opcode.DelQWithMeta].map((op) => [op, collection(Delete)] as const),
  // mcbp_privileges.cc: GET_LOCKED and UNLOCK_KEY need Read.
  ...[Opcode.GetLocked, Opcode.UnlockKey].map((op) => [op, collection(Read)] as const),
  // Sub-document commands: lookups read, mutations upsert; xattr specs are checked per spec
  // (commands/subdoc.ts `xattrAccess`), as kv_engine's executor checks them per path.
  ...SUBDOC_LOOKUP_OPCODES.map((op) => [op, collection(Read)] as const),
  [Opcode.SubdocMultiLookup, collection(Read)],
  ...SUBDOC_MUTATION_OPCODES.map((op) => [op, collection(Upsert)] as const),
  [Opcode.SubdocMultiMutation, collection(Upsert)],
  // OBSERVE's keys are in its value: Read is checked per key by the handler (commands/observe.ts).
  [Opcode.Observe, { on: 'visible' }],
  // A range scan's collection is in its JSON value: Read is checked by the handler on create and
  // on every continue (commands/range-scan.ts).
  ...[Opcode.RangeScanCreate, Opcode.RangeScanContinue, Opcode.RangeScanCancel].map((op) => [op, { on: 'visible' }] as const),
  // GET_RANDOM_KEY names its collection in its extras: Read is checked by its handler too.
  [Opcode.GetRandomKey, { on: 'visible' }],
  [Opcode.ObserveSeqno, { on: 'bucket', mask: MetaRead }],
  [Opcode.GetAllVbSeqnos, { on: 'bucket', mask: MetaRead }],
  [Opcode.GetFailoverLog, { on: 'bucket', mask: Read }],
  // TAP streams the default collection of every vbucket: reading the whole bucket (src/tap).
  [Opcode.TapConnect, { on: 'bucket', mask: Read }],
  [Opcode.DeregisterTapClient, { on: 'bucket', mask: Read }],
  ...[Opcode.CollectionsGetId, Opcode.CollectionsGetScopeId, Opcode.CollectionsGetManifest].map((op) => [op, { on: 'visible' }] as const),
]);

interface Compiled {
  readonly generation: number;
  readonly user: string;
  readonly extra: number;
  readonly bucket: Bucket;
  readonly access: BucketAccess;
}

/**
 * The connection's user's access to its selected bucket (none before authentication or selection).
 * Kept on the session itself (not in a WeakMap): this runs for every command.
 *
 * An impersonating request (kv/frames.ts) runs with the named user's access plus the privileges
 * granted in its frames. kv_engine takes the intersection with the impersonator's own privileges
 * (docs/Impersonate.md); in Freshet only the administrator holds Impersonate, whose access is
 * full, so the intersection is the named user's.
 */
export function sessionAccess(session: Session): BucketAccess {
  const { auth, bucket, impersonation } = session;
  if (auth.kind !== 'authenticated' || bucket === null) return BucketAccess.NONE;
  const users = session.ctx.users;
  const user = impersonation?.user ?? auth.user;
  const extra = impersonation?.extraPrivileges ?? 0;
  const c = session.access as Compiled | undefined;
  if (c !== undefined && c.generation === users.generation && c.user === user && c.extra === extra && c.bucket === bucket) return c.access;
  const access = users.bucketAccess(user, bucket.name).withExtra(extra);
  session.access = { generation: users.generation, user, extra, bucket, access } satisfies Compiled;
  return access;
}

/**
 * Whether the connection's user holds any privilege on collection `cid` of the selected bucket:
 * what GET_COLLECTION_ID, GET_SCOPE_ID and GET_COLLECTIONS_MANIFEST may show (kv_engine answers
 * UnknownCollection / leaves out what a user has no privilege on).
 */
export function collectionVisible(session: Session, cid: number): boolean {
  const access = sessionAccess(session);
  if (access.full) return true;
  const scopeId = session.bucket?.manifest.collection(cid)?.scopeId;
  return scopeId !== undefined && access.mask(scopeId, cid) !== 0;
}

/** Same, for a scope: some privilege on the scope or one of its collections. */
export function scopeVisible(session: Session, scopeId: number): boolean {
  const access = sessionAccess(session);
  if (access.full) return true;
  const manifest = session.bucket?.manifest;
  return manifest !== undefined && manifest.collectionsOf(scopeId).some((c) => access.mask(scopeId, c.id) !== 0);
}

/**
 * The privileges the connection's user holds on collection `cid` (every one with full access).
 * System xattrs (`_...`) need SystemXattrRead/Write, which only full access to the bucket holds:
 * kv_engine gives them to the administrator and bucket_full_access roles only.
 */
export function collectionPrivileges(session: Session, cid: number): number {
  const access = sessionAccess(session);
  if (access.full) return ~0;
  const scopeId = session.bucket?.manifest.collection(cid)?.scopeId;
  return scopeId === undefined ? 0 : access.mask(scopeId, cid);
}

/**
 * The dispatcher's check for a command on the selected bucket: null to run it, else the refusal.
 * Cheap for the common case: a user with full access pays one cached lookup.
 */
export function authorizeCommand(session: Session, req: Packet): Packet | null {
  const access = sessionAccess(session);
  if (access.full) return null;
  const need = REQUIREMENTS.get(req.opcode);
  const bucketName = session.bucket?.name ?? '';
  if (need === undefined || !access.any) return denied(session, req, `no access to bucket ${bucketName}`);
  if (need.on === 'visible') return null;
  if (need.on === 'bucket') return (access.bucketMask & need.mask) === need.mask ? null : denied(session, req, `no access to bucket ${bucketName}`);
  let cid = 0;
  if (session.features.has(Feature.Collections)) {
    try {
      cid = decodeLeb128(req.key).value;
    } catch {
      return errorReply(session, req, Status.Einval, 'key lacks a valid collection id');
    }
  }
  const refused = collectionRefusal(session, access, cid, need.mask, need.anyOf);
  return refused === null ? null : replyForError(session, req, refused);
}

/**
 * Why the user may not run a command needing `mask` on collection `cid` (null: it may), counted:
 * NoAccess when it holds other privileges there, else UnknownCollection (the collection stays
 * invisible), as kv_engine's `PrivilegeAccess::getEngineErrorCode`.
 */
function collectionRefusal(session: Session, access: BucketAccess, cid: number, mask: number, anyOf = false): Error | null {
  const manifest = session.bucket!.manifest;
  const scopeId = manifest.collection(cid)?.scopeId;
  const verdict = scopeId === undefined ? 'no-privileges' : access.check(mask, scopeId, cid, anyOf);
  if (verdict === 'ok') return null;
  session.stats.accessDenied++;
  if (verdict === 'fail') return new KvReplyError(Status.Eaccess, `no access to collection 0x${cid.toString(16)}`);
  return manifest.unknownCollection(cid);
}

/**
 * The check of a command whose keys are not in the header (OBSERVE carries them in its value):
 * the handler asks for each key's collection, as kv_engine's observe checks Read per key.
 */
export function requireCollectionPrivilege(session: Session, cid: number, mask: number): void {
  const access = sessionAccess(session);
  if (access.full) return;
  const refused = collectionRefusal(session, access, cid, mask);
  if (refused !== null) throw refused;
}

function denied(session: Session, req: Packet, context: string): Packet {
  session.stats.accessDenied++;
  return errorReply(session, req, Status.Eaccess, context);
}
