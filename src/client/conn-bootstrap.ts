/**
 * The bootstrap commands a client runs after connecting (couchbase-sdk-bootstrap.md
 * §2-§3, dcp.md §4.4): HELLO, SASL (LIST_MECHS, AUTH/STEP, PLAIN), SELECT_BUCKET,
 * GET_ERROR_MAP, GET_CLUSTER_CONFIG, plus STAT and NOOP. Written against a minimal
 * `KvRequester` so they can be used with any connection-like object (and tested alone).
 *
 * SASL is exposed generically (`saslAuth`/`saslStep` return the server message and
 * whether the exchange is complete) so SCRAM (src/auth/scram.ts) can drive it; only
 * PLAIN is implemented here.
 */
import {
  Opcode,
  Status,
  decodeErrorMapResponse,
  decodeGetClusterConfigResponse,
  decodeHelloResponse,
  decodeListMechsResponse,
  decodeSaslResponse,
  decodeStatResponse,
  encodeErrorMapRequest,
  encodeGetClusterConfigRequest,
  encodeHelloRequest,
  encodeListMechsRequest,
  encodeNoopRequest,
  encodeSaslRequest,
  encodeSelectBucketRequest,
  encodeStatRequest,
  isStatTerminator,
  plainPayload,
} from '../codec/index.js';
import type { Bytes, ErrorMap, KnownConfigVersion, Packet, SaslOpcode, StatEntry } from '../codec/index.js';
import { KvClientError, KvStatusError, expectSuccess } from './conn-errors.js';

export interface RequestOptions {
  /** Overrides the connection's request timeout (ms; 0 = none). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Send with this opaque instead of allocating one (must not be in flight). */
  readonly opaque?: number;
}

export interface KvRequester {
  request(p: Packet, options?: RequestOptions): Promise<Packet>;
  requestMulti(p: Packet, isLast: (p: Packet) => boolean, options?: RequestOptions): Promise<Packet[]>;
}

/** HELLO: returns the feature codes the server enabled. */
export async function hello(conn: KvRequester, agent: Bytes, features: readonly number[]): Promise<number[]> {
  const res = expectSuccess(await conn.request(encodeHelloRequest({ agent, features })));
  return decodeHelloResponse(res).features;
}

export async function listMechs(conn: KvRequester): Promise<string[]> {
  const res = expectSuccess(await conn.request(encodeListMechsRequest()));
  return decodeListMechsResponse(res).mechanisms;
}

export interface SaslResult {
  /** True on Success; false on AuthContinue (send saslStep with the next message). */
  readonly done: boolean;
  /** The server's message (SCRAM server-first / server-final, empty for PLAIN). */
  readonly payload: Buffer;
}

async function sasl(conn: KvRequester, opcode: SaslOpcode, mechanism: string, payload: Bytes): Promise<SaslResult> {
  const res = await conn.request(encodeSaslRequest({ opcode, mechanism, payload }));
  if (res.status === Status.AuthContinue) return { done: false, payload: decodeSaslResponse(res).payload };
  expectSuccess(res); // AuthError 0x20 and anything else reject with KvStatusError
  return { done: true, payload: decodeSaslResponse(res).payload };
}

/** SASL_AUTH: the first message of any mechanism. */
export function saslAuth(conn: KvRequester, mechanism: string, payload: Bytes): Promise<SaslResult> {
  return sasl(conn, Opcode.SaslAuth, mechanism, payload);
}

/** SASL_STEP: a continuation after AuthContinue. */
export function saslStep(conn: KvRequester, mechanism: string, payload: Bytes): Promise<SaslResult> {
  return sasl(conn, Opcode.SaslStep, mechanism, payload);
}

/** PLAIN in one round trip; a server asking to continue is an error for PLAIN. */
export async function saslPlain(conn: KvRequester, user: string, password: string): Promise<void> {
  const r = await saslAuth(conn, 'PLAIN', plainPayload(user, password));
  if (!r.done) {
    throw new KvClientError('STATUS', 'PLAIN authentication: server asked to continue', { opcode: Opcode.SaslAuth });
  }
}

export async function selectBucket(conn: KvRequester, bucket: string): Promise<void> {
  expectSuccess(await conn.request(encodeSelectBucketRequest(bucket)));
}

export async function getErrorMap(conn: KvRequester, version = 2): Promise<ErrorMap> {
  const res = expectSuccess(await conn.request(encodeErrorMapRequest(version)));
  return decodeErrorMapResponse(res);
}

/** GET_CLUSTER_CONFIG: the config JSON text ('' if `known` is current). */
export async function getClusterConfig(conn: KvRequester, known?: KnownConfigVersion): Promise<string> {
  const res = expectSuccess(await conn.request(encodeGetClusterConfigRequest(known)));
  return decodeGetClusterConfigResponse(res).config;
}

/** STAT: all statistics of a group (the reply stream ends with an empty packet). */
export async function stats(conn: KvRequester, group = ''): Promise<StatEntry[]> {
  const packets = await conn.requestMulti(
    encodeStatRequest({ group }),
    (p) => p.status !== Status.Success || isStatTerminator(p),
  );
  const last = packets[packets.length - 1];
  if (last !== undefined && last.status !== Status.Success) throw new KvStatusError(last);
  return packets.map(decodeStatResponse).filter((e): e is StatEntry => e !== undefined);
}

export async function noop(conn: KvRequester): Promise<void> {
  expectSuccess(await conn.request(encodeNoopRequest()));
}
