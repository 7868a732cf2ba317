/**
 * Connection bootstrap: HELLO, SASL (PLAIN and SCRAM-SHA1/256/512), SELECT_BUCKET, LIST_BUCKETS, GET_ERROR_MAP,
 * GET_CLUSTER_CONFIG, NOOP, VERBOSITY, VERSION, QUIT (collection ids: collections.ts). The order and the
 * replies follow what the official SDK and cbdatasource send (shared/specs/couchbase-sdk-bootstrap.md
 * §2-§3, dcp.md §4.4).
 */
import { Opcode } from '../../codec/opcodes.js';
import { Status, STATUS_TABLE } from '../../codec/status.js';
import { Feature } from '../../codec/features.js';
import { Datatype } from '../../codec/datatype.js';
import { replyTo, type Packet } from '../../codec/packet.js';
import { decodeHelloRequest, encodeHelloResponse } from '../../codec/ops/hello.js';
import { decodeSaslRequest } from '../../codec/ops/sasl.js';
import { decodeSelectBucketRequest } from '../../codec/ops/select-bucket.js';
import { decodeErrorMapRequest } from '../../codec/ops/error-map.js';
import { decodeGetClusterConfigRequest } from '../../codec/ops/cluster-config.js';
import { expectExtras, expectKey, expectNoValue } from '../../codec/layout.js';
import { saslMechanismList } from '../../auth/mechanisms.js';
import { authenticatePlain, parsePlain } from '../../auth/plain.js';
import { isAuthError } from '../../auth/errors.js';
import { ScramServerSession, type ScramServerReply, type ScramServerState } from '../../auth/scram.js';
import { scramHashForMechanism } from '../../auth/scram-crypto.js';
import { buildErrorMap, KV_ENGINE_ERROR_ATTRS, kvErrorName, negotiateErrorMapVersion, type ErrorMapVersion } from '../error-map.js';
import { errorReply } from '../replies.js';
import { userOf, type Session } from '../session.js';
import type { CommandSpec } from '../dispatch.js';
import { COUCHBASE_VERSION_STRING } from '../../common/version.js';

/**
 * HELLO features Freshet grants, when asked. Not granted: snappy (values are not decompressed),
 * xattr (no xattr-carrying KV values), duplex/clustermap notifications (no server pushes),
 * unordered execution (replies are in order), tracing (no 0x18 replies).
 */
const SUPPORTED_FEATURES: ReadonlySet<number> = new Set([
  Feature.TcpNoDelay,
  Feature.MutationSeqno,
  Feature.Xerror,
  Feature.SelectBucket,
  Feature.Json,
  Feature.AltRequestSupport,
  Feature.SyncReplication,
  Feature.PreserveTtl,
  Feature.Collections,
  // Granted since the sub-document commands serve xattrs (commands/subdoc.ts).
  Feature.Xattr,
  // What src/subdoc serves and the SDK's transactions check for: virtual xattrs ($document,
  // $XTOC, $vbucket), CREATE_AS_DELETED (staged inserts), `${$document...}` macros and
  // SUBDOC_REPLACE_BODY_WITH_XATTR (commits).
  Feature.VAttr,
  Feature.SubdocCreateAsDeleted,
  Feature.SubdocDocumentMacroSupport,
  Feature.SubdocReplaceBodyWithXattr,
  // Sub-document lookups with the ReplicaRead doc flag (the SDK's lookupIn*Replica).
  Feature.SubdocReplicaRead,
  // GET_CLUSTER_CONFIG with the client's (epoch, revision) in the extras (getClusterConfig).
  Feature.GetClusterConfigWithKnownVersion,
]);

/** `7.6.0-freshet-X.Y.Z` (src/common/version.ts). */
export const SERVER_VERSION = COUCHBASE_VERSION_STRING;

/**
 * Features that need others in the same HELLO (kv hello_packet_executor.cc `buildRequestVector`):
 * asking for one without them is EINVAL, whether or not the server would grant it.
 */
