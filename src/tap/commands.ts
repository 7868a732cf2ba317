/**
 * The TAP commands for the KV listener: TAP_CONNECT (0x40) and DEREGISTER_TAP_CLIENT (0x9e),
 * built from the server's TAP settings (`tapCommands`); src/server/freshet-server.ts passes them
 * and the `tap` stat group (stats.ts) to `startKvFace`, as it does DCP's.
 *
 * - Both need an authenticated connection with a selected bucket and read access to the whole
 *   bucket (kv/access.ts), as ep-engine required of a TAP producer (Tap privilege).
 * - TAP_CONNECT is never answered on success (memcached's process_bin_tap_connect switches the
 *   connection to conn_ship_log without a reply). A malformed or refused connect is answered with
 *   its status (Einval for a layout the flags do not account for, NotSupported for takeover) and
 *   the connection stays an ordinary KV connection, as memcached's packet validator answers
 *   EINVAL before the engine sees the request.
 * - A connection already streaming (TAP or DCP) cannot connect again: Einval.
 * - The stream messages (0x41-0x47) are the producer's; a client sending them gets NotSupported.
 * - DEREGISTER_TAP_CLIENT: Success when a cursor of that name existed (and was removed, closing
 *   a connection still using it), KeyEnoent otherwise.
 */
import { Opcode } from '../codec/opcodes.js';
import { Status } from '../codec/status.js';
import { replyTo } from '../codec/packet.js';
import { decodeDeregisterTapClientRequest, decodeTapConnectRequest } from '../codec/ops/tap.js';
import { nowSeconds } from '../engine/expiry.js';
import { errorReply } from '../kv/replies.js';
import type { CommandHandler, CommandSpec } from '../kv/command-spec.js';
import { decideConnect } from './connect.js';
import { DEFAULT_TAP_SETTINGS, TapProducer, type TapSettings } from './producer.js';
import { createCursor, deregisterCursor, findCursor } from './registry.js';

let anonymous = 0;

function connect(settings: TapSettings): CommandHandler {
  return (session, req) => {
    if (session.dcp) return errorReply(session, req, Status.Einval, 'the connection is already streaming (TAP or DCP)');
    const bucket = session.bucket!;
    const request = decodeTapConnectRequest(req);
    // ep-engine names an anonymous connection eq_tapq:anon_<n>; stats prefix every name with eq_tapq:.
    const name = request.name === '' ? `anon_${++anonymous}` : request.name;
    const decision = decideConnect(request, bucket, findCursor(bucket, name), nowSeconds());
    if (!decision.ok) return errorReply(session, req, decision.status, decision.reason);
    const cursor = decision.plan.registered ? createCursor(bucket, name) : null;
    session.dcp = new TapProducer(session, bucket, decision.plan, name, settings, cursor);
    return null;
  };
}

const deregister: CommandHandler = async (session, req) => {
  const { name } = decodeDeregisterTapClientRequest(req);
  const found = await deregisterCursor(session.bucket!, name);
  return found ? replyTo(req) : errorReply(session, req, Status.KeyEnoent, `no registered TAP client "${name}"`);
};

const wrongDirection: CommandHandler = (session, req) => errorReply(session, req, Status.NotSupported, 'TAP stream messages are sent by the server, not to it');

const spec = (opcode: number, handler: CommandHandler): CommandSpec => ({ opcode, handler, auth: true, bucket: true });

export function tapCommands(s: TapSettings = DEFAULT_TAP_SETTINGS): CommandSpec[] {
  return [
    spec(Opcode.TapConnect, connect(s)),
    spec(Opcode.DeregisterTapClient, deregister),
    ...[Opcode.TapMutation, Opcode.TapDelete, Opcode.TapOpaque, Opcode.TapVbucketSet, Opcode.TapCheckpointStart, Opcode.TapCheckpointEnd].map((op) => spec(op, wrongDirection)),
  ];
}
