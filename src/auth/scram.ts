/**
 * Server side of SCRAM-SHA1/256/512 (RFC 5802, RFC 7677) as Couchbase's memcached speaks it.
 *
 * Wire mapping (kv_engine docs/sasl.md, couchbase-sdk-bootstrap.md §3.2):
 *   SASL_AUTH 0x21, key "SCRAM-SHA512", value client-first  -> status 0x21 AuthContinue, server-first
 *   SASL_STEP 0x22, key "SCRAM-SHA512", value client-final  -> status 0x00, server-final "v=..."
 *   any failure                                               -> AUTH_ERRORS[code].status
 *
 * The state machine is a pure transition function over an explicit state type:
 *
 *   awaiting-client-first --client-first--> awaiting-client-final --client-final--> done
 *            |                                        |
 *            +------------------ any error -----------+-----------------------------> failed
 *
 * Behaviour copied from kv_engine cbsasl/scram-sha/scram-sha-server.cc:
 * - server-first carries only r, s and i (the C++ SDK rejects any other attribute);
 * - an unknown user still gets a server-first, with a salt derived from the user name and a
 *   server secret (kv_engine `UserFactory::createDummy` + the ns_server fallback salt), so the
 *   exchange does not reveal which users exist; it fails at the final step.
 * Stricter than kv_engine, as RFC 5802 §5.1 asks: `c=` must echo the GS2 header and `r=` must
 * repeat the combined nonce. Channel binding ("p=") is refused: Couchbase never advertises the
 * -PLUS mechanisms. An authzid is accepted only when it names the authenticating user, since
 * there is no impersonation.
 */

import { randomBytes } from 'node:crypto';
import type { AuthErrorKind } from './errors.js';
import {
  SCRAM_HASHES,
  hmac,
  serverSignature,
  verifyClientProof,
  type ScramCredentials,
  type ScramHash,
} from './scram-crypto.js';
import {
  decodeBase64Strict,
  decodeSaslName,
  decodeUtf8Strict,
  isValidNonce,
  splitAttributes,
} from './scram-messages.js';

/** ns_server include/ns_common.hrl `DEFAULT_SCRAM_ITER`; also used for unknown users. */
export const DEFAULT_SCRAM_ITERATIONS = 15000;

export interface ScramServerContext {
  readonly hash: ScramHash;
  /** Stored keys for `user`, or undefined when there is no such user. */
  readonly lookup: (user: string, hash: ScramHash) => ScramCredentials | undefined;
  /** Server nonce source; tests inject the RFC vectors' nonce. Default: 18 random bytes, base64. */
  readonly serverNonce?: () => string;
  /** Secret and iteration count used to fake a salt for unknown users. */
  readonly unknownUser?: { readonly secret: Uint8Array; readonly iterations: number };
}

export type ScramServerState =
  | { readonly phase: 'awaiting-client-first' }
  | {
      readonly phase: 'awaiting-client-final';
      readonly user: string;
      /** Undefined for an unknown user: the exchange continues but cannot succeed. */
      readonly credentials: ScramCredentials | undefined;
      readonly gs2Header: string;
      readonly clientFirstBare: string;
      readonly serverFirst: string;
      readonly nonce: string;
    }
  | { readonly phase: 'done'; readonly user: string }
  | { readonly phase: 'failed'; readonly code: ScramFailureCode; readonly reason: string };

export type ScramFailureCode = Extract<AuthErrorKind, 'SASL_BAD_PARAM' | 'SASL_BAD_STATE' | 'SASL_AUTH_FAILED'>;

export type ScramServerReply =
  | { readonly kind: 'continue'; readonly message: string }
  | { readonly kind: 'success'; readonly message: string; readonly user: string }
  | { readonly kind: 'failure'; readonly code: ScramFailureCode; readonly reason: string };

export interface ScramServerTransition {
  readonly state: ScramServerState;
  readonly reply: ScramServerReply;
}

export const INITIAL_SCRAM_SERVER_STATE: ScramServerState = { phase: 'awaiting-client-first' };

const processSecret = randomBytes(64);

function fail(code: ScramFailureCode, reason: string): ScramServerTransition {
  return { state: { phase: 'failed', code, reason }, reply: { kind: 'failure', code, reason } };
}

function defaultServerNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Advance the exchange by one client message. Never throws for bad input. */
export function scramServerStep(
  ctx: ScramServerContext,
  state: ScramServerState,
  input: string | Uint8Array,
): ScramServerTransition {
  const message = decodeUtf8Strict(input);
  switch (state.phase) {
    case 'awaiting-client-first':
      if (message === undefined) return fail('SASL_BAD_PARAM', 'client-first is not UTF-8');
      return handleClientFirst(ctx, message);
    case 'awaiting-client-final':
      if (message === undefined) return fail('SASL_BAD_PARAM', 'client-final is not UTF-8');
      return handleClientFinal(ctx, state, message);
    case 'done':
    case 'failed':
      return fail('SASL_BAD_STATE', `no SCRAM message expected after ${state.phase}`);
  }
}

interface ClientFirst {
  readonly gs2Header: string;
  readonly bare: string;
  readonly user: string;
  readonly clientNonce: string;
}

/**
 * client-first-message = gs2-header client-first-message-bare
 * gs2-header           = gs2-cbind-flag "," [ authzid ] ","
 * client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
 */