const FEATURE_NEEDS: ReadonlyArray<readonly [number, readonly number[], string]> = [
  [Feature.ClustermapChangeNotification, [Feature.Duplex], 'ClustermapChangeNotification needs Duplex'],
  [Feature.ClustermapChangeNotificationBrief, [Feature.Duplex], 'ClustermapChangeNotificationBrief needs Duplex'],
  [Feature.SubdocDocumentMacroSupport, [Feature.Xattr], 'SubdocDocumentMacroSupport needs XATTR'],
  [Feature.VAttr, [Feature.Xattr], 'VAttr needs XATTR'],
  [Feature.RangeScanIncludeXattr, [Feature.Xattr], 'RangeScanIncludeXattr needs XATTR'],
  [Feature.GetRandomKeyIncludeXattr, [Feature.Xattr, Feature.Json, Feature.SnappyEverywhere], 'GetRandomKeyIncludeXattr needs XATTR, JSON and SnappyEverywhere'],
];

function hello(session: Session, req: Packet): Packet {
  const { agent, features } = decodeHelloRequest(req);
  const asked = new Set(features);
  for (const [feature, needs, why] of FEATURE_NEEDS) {
    if (asked.has(feature) && !needs.every((n) => asked.has(n))) return errorReply(session, req, Status.Einval, why);
  }
  // Each HELLO starts from scratch (kv hello_packet_executor.cc); unknown codes are ignored, a
  // repeated one counts once, and the reply lists the granted codes in ascending order (kv keeps
  // the request in a std::set<Feature>).
  const granted = [...asked].filter((f) => SUPPORTED_FEATURES.has(f)).sort((a, b) => a - b);
  session.features = new Set(granted);
  session.agent = agent.slice(0, 250);
  return encodeHelloResponse(granted, { opaque: req.opaque });
}

function listMechs(_session: Session, req: Packet): Packet {
  return replyTo(req, { value: Buffer.from(saslMechanismList()) });
}

function authenticated(session: Session, user: string, mechanism: string): void {
  session.auth = { kind: 'authenticated', user, mechanism };
  session.stats.authSuccess++;
  session.ctx.authThrottle.succeeded(session.remoteAddress);
  // Old servers (and cbdatasource, dcp.md §4.4) rely on a user named like a bucket selecting it.
  // Otherwise the connection moves to "no bucket", as kv_engine's sasl_auth_command_context.cc
  // does: a bucket selected by an earlier user must not stay open to the new one.
  const bucket = session.ctx.engine.bucket(user);
  session.bucket = bucket && session.ctx.users.hasBucketRole(user, bucket.name) ? bucket : null;
  // A DCP or TAP producer was opened with the earlier user's rights on the earlier bucket: it
  // stops with them (its streams are released), and the connection is a plain one again.
  if (session.dcp !== null) {
    session.dcp.close();
    session.dcp = null;
  }
}

/** A failed exchange; `user` is set when a password (or SCRAM proof) was actually checked. */
function authFailed(session: Session, req: Packet, context: string, user?: string): Packet {
  session.auth = { kind: 'anonymous' };
  session.stats.authFailure++;
  if (user !== undefined) session.ctx.authThrottle.failed(session.remoteAddress, user, 'kv');
  return errorReply(session, req, Status.AuthError, context);
}

/**
 * SASL_AUTH starts an attempt, so it passes the failed-login throttle first (src/auth/throttle.ts):
 * from a throttled address it is answered after a delay, and the command is a `barrier`, so
 * requests pipelined behind it see the outcome. SASL_STEP continues an admitted attempt.
 */
function sasl(session: Session, req: Packet): Packet | Promise<Packet> {
  if (req.opcode !== Opcode.SaslAuth) return saslStep(session, req);
  session.auth = { kind: 'anonymous' };
  const gate = session.ctx.authThrottle.admit(session.remoteAddress);
  if (gate === true) return saslAuth(session, req);
  return gate.then((admitted) =>
    admitted ? saslAuth(session, req) : authFailed(session, req, 'too many failed logins from this address; try again later'),
  );
}

