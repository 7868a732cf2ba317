/**
 * The request frame infos (flexible framing, magic 0x08) a command carries, checked before it runs
 * as kv_engine checks them: `parseFrameExtras` in daemon/mcbp_validators.cc (each frame by id, the
 * first failure answers; tests/mcbp/mcbp_frame_extra.cc) and, for Impersonate, the privilege and
 * user lookup of `Cookie::fetchEuidPrivilegeSet` (daemon/cookie.cc) before the command executes.
 *
 * - an id kv does not define: UnknownFrameInfo (0x80); frames that run past the framing extras:
 *   Einval "Invalid encoding in FrameExtras";
 * - Barrier and PreserveTtl carry no value, OpenTracingContext one, DcpStreamId two bytes; a
 *   DurabilityRequirement is parsed (commands/durability.ts) and refused on a command that takes
 *   none (codec opcodes.ts `durability`, kv `is_durability_supported`): Einval; PreserveTtl on a
 *   command that cannot preserve a TTL: NotSupported. A stream id is accepted on any command, as
 *   kv's validator does (it refuses one only on a DCP consumer connection, which Freshet never is);
 *   whether a DCP stream expects one is DCP's check (DcpStreamIdInvalid, src/dcp);
 * - Impersonate (user name; a leading `^` names an external user) runs the request as that user
 *   (kv/access.ts `sessionAccess`): the connection's user needs the Impersonate privilege, which in
 *   Freshet only the administrator holds (ns_server gives it to Full Admin), else Eaccess; an
 *   external user is NotSupported ("External authentication service not configured", as kv without
 *   one); an unknown user Eaccess `User "x" is not a Couchbase user`;
 * - ImpersonateExtraPrivilege grants the named privilege to the impersonated request: a name kv
 *   does not know is Einval; one Freshet does not model on the KV face is NotSupported rather than
 *   silently granting nothing;
 * - ImpersonateWithTokenAuthDataId (two bytes) needs the Impersonate privilege (Eaccess) and names
 *   token data Freshet never holds: Einval, as kv answers an unknown id.
 */
