/**
 * GET_LOCKED (0x94) and UNLOCK_KEY (0x95) on the collection the key names (wire layout in
 * codec/ops/locks.ts, rules in engine/locks.ts). GET_LOCKED answers like GET, with the lock CAS in
 * the header; UNLOCK_KEY answers an empty success. The engine's LOCKED / LOCKED_TMPFAIL /
 * NOT_LOCKED become LOCKED 0x09 / NOT_LOCKED 0x0e, or kv's legacy statuses for a client without
 * XERROR (replies.ts, error-map.ts `engineErrorStatus`).
 */
import { Opcode } from '../../codec/opcodes.js';
import { replyTo, type Packet } from '../../codec/packet.js';
import { encodeGetResponseFrame } from '../../codec/ops/get.js';
import { decodeGetLockedRequest, decodeUnlockRequest } from '../../codec/ops/locks.js';
import { collectionOf, documentKey, outgoingDatatype } from './keys.js';
import type { Session } from '../session.js';
import type { CommandSpec, Reply } from '../dispatch.js';

const EMPTY = Buffer.alloc(0);

function getLocked(session: Session, req: Packet): Reply {
  const r = decodeGetLockedRequest(req);
  const item = collectionOf(session, r.key).getAndLock(documentKey(session, r.key), r.lockTime, req.vbucket);
  return encodeGetResponseFrame(req.opcode, req.opaque, item.cas, item.flags, outgoingDatatype(session, item.datatype), EMPTY, item.value);
}

function unlockKey(session: Session, req: Packet): Reply {
  const r = decodeUnlockRequest(req);
  collectionOf(session, r.key).unlock(documentKey(session, r.key), r.cas, req.vbucket);
  return replyTo(req);
}

const data = (opcode: number, handler: CommandSpec['handler']): CommandSpec => ({ opcode, handler, auth: true, bucket: true });

export const LOCK_COMMANDS: readonly CommandSpec[] = [data(Opcode.GetLocked, getLocked), data(Opcode.UnlockKey, unlockKey)];