function saslAuth(session: Session, req: Packet): Packet {
  const { mechanism, payload } = decodeSaslRequest(req);
  if (mechanism === 'PLAIN') {
    let user: string | undefined;
    try {
      user = parsePlain(payload).user;
      authenticated(session, authenticatePlain(payload, session.ctx.users), 'PLAIN');
      return replyTo(req, { value: Buffer.from('Authenticated') });
    } catch (err) {
      return authFailed(session, req, isAuthError(err) ? err.message : 'authentication failed', user);
    }
  }
  const hash = scramHashForMechanism(mechanism);
  if (!hash) return errorReply(session, req, Status.AuthError, `unsupported mechanism ${mechanism}`);
  const scram = new ScramServerSession(session.ctx.users.scramServerContext(hash));
  session.auth = { kind: 'sasl', mechanism, scram };
  const before = scram.state;
  return scramReply(session, req, scram.step(payload), before, mechanism);
}

function saslStep(session: Session, req: Packet): Packet {
  const { mechanism, payload } = decodeSaslRequest(req);
  // SASL_STEP continues the exchange this connection started.
  if (session.auth.kind !== 'sasl' || session.auth.mechanism !== mechanism) {
    return authFailed(session, req, 'no SASL exchange in progress for this mechanism');
  }
  const scram = session.auth.scram;
  const before = scram.state;
  return scramReply(session, req, scram.step(payload), before, mechanism);
}

/** `before`: the SCRAM state the step started from (it names the user once client-first is in). */
function scramReply(session: Session, req: Packet, reply: ScramServerReply, before: ScramServerState, mechanism: string): Packet {
  switch (reply.kind) {
    case 'continue':
      return replyTo(req, { status: Status.AuthContinue, value: Buffer.from(reply.message) });
    case 'success':
      authenticated(session, reply.user, mechanism);
      return replyTo(req, { value: Buffer.from(reply.message) });
    case 'failure': {
      if (reply.code === 'SASL_BAD_PARAM') return errorReply(session, req, Status.Einval, reply.reason);
      // A failed proof (client-final) is a wrong password; a refused client-first is not a guess.
      const user = before.phase === 'awaiting-client-final' ? before.user : undefined;
      return authFailed(session, req, reply.reason, user);
    }
  }
}

function selectBucket(session: Session, req: Packet): Packet {
  const { bucket: name } = decodeSelectBucketRequest(req);
  // A DCP or TAP connection streams the bucket it was opened on: it cannot move to another.
  if (session.dcp !== null) return errorReply(session, req, Status.NotSupported, 'the bucket of a DCP connection cannot change');
  if (name === '@no bucket@') {
    session.bucket = null;
    return replyTo(req);
  }
  const bucket = session.ctx.engine.bucket(name);
  const user = userOf(session);
  // Unknown bucket and no permission look the same, as in kv_engine (SDK: bucket_not_found).
  // Any role on the bucket selects it; each command then needs its own privileges (access.ts).
  if (!bucket || !user || !session.ctx.users.hasBucketRole(user, name)) {
    return errorReply(session, req, Status.Eaccess, `no access to bucket ${name}`);
  }
  session.bucket = bucket;
  return replyTo(req);
}

/**
 * LIST_BUCKETS (0x87): the names of the buckets the user may access, space-separated, in creation
 * order (kv list_bucket_executor.cc; an unauthenticated connection is refused by the dispatcher).
 */
function listBuckets(session: Session, req: Packet): Packet {
  expectExtras(req, 0);
  expectKey(req, false);
  expectNoValue(req);
  const user = userOf(session);
  const names = session.ctx.engine.buckets().map((b) => b.name).filter((name) => user !== null && session.ctx.users.hasBucketRole(user, name));
  return replyTo(req, { value: Buffer.from(names.join(' ')) });
}

