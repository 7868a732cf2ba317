/**
 * The DCP producer's commands for the KV listener: every DCP opcode a consumer may send, with its
 * reply. src/server/freshet-server.ts passes them (and stats.ts's `dcp` stat group) to
 * `startKvFace`; kv never imports dcp, dcp uses only kv's command-spec, session and replies
 * modules. Source: kv daemon/protocol/mcbp/dcp_*_executor.cc and mcbp_validators.cc; dcp.md §2.4.
 *
 * - A bucket must be selected (NoBucket) and the connection authenticated (Eaccess).
 * - Every opcode but DCP_OPEN needs a DCP connection: kv answers Einval ("The command can only be
 *   sent on a DCP connection"); DCP_OPEN on a DCP connection is Einval too.
 * - DCP_BUFFER_ACKNOWLEDGEMENT is never answered on success (dcp_buffer_acknowledgement_executor).
 * - Consumer-side messages sent to a producer (marker, mutation, stream end, a DCP_NOOP request,
 *   ...) close the connection: DcpProducer does not implement them and kv's ConnHandler defaults
 *   (engines/ep/src/dcp/connhandler.cc) return `disconnect` ("This connection doesn't support the
 *   ... API"). DCP_SEQNO_ACKNOWLEDGED is the producer's own (Einval without sync replication);
 *   SEQNO_ADVANCED and OSO_SNAPSHOT have no engine call and stay NotSupported.
 */
import { Opcode } from '../codec/opcodes.js';
import { Status } from '../codec/status.js';
import { replyTo, type Packet } from '../codec/packet.js';
import { decodeDcpOpenRequest } from '../codec/dcp/open.js';
import { decodeDcpControlRequest } from '../codec/dcp/control.js';
import { decodeStreamRequest, encodeStreamRequestOk, encodeStreamRequestRollback } from '../codec/dcp/stream-req.js';
import { decodeCloseStreamRequest } from '../codec/dcp/close-stream.js';
import { decodeBufferAck } from '../codec/dcp/buffer-ack.js';
import { decodeFailoverLogRequest, encodeFailoverLogResponse } from '../codec/ops/failover-log.js';
import { Feature } from '../codec/features.js';
import { errorReply, unknownCollectionReply } from '../kv/replies.js';
import { KvReplyError } from '../kv/errors.js';
import type { Session } from '../kv/session.js';
import type { CommandSpec, CommandHandler } from '../kv/command-spec.js';
import { checkOpen } from './open.js';
import { DcpProducer, isDcpProducer } from './producer.js';

function producerOf(session: Session): DcpProducer {
  if (!isDcpProducer(session.dcp)) throw new KvReplyError(Status.Einval, 'The command can only be sent on a DCP connection');
  return session.dcp;
}

function reply(session: Session, req: Packet, status: number, context?: string): Packet {
  return status === Status.Success ? replyTo(req) : errorReply(session, req, status, context);
}

const open: CommandHandler = (session, req) => {
  if (session.dcp) return errorReply(session, req, Status.Einval, 'The connection is already opened as a DCP connection');
  const { name, flags, value } = decodeDcpOpenRequest(req);
  const decision = checkOpen(flags, value, session.features.has(Feature.Collections), req.datatype);
  if (!decision.ok) return errorReply(session, req, decision.status, decision.reason);
  session.dcp = new DcpProducer(session, session.bucket!, name, flags);
  return replyTo(req);
};

const control: CommandHandler = (session, req) => {
  const producer = producerOf(session);
  const { key, value } = decodeDcpControlRequest(req);
  const status = producer.control(key, value);
  return reply(session, req, status, status === Status.Success ? undefined : `unsupported control ${key}=${value}`);
};

const streamRequest: CommandHandler = (session, req) => {
  const producer = producerOf(session);
  const decision = producer.streamRequest(decodeStreamRequest(req));
  switch (decision.kind) {
    case 'accept':
      return encodeStreamRequestOk(decision.stream.failoverLog, { opaque: req.opaque });
    case 'rollback':
      return encodeStreamRequestRollback(decision.seqno, { opaque: req.opaque });
    case 'refuse':
      // An unknown collection or scope carries the manifest uid, as on every KV command.
      if (decision.manifestUid !== undefined) return unknownCollectionReply(session, req, decision.status, decision.manifestUid, decision.reason);
      return errorReply(session, req, decision.status, decision.reason);
  }
};

const closeStream: CommandHandler = (session, req) => {
  const producer = producerOf(session);
  const { vbucket, streamId } = decodeCloseStreamRequest(req);
  return reply(session, req, producer.closeStream(vbucket, streamId), `no stream for vbucket ${vbucket}`);
};

const getFailoverLog: CommandHandler = (session, req) => {
  const producer = producerOf(session);
  const { vbucket } = decodeFailoverLogRequest(req);
  return encodeFailoverLogResponse(producer.failoverLog(vbucket), Opcode.DcpGetFailoverLog, { opaque: req.opaque });
};

const bufferAck: CommandHandler = (session, req) => {
  producerOf(session).bufferAck(decodeBufferAck(req).bytes);
  return null;
};

/** A consumer-side message (kv ConnHandler default): the producer closes the connection. */
const disconnects: CommandHandler = (session, req) => {
  producerOf(session).disconnect(`a DCP producer does not support opcode 0x${req.opcode.toString(16)}`);
  return null;
};

/** kv DcpProducer::seqno_acknowledged: Einval unless sync replication was enabled (never here). */
const seqnoAcknowledged: CommandHandler = (session, req) => {
  producerOf(session).liveness.received();
  return errorReply(session, req, Status.Einval, 'SyncReplication is not enabled on this producer');
};

/** Messages with no engine call on a producer. */
const wrongDirection: CommandHandler = (session, req) => {
  producerOf(session);
  return errorReply(session, req, Status.NotSupported, 'a DCP producer does not accept this message');
};

const spec = (opcode: number, handler: CommandHandler): CommandSpec => ({ opcode, handler, auth: true, bucket: true });

export const DCP_COMMANDS: readonly CommandSpec[] = [
  spec(Opcode.DcpOpen, open),
  spec(Opcode.DcpControl, control),
  spec(Opcode.DcpStreamReq, streamRequest),
  spec(Opcode.DcpCloseStream, closeStream),
  spec(Opcode.DcpGetFailoverLog, getFailoverLog),
  spec(Opcode.DcpBufferAcknowledgement, bufferAck),
  spec(Opcode.DcpSeqnoAcknowledged, seqnoAcknowledged),
  ...[
    Opcode.DcpNoop,
    Opcode.DcpAddStream,
    Opcode.DcpStreamEnd,
    Opcode.DcpSnapshotMarker,
    Opcode.DcpMutation,
    Opcode.DcpDeletion,
    Opcode.DcpExpiration,
    Opcode.DcpSetVbucketState,
    Opcode.DcpSystemEvent,
    Opcode.DcpPrepare,
    Opcode.DcpCommit,
    Opcode.DcpAbort,
  ].map((op) => spec(op, disconnects)),
  ...[Opcode.DcpSeqnoAdvanced, Opcode.DcpOsoSnapshot].map((op) => spec(op, wrongDirection)),
];