export function parseClientFirst(message: string): ClientFirst | string {
  const flag = message.slice(0, 2);
  if (message.startsWith('p=')) return 'channel binding is not supported';
  if (flag !== 'n,' && flag !== 'y,') return 'gs2 header must start with "n," or "y,"';
  const authzEnd = message.indexOf(',', 2);
  if (authzEnd < 0) return 'gs2 header is not terminated';
  const authzPart = message.slice(2, authzEnd);
  const gs2Header = message.slice(0, authzEnd + 1);
  const bare = message.slice(authzEnd + 1);
  const attrs = splitAttributes(bare);
  if (attrs === undefined) return 'client-first-message-bare is not a list of attributes';
  if (attrs[0]?.key === 'm') return 'mandatory extension "m" is not supported';
  if (attrs[0]?.key !== 'n' || attrs[1]?.key !== 'r') return 'client-first must carry n= then r=';
  const user = decodeSaslName(attrs[0].value);
  if (user === undefined || user.length === 0) return 'user name is empty or badly escaped';
  const clientNonce = attrs[1].value;
  if (!isValidNonce(clientNonce)) return 'client nonce is empty or not printable';
  if (authzPart.length > 0) {
    const authzid = authzPart.startsWith('a=') ? decodeSaslName(authzPart.slice(2)) : undefined;
    if (authzid === undefined) return 'authzid is malformed';
    if (authzid !== user) return 'authorization identity differs from the user (no impersonation)';
  }
  return { gs2Header, bare, user, clientNonce };
}

function handleClientFirst(ctx: ScramServerContext, message: string): ScramServerTransition {
  const parsed = parseClientFirst(message);
  if (typeof parsed === 'string') return fail('SASL_BAD_PARAM', parsed);
  const known = ctx.lookup(parsed.user, ctx.hash);
  let salt: Buffer;
  let iterations: number;
  if (known !== undefined) {
    salt = known.salt;
    iterations = known.iterations;
  } else {
    const fake = ctx.unknownUser ?? { secret: processSecret, iterations: DEFAULT_SCRAM_ITERATIONS };
    salt = hmac(ctx.hash, fake.secret, parsed.user);
    iterations = fake.iterations;
  }
  const serverNonce = (ctx.serverNonce ?? defaultServerNonce)();
  if (!isValidNonce(serverNonce)) throw new RangeError('server nonce generator produced an invalid nonce');
  const nonce = parsed.clientNonce + serverNonce;
  const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
  return {
    state: {
      phase: 'awaiting-client-final',
      user: parsed.user,
      credentials: known,
      gs2Header: parsed.gs2Header,
      clientFirstBare: parsed.bare,
      serverFirst,
      nonce,
    },
    reply: { kind: 'continue', message: serverFirst },
  };
}

interface ClientFinal {
  readonly channelBinding: string;
  readonly nonce: string;
  readonly proof: string;
  readonly withoutProof: string;
}

/** client-final-message = channel-binding "," nonce ["," extensions] "," proof */
export function parseClientFinal(message: string): ClientFinal | string {
  const attrs = splitAttributes(message);
  if (attrs === undefined) return 'client-final is not a list of attributes';
  const last = attrs[attrs.length - 1];
  if (attrs.length < 3 || attrs[0]?.key !== 'c' || attrs[1]?.key !== 'r' || last?.key !== 'p') {
    return 'client-final must be c=, r=, [extensions,] p=';
  }
  if (attrs.some((a) => a.key === 'm')) return 'mandatory extension "m" is not supported';
  return {
    channelBinding: attrs[0].value,
    nonce: attrs[1].value,
    proof: last.value,
    withoutProof: message.slice(0, message.lastIndexOf(',p=')),
  };
}

function handleClientFinal(
  ctx: ScramServerContext,
  state: Extract<ScramServerState, { phase: 'awaiting-client-final' }>,
  message: string,
): ScramServerTransition {
  const parsed = parseClientFinal(message);
  if (typeof parsed === 'string') return fail('SASL_BAD_PARAM', parsed);
  const binding = decodeBase64Strict(parsed.channelBinding);
  if (binding === undefined || binding.toString('utf8') !== state.gs2Header) {
    return fail('SASL_BAD_PARAM', 'c= does not repeat the gs2 header');
  }
  if (parsed.nonce !== state.nonce) return fail('SASL_BAD_PARAM', 'r= does not repeat the combined nonce');
  const proof = decodeBase64Strict(parsed.proof);
  if (proof === undefined || proof.length !== SCRAM_HASHES[ctx.hash].bytes) {
    return fail('SASL_BAD_PARAM', 'p= is not a base64 proof of the digest size');
  }
  const authMessage = `${state.clientFirstBare},${state.serverFirst},${parsed.withoutProof}`;
  const creds = state.credentials;
  if (creds === undefined) return fail('SASL_AUTH_FAILED', 'unknown user');
  if (!verifyClientProof(ctx.hash, creds.storedKey, authMessage, proof)) {
    return fail('SASL_AUTH_FAILED', 'client proof does not verify');
  }
  const signature = serverSignature(ctx.hash, creds.serverKey, authMessage);
  return {
    state: { phase: 'done', user: state.user },
    reply: { kind: 'success', message: `v=${signature.toString('base64')}`, user: state.user },
  };
}

/** A per-connection holder for the state, for callers that prefer an object. */
export class ScramServerSession {
  readonly #ctx: ScramServerContext;
  #state: ScramServerState = INITIAL_SCRAM_SERVER_STATE;

  constructor(ctx: ScramServerContext) {
    this.#ctx = ctx;
  }

  get state(): ScramServerState {
    return this.#state;
  }

  get hash(): ScramHash {
    return this.#ctx.hash;
  }

  step(input: string | Uint8Array): ScramServerReply {
    const next = scramServerStep(this.#ctx, this.#state, input);
    this.#state = next.state;
    return next.reply;
  }
}