// 2: kv's entry names and the range-scan and sub-document entries (error-map.ts).
const ERROR_MAP_REVISION = 2;
const errorMaps = new Map<ErrorMapVersion, Buffer>();
function errorMapJson(version: ErrorMapVersion): Buffer {
  let json = errorMaps.get(version);
  if (!json) {
    const statuses = STATUS_TABLE.filter((s) => KV_ENGINE_ERROR_ATTRS[s.code] !== undefined).map((s) => ({
      code: s.code,
      name: kvErrorName(s.code, s.name),
      description: s.desc,
      attrs: [],
    }));
    json = Buffer.from(JSON.stringify(buildErrorMap(statuses, { version, revision: ERROR_MAP_REVISION })));
    errorMaps.set(version, json);
  }
  return json;
}

function getErrorMap(session: Session, req: Packet): Packet {
  const version = negotiateErrorMapVersion(decodeErrorMapRequest(req).version);
  if (!version) return errorReply(session, req, Status.KeyEnoent, 'no error map below version 1');
  return replyTo(req, { value: errorMapJson(version), datatype: Datatype.Json });
}

function getClusterConfig(session: Session, req: Packet): Packet {
  // A bucket-less connection gets the global config (nodes and services, so the SDK learns the
  // mgmt port for ping and the managers) (§3.5). The server hands the map over before it listens.
  const { clusterConfig } = session.ctx;
  // With the (epoch, revision) the client holds in the extras, a client as new as the server (or
  // newer) gets an empty Raw reply instead (kv get_cluster_config_executor, 7.x).
  const { known } = decodeGetClusterConfigRequest(req);
  if (known) {
    const { revEpoch, rev } = clusterConfig;
    const older = known.epoch !== revEpoch ? known.epoch < revEpoch : known.revision < rev;
    if (!older) return replyTo(req);
  }
  const json = session.bucket ? clusterConfig.bucketConfigJson(session.bucket.name) : clusterConfig.globalConfigJson();
  return replyTo(req, { value: Buffer.from(json), datatype: Datatype.Json });
}

/**
 * VERBOSITY sets the daemon's log level (kv verbosity_executor, which clamps it to 0..2): the
 * Administrator privilege (privilege_chains.cc), 4 bytes of extras, no key or value
 * (mcbp_validators.cc verbosity_validator). Freshet's logging is its own, so it only answers.
 */
function verbosity(session: Session, req: Packet): Packet {
  expectExtras(req, 4);
  expectKey(req, false);
  expectNoValue(req);
  const user = userOf(session);
  if (!user || !session.ctx.users.isAdmin(user)) return errorReply(session, req, Status.Eaccess, 'VERBOSITY needs the Administrator privilege');
  return replyTo(req);
}

export const BOOTSTRAP_COMMANDS: readonly CommandSpec[] = [
  { opcode: Opcode.Hello, handler: hello, auth: false, bucket: false },
  { opcode: Opcode.SaslListMechs, handler: listMechs, auth: false, bucket: false },
  { opcode: Opcode.SaslAuth, handler: sasl, auth: false, bucket: false, barrier: true },
  { opcode: Opcode.SaslStep, handler: sasl, auth: false, bucket: false, barrier: true },
  { opcode: Opcode.SelectBucket, handler: selectBucket, auth: true, bucket: false },
  { opcode: Opcode.ListBuckets, handler: listBuckets, auth: true, bucket: false },
  { opcode: Opcode.GetErrorMap, handler: getErrorMap, auth: false, bucket: false },
  { opcode: Opcode.GetClusterConfig, handler: getClusterConfig, auth: true, bucket: false },
  { opcode: Opcode.Noop, handler: (_s, req) => replyTo(req), auth: false, bucket: false },
  { opcode: Opcode.Verbosity, handler: verbosity, auth: true, bucket: false },
  { opcode: Opcode.Version, handler: (_s, req) => replyTo(req, { value: Buffer.from(SERVER_VERSION) }), auth: false, bucket: false },
  {
    // The connection closes once the replies before this one, and this one, are written.
    opcode: Opcode.Quit,
    handler: (s, req) => {
      s.close('QUIT');
      return replyTo(req);
    },
    auth: false,
    bucket: false,
  },
  {
    opcode: Opcode.QuitQ,
    handler: (s) => {
      s.close('QUITQ');
      return null;
    },
    auth: false,
    bucket: false,
  },
];
