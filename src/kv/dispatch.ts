/**
 * The command table: which handler serves each opcode and what it requires of the session.
 * Access rules are data, read here once, rather than checks repeated in every handler:
 * - `auth`: the connection must be authenticated, else Eaccess (kv_engine answers data commands
 *   from an unauthenticated connection with Eaccess);
 * - `bucket`: a bucket must be selected, else NoBucket (dcp.md §2.2 SELECT_BUCKET), and the user
 *   must still have access to it, else Eaccess.
 * An opcode with no entry gets UnknownCommand.
 */
import type { Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { errorReply } from './replies.js';
import type { Session } from './session.js';
import { BOOTSTRAP_COMMANDS } from './commands/bootstrap.js';
import { DATA_COMMANDS } from './commands/data.js';
import { SEQNO_COMMANDS } from './commands/seqnos.js';
import { STAT_COMMANDS } from './commands/stats.js';
import { DCP_COMMANDS } from './commands/dcp.js';

/** What a handler answers: a packet, several (STAT), a frame already encoded (codec frame encoders), or nothing. */
export type Reply = Packet | Packet[] | Buffer | null;
export type Handler = (session: Session, req: Packet) => Reply | Promise<Reply>;

export interface CommandSpec {
  readonly opcode: number;
  readonly handler: Handler;
  readonly auth: boolean;
  readonly bucket: boolean;
}

const TABLE = new Map<number, CommandSpec>();
for (const spec of [...BOOTSTRAP_COMMANDS, ...DATA_COMMANDS, ...SEQNO_COMMANDS, ...STAT_COMMANDS, ...DCP_COMMANDS]) {
  if (TABLE.has(spec.opcode)) throw new Error(`opcode 0x${spec.opcode.toString(16)} registered twice`);
  TABLE.set(spec.opcode, spec);
}

export function commandFor(opcode: number): CommandSpec | undefined {
  return TABLE.get(opcode);
}

export function dispatch(session: Session, req: Packet): Reply | Promise<Reply> {
  const spec = TABLE.get(req.opcode);
  if (!spec) {
    session.stats.unknownCommands++;
    return errorReply(session, req, Status.UnknownCommand);
  }
  if (spec.auth && session.auth.kind !== 'authenticated') {
    session.stats.accessDenied++;
    return errorReply(session, req, Status.Eaccess, 'authenticate first');
  }
  // A bucket deleted under the connection is no bucket at all (kv_engine disconnects its
  // connections; answering NoBucket keeps this one usable for selecting another).
  if (session.bucket?.isClosed && session.ctx.engine.bucket(session.bucket.name) !== session.bucket) session.bucket = null;
  if (spec.bucket && !session.bucket) {
    session.stats.noBucket++;
    return errorReply(session, req, Status.NoBucket, 'select a bucket first');
  }
  // Access is checked on every command, not only at SELECT_BUCKET, so revoking a user's bucket
  // (or removing the user) takes effect on open connections too, as kv_engine's RBAC does.
  if (spec.bucket && session.auth.kind === 'authenticated' && !session.ctx.users.canAccessBucket(session.auth.user, session.bucket!.name)) {
    session.stats.accessDenied++;
    return errorReply(session, req, Status.Eaccess, `no access to bucket ${session.bucket!.name}`);
  }
  return spec.handler(session, req);
}