import { decodeFrameInfos, type FrameInfo } from '../codec/frame-info.js';
import { opcodeName, supportsDurability, supportsPreserveTtl } from '../codec/opcodes.js';
import type { Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { Privilege } from '../auth/roles.js';
import { parseDurability } from './commands/durability.js';
import { errorReply, replyForError } from './replies.js';
import type { Impersonation, Session } from './session.js';

interface Refusal {
  readonly status: number;
  readonly context: string;
}

/** What the frames asked for, gathered while they are checked in order. */
interface Gathered {
  impersonate: string | undefined;
  extraPrivileges: number;
}

type FrameRule = (data: Buffer, req: Packet, session: Session, into: Gathered) => Refusal | null;

const refuse = (status: number, context: string): Refusal => ({ status, context });
const empty = (name: string): FrameRule => (data) => (data.length === 0 ? null : refuse(Status.Einval, `${name} should not contain value`));

/**
 * kv's privilege names (rbac/privileges.cc `privilegemap`) and the bit Freshet checks for each on
 * the KV face (auth/roles.ts); null: kv knows it, Freshet has no KV check it would pass.
 */
const PRIVILEGE_NAMES: Readonly<Record<string, number | null>> = {
  Read: Privilege.Read,
  Insert: Privilege.Insert,
  Delete: Privilege.Delete,
  Upsert: Privilege.Upsert,
  MetaRead: Privilege.MetaRead,
  MetaWrite: Privilege.MetaWrite,
  XattrRead: Privilege.XattrRead,
  XattrWrite: Privilege.XattrWrite,
  SystemXattrRead: Privilege.SystemXattrRead,
  SystemXattrWrite: Privilege.SystemXattrWrite,
  DcpProducer: Privilege.DcpProducer,
  ...Object.fromEntries(
    ['SimpleStats', 'Stats', 'BucketManagement', 'NodeManagement', 'SessionManagement', 'Audit', 'AuditManagement', 'DcpConsumer', 'DcpStream', 'Tap', 'IdleConnection', 'CollectionManagement', 'SecurityManagement', 'Impersonate', 'Select', 'Settings', 'SystemSettings'].map((n) => [n, null]),
  ),
};

/** The rule for each request frame id (codec/frame-info.ts REQUEST_FRAME_TABLE); absent: unknown. */
const FRAME_RULES: ReadonlyMap<number, FrameRule> = new Map<number, FrameRule>([
  [0, empty('Barrier')], // requests already run in order on a connection without UnorderedExecution
  [1, (data, req) => {
    parseDurability(data); // throws: Einval for a bad length, DurabilityInvalidLevel for a bad level
    return supportsDurability(req.opcode) ? null : refuse(Status.Einval, 'The requested command does not support durability requirements');
  }],
  [2, (data) => (data.length === 2 ? null : refuse(Status.Einval, `DcpStreamId invalid size:${data.length}`))],
  [3, (data) => (data.length > 0 ? null : refuse(Status.Einval, 'OpenTracingContext cannot be empty'))], // accepted, not traced
  [4, (data, _req, _session, into) => {
    if (data.length === 0) return refuse(Status.Einval, 'Impersonated user must be set');
    into.impersonate = data.toString('utf8');
    return null;
  }],
  [5, (data, req) => {
    if (data.length !== 0) return refuse(Status.Einval, 'PreserveTtl should not contain value');
    return supportsPreserveTtl(req.opcode) ? null : refuse(Status.NotSupported, 'This command does not support PreserveTtl');
  }],
  [6, (data, _req, _session, into) => {
    if (data.length === 0) return refuse(Status.Einval, 'Privilege name must be set');
    const name = data.toString('utf8');
    const bit = Object.hasOwn(PRIVILEGE_NAMES, name) ? PRIVILEGE_NAMES[name] : undefined;
    if (bit === undefined) return refuse(Status.Einval, 'Failed to look up the privilege');
    if (bit === null) return refuse(Status.NotSupported, `Freshet does not model the ${name} privilege on the KV port`);
    into.extraPrivileges |= bit;
    return null;
  }],
  [7, (data, _req, session) => {
    if (data.length !== 2) return refuse(Status.Einval, `ImpersonateWithTokenAuthDataId invalid size:${data.length}`);
    if (!mayImpersonate(session)) return refuse(Status.Eaccess, 'ImpersonateWithTokenAuthDataId requires Impersonate privilege');
    return refuse(Status.Einval, `no token auth data with id ${data.readUInt16BE(0)}`);
  }],
]);

/** kv's name of the command in error contexts (`SUBDOC_DICT_UPSERT`). */
function commandName(req: Packet): string {
  return opcodeName(req.opcode).replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The Impersonate privilege: the administrator's in Freshet (kv checks it without a bucket scope). */
function mayImpersonate(session: Session): boolean {
  return session.auth.kind === 'authenticated' && session.ctx.users.isAdmin(session.auth.user);
}

export type FrameCheck = { readonly refused: Packet } | { readonly impersonation: Impersonation | null };

const NO_FRAMES: FrameCheck = { impersonation: null };

/** Check a request's frame infos; the refusal to send, or the impersonation to run it under. */
export function checkRequestFrames(session: Session, req: Packet): FrameCheck {
  if (req.framingExtras.length === 0) return NO_FRAMES;
  let frames: FrameInfo[];
  try {
    frames = decodeFrameInfos(req.framingExtras);
  } catch {
    return { refused: errorReply(session, req, Status.Einval, 'Invalid encoding in FrameExtras') };
  }
  const into: Gathered = { impersonate: undefined, extraPrivileges: 0 };
  for (const frame of frames) {
    const rule = FRAME_RULES.get(frame.id);
    if (rule === undefined) return { refused: errorReply(session, req, Status.UnknownFrameInfo, `unknown frame info id ${frame.id}`) };
    let refusal: Refusal | null;
    try {
      refusal = rule(frame.data, req, session, into);
    } catch (err) {
      return { refused: replyForError(session, req, err) };
    }
    if (refusal !== null) return { refused: errorReply(session, req, refusal.status, refusal.context) };
  }
  if (into.impersonate === undefined) return NO_FRAMES;
  const refusal = impersonationRefusal(session, req, into.impersonate);
  if (refusal !== null) {
    if (refusal.status === Status.Eaccess) session.stats.accessDenied++;
    return { refused: errorReply(session, req, refusal.status, refusal.context) };
  }
  return { impersonation: { user: into.impersonate, extraPrivileges: into.extraPrivileges } };
}

/** kv_engine `Cookie::fetchEuidPrivilegeSet`: whether the request may run as `user`. */
function impersonationRefusal(session: Session, req: Packet, user: string): Refusal | null {
  if (!mayImpersonate(session)) {
    return refuse(Status.Eaccess, `Authorization failure: can't execute ${commandName(req)} operation without the Impersonate privilege`);
  }
  if (user.startsWith('^')) return refuse(Status.NotSupported, 'External authentication service not configured');
  if (!session.ctx.users.has(user)) return refuse(Status.Eaccess, `User "${user}" is not a Couchbase user`);
  return null;
}
