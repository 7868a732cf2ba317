/**
 * Building error replies: engine errors become memcached statuses (kv's legacy one for a client
 * without XERROR where kv remaps, error-map.ts `engineErrorStatus`), and a client that negotiated
 * XERROR gets kv_engine's JSON error context in the body (`{"error":{"context":"..."}}`,
 * daemon/cookie.cc `Cookie::getErrorJson`). NOT_MY_VBUCKET carries the bucket's cluster map.
 * UNKNOWN_COLLECTION and UNKNOWN_SCOPE always carry `{"manifest_uid":"<hex>"}` (cookie.cc
 * `setUnknownCollectionErrorContext`), so that an SDK refreshes its collection ids and fails fast.
 */
import { replyTo, type Packet } from '../codec/packet.js';
import { Status } from '../codec/status.js';
import { Feature } from '../codec/features.js';
import { Datatype } from '../codec/datatype.js';
import { asEngineFault, isEngineError } from '../engine/errors.js';
import { isProtocolError } from '../codec/errors.js';
import type { Session } from './session.js';
import { KvReplyError } from './errors.js';
import { engineErrorStatus } from './error-map.js';

/**
 * kv_engine Connection::remapErrorCode: a client without XERROR hears of an unknown collection or
 * scope only if it negotiated Collections; any other gets EINVAL (a legacy client after `_default`
 * was dropped).
 */
function unknownCollectionUnderstood(session: Session): boolean {
  return session.features.has(Feature.Xerror) || session.features.has(Feature.Collections);
}

/** The body kv_engine sends with an unknown collection or scope: the manifest uid in hex, no 0x. */
export function unknownCollectionReply(session: Session, req: Packet, status: number, manifestUid: number, context?: string): Packet {
  if (!unknownCollectionUnderstood(session)) return errorReply(session, req, Status.Einval, context);
  const body: Record<string, unknown> = { manifest_uid: manifestUid.toString(16) };
  if (context && session.features.has(Feature.Xerror)) body.error = { context };
  const datatype = session.features.has(Feature.Json) ? Datatype.Json : Datatype.Raw;
  return replyTo(req, { status, value: Buffer.from(JSON.stringify(body)), datatype });
}

export function errorReply(session: Session, req: Packet, status: number, context?: string): Packet {
  if (status === Status.NotMyVbucket && session.bucket) {
    const config = configFor(session, session.bucket.name);
    if (config) return replyTo(req, { status, value: Buffer.from(config), datatype: Datatype.Json });
  }
  if (context && session.features.has(Feature.Xerror)) {
    return replyTo(req, { status, value: Buffer.from(JSON.stringify({ error: { context } })), datatype: Datatype.Json });
  }
  return replyTo(req, { status });
}

/**
 * The bucket's map, or undefined when there is none to give (the bucket was deleted under this
 * connection): an error reply must never fail itself, since it is what a
 * failure turns into.
 */
function configFor(session: Session, bucket: string): string | undefined {
  try {
    return session.ctx.clusterConfig.bucketConfigJson(bucket);
  } catch {
    return undefined;
  }
}

/** Map whatever a handler threw to a reply; unknown failures become Einternal, never a crash. */
export function replyForError(session: Session, req: Packet, thrown: unknown): Packet {
  // A full disk answers TMPFAIL with "no space left on device" as the XERROR context.
  const err = asEngineFault(thrown);
  if (isEngineError(err) && (err.kind === 'UNKNOWN_COLLECTION' || err.kind === 'UNKNOWN_SCOPE') && typeof err.context.manifestUid === 'number') {
    return unknownCollectionReply(session, req, err.status, err.context.manifestUid, err.message);
  }
  if (isEngineError(err) && (err.kind === 'UNKNOWN_COLLECTION' || err.kind === 'UNKNOWN_SCOPE') && !unknownCollectionUnderstood(session)) {
    return errorReply(session, req, Status.Einval, err.message);
  }
  if (isEngineError(err)) return errorReply(session, req, engineErrorStatus(err.kind, err.status, session.features.has(Feature.Xerror)), err.message);
  if (err instanceof KvReplyError) return errorReply(session, req, err.status, err.message);
  if (isProtocolError(err)) return errorReply(session, req, Status.Einval, err.message);
  session.ctx.logger.error({ err, opcode: req.opcode }, 'KV command failed');
  return errorReply(session, req, Status.Einternal, 'internal error');
}
