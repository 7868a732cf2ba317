/**
 * The command table: which handler serves each opcode and what it requires of the session.
 * Access rules are data (command-spec.ts), read here once, rather than checks repeated in every
 * handler:
 * - `auth`: the connection must be authenticated, else Eaccess (kv_engine answers data commands
 *   from an unauthenticated connection with Eaccess);
 * - `bucket`: a bucket must be selected, else NoBucket (dcp.md §2.2 SELECT_BUCKET), and the user
 *   must hold the command's privileges there (access.ts), else Eaccess or UnknownCollection.
 * An opcode with no entry gets UnknownCommand. A request's frame infos are checked (frames.ts)
 * once it may run and before its bucket and privileges are, as kv_engine validates a packet after
 * the authentication gate and before it executes.
 *
 * The table is built once per listener from the KV face's own commands and what the server passes
 * in for other faces (DCP's opcodes and its `dcp` stat group): `commandTable`.
 */
import type { Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { errorReply } from './replies.js';
import { authorizeCommand } from './access.js';
import { checkRequestFrames } from './frames.js';
import type { Session } from './session.js';
import type { CommandSpec, KvExtensions, Reply } from './command-spec.js';
import { BOOTSTRAP_COMMANDS } from './commands/bootstrap.js';
import { DATA_COMMANDS } from './commands/data.js';
import { WITH_META_COMMANDS } from './commands/with-meta.js';
import { LOCK_COMMANDS } from './commands/locks.js';
import { SUBDOC_COMMANDS } from './commands/subdoc.js';
import { SEQNO_COMMANDS } from './commands/seqnos.js';
import { OBSERVE_COMMANDS } from './commands/observe.js';
import { COLLECTION_COMMANDS } from './commands/collections.js';
import { RANGE_SCAN_COMMANDS } from './commands/range-scan.js';
import { RANDOM_KEY_COMMANDS } from './commands/random-key.js';
import { statCommands } from './commands/stats.js';

/** The table's entry types, for the KV face's own command files (other faces use command-spec.ts). */
export type { CommandSpec, CommandHandler, Reply } from './command-spec.js';

export type CommandTable = ReadonlyMap<number, CommandSpec>;

/** The KV face's commands plus the extensions'; an opcode given twice is a wiring bug. */
export function commandTable(extensions: KvExtensions = {}): CommandTable {
  const table = new Map<number, CommandSpec>();
  const specs = [...BOOTSTRAP_COMMANDS, ...DATA_COMMANDS, ...WITH_META_COMMANDS, ...LOCK_COMMANDS, ...SUBDOC_COMMANDS, ...SEQNO_COMMANDS, ...OBSERVE_COMMANDS, ...COLLECTION_COMMANDS, ...RANGE_SCAN_COMMANDS, ...RANDOM_KEY_COMMANDS, ...statCommands(extensions.statGroups ?? {}), ...(extensions.extraCommands ?? [])];
  for (const spec of specs) {
    if (table.has(spec.opcode)) throw new Error(`opcode 0x${spec.opcode.toString(16)} registered twice`);
    table.set(spec.opcode, spec);
  }
  return table;
}

export function dispatch(table: CommandTable, session: Session, req: Packet): Reply | Promise<Reply> {
  const spec = table.get(req.opcode);
  if (!spec) {
    session.stats.unknownCommands++;
    return errorReply(session, req, Status.UnknownCommand);
  }
  if (spec.auth && session.auth.kind !== 'authenticated') {
    session.stats.accessDenied++;
    return errorReply(session, req, Status.Eaccess, 'authenticate first');
  }
  if (req.framingExtras.length === 0) return run(spec, session, req);
  const frames = checkRequestFrames(session, req);
  if ('refused' in frames) return frames.refused;
  if (frames.impersonation === null) return run(spec, session, req);
  // Run as the named user. Every access check happens before a handler's first await (the
  // dispatcher's, and the handlers' own for keys in a value), so the impersonation is in force for
  // exactly the synchronous part; a later check would see the impersonator, the administrator,
  // never more than the connection already holds.
  session.impersonation = frames.impersonation;
  try {
    return run(spec, session, req);
  } finally {
    session.impersonation = null;
  }
}

function run(spec: CommandSpec, session: Session, req: Packet): Reply | Promise<Reply> {
  // A bucket deleted under the connection is no bucket at all: the listener closes such
  // connections (index.ts, as kv_engine), and a request already on its way gets NoBucket.
  if (session.bucket?.isClosed && session.ctx.engine.bucket(session.bucket.name) !== session.bucket) session.bucket = null;
  if (spec.bucket && !session.bucket) {
    session.stats.noBucket++;
    return errorReply(session, req, Status.NoBucket, 'select a bucket first');
  }
  // Access is checked on every command, not only at SELECT_BUCKET, so revoking a user's role
  // (or removing the user) takes effect on open connections too, as kv_engine's RBAC does; a
  // document command is checked on its key's collection (access.ts).
  if (spec.bucket) {
    const refused = authorizeCommand(session, req);
    if (refused !== null) return refused;
  }
  return spec.handler(session, req);
}
