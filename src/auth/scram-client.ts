/**
 * Client side of SCRAM-SHA1/256/512 (RFC 5802 §3, §5), used by Freshet's own DCP consumer to
 * authenticate against Freshet or Couchbase Server.
 *
 *   client-first  "n,,n=<saslname>,r=<cnonce>"            -> SASL_AUTH 0x21, key = mechanism
 *   server-first  "r=<cnonce><snonce>,s=<salt>,i=<count>"  <- status 0x21 AuthContinue
 *   client-final  "c=biws,r=<nonce>,p=<proof>"             -> SASL_STEP 0x22
 *   server-final  "v=<signature>" or "e=<error>"           <- status 0x00 / 0x20
 *
 * Unlike the Couchbase C++ SDK (which never checks `v=`, couchbase-sdk-bootstrap.md §3.2), this
 * client verifies the server signature, so a server that does not know the password cannot
 * impersonate one that does.
 */

import { randomBytes } from 'node:crypto';
import { AuthError } from './errors.js';
import {
  SCRAM_HASHES,
  clientProof,
  constantTimeEqual,
  hmac,
  saltedPassword,
  type ScramHash,
} from './scram-crypto.js';
import { decodeBase64Strict, encodeSaslName, isValidNonce, splitAttributes } from './scram-messages.js';

/** Refuse absurd iteration counts from a hostile server (each one costs an HMAC). */
export const DEFAULT_MAX_CLIENT_ITERATIONS = 1_000_000;

export interface ScramClientOptions {
  readonly hash: ScramHash;
  readonly user: string;
  readonly password: string;
  /** Client nonce; tests inject the RFC vectors' nonce. Default: 24 random bytes, base64. */
  readonly clientNonce?: string;
  readonly maxIterations?: number;
}

export type ScramClientState =
  | { readonly phase: 'initial' }
  | {
      readonly phase: 'awaiting-server-first';
      readonly gs2Header: string;
      readonly clientFirstBare: string;
      readonly clientNonce: string;
    }
  | { readonly phase: 'awaiting-server-final'; readonly expectedSignature: Buffer }
  | { readonly phase: 'done' }
  | { readonly phase: 'failed'; readonly error: AuthError };

export interface ScramClientTransition {
  readonly state: ScramClientState;
  /** The message to send next; empty after the final verification. */
  readonly message: string;
}

const GS2_HEADER = 'n,,';

export function scramClientFirst(opts: ScramClientOptions): ScramClientTransition {
  const clientNonce = opts.clientNonce ?? randomBytes(24).toString('base64');
  if (!isValidNonce(clientNonce)) throw new RangeError('client nonce must be printable and contain no comma');
  if (opts.user.length === 0) throw new RangeError('SCRAM user name must not be empty');
  const clientFirstBare = `n=${encodeSaslName(opts.user)},r=${clientNonce}`;
  return {
    state: { phase: 'awaiting-server-first', gs2Header: GS2_HEADER, clientFirstBare, clientNonce },
    message: GS2_HEADER + clientFirstBare,
  };
}

function invalid(reason: string): AuthError {
  return new AuthError('SCRAM_SERVER_INVALID', `invalid server-first: ${reason}`);
}

/** Parse server-first = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions] */
export function parseServerFirst(
  message: string,
  clientNonce: string,
  maxIterations: number,
): { nonce: string; salt: Buffer; iterations: number } {
  const attrs = splitAttributes(message);
  if (attrs === undefined) throw invalid('not a list of attributes');
  if (attrs[0]?.key === 'm') throw invalid('mandatory extension "m" is not supported');
  if (attrs[0]?.key === 'e') throw new AuthError('SASL_AUTH_FAILED', `server error: ${attrs[0].value}`);
  const [r, s, i] = attrs;
  if (r?.key !== 'r' || s?.key !== 's' || i?.key !== 'i') throw invalid('expected r=, s=, i=');
  if (!r.value.startsWith(clientNonce) || r.value.length === clientNonce.length || !isValidNonce(r.value)) {
    throw invalid('nonce does not extend the client nonce');
  }
  const salt = decodeBase64Strict(s.value);
  if (salt === undefined || salt.length === 0) throw invalid('salt is not base64');
  if (!/^[1-9][0-9]*$/.test(i.value)) throw invalid('iteration count is not a positive integer');
  const iterations = Number(i.value);
  if (iterations > maxIterations) throw invalid(`iteration count ${iterations} exceeds ${maxIterations}`);
  return { nonce: r.value, salt, iterations };
}

export function scramClientFinal(
  opts: ScramClientOptions,
  state: ScramClientState,
  serverFirst: string,
): ScramClientTransition {
  if (state.phase !== 'awaiting-server-first') {
    throw new AuthError('SASL_BAD_STATE', `server-first not expected in phase ${state.phase}`);
  }
  const { nonce, salt, iterations } = parseServerFirst(
    serverFirst,
    state.clientNonce,
    opts.maxIterations ?? DEFAULT_MAX_CLIENT_ITERATIONS,
  );
  const withoutProof = `c=${Buffer.from(state.gs2Header).toString('base64')},r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${withoutProof}`;
  const salted = saltedPassword(opts.hash, opts.password, salt, iterations);
  const proof = clientProof(opts.hash, salted, authMessage);
  const expectedSignature = hmac(opts.hash, hmac(opts.hash, salted, 'Server Key'), authMessage);
  return {
    state: { phase: 'awaiting-server-final', expectedSignature },
    message: `${withoutProof},p=${proof.toString('base64')}`,
  };
}

/** Check server-final = ( server-error / verifier ) ["," extensions] */
export function scramClientVerify(state: ScramClientState, serverFinal: string): ScramClientTransition {
  if (state.phase !== 'awaiting-server-final') {
    throw new AuthError('SASL_BAD_STATE', `server-final not expected in phase ${state.phase}`);
  }
  const attrs = splitAttributes(serverFinal);
  const first = attrs?.[0];
  if (first?.key === 'e') throw new AuthError('SASL_AUTH_FAILED', `server error: ${first.value}`);
  if (first?.key !== 'v') throw new AuthError('SCRAM_SERVER_INVALID', 'server-final carries neither v= nor e=');
  const signature = decodeBase64Strict(first.value);
  if (signature === undefined || !constantTimeEqual(signature, state.expectedSignature)) {
    throw new AuthError('SCRAM_SERVER_SIGNATURE');
  }
  return { state: { phase: 'done' }, message: '' };
}

/** Object wrapper: keeps the state and records the failure before rethrowing it. */
export class ScramClient {
  readonly #opts: ScramClientOptions;
  #state: ScramClientState = { phase: 'initial' };

  constructor(opts: ScramClientOptions) {
    this.#opts = opts;
  }

  get state(): ScramClientState {
    return this.#state;
  }

  get mechanism(): string {
    return SCRAM_HASHES[this.#opts.hash].mechanism;
  }

  /** The SASL_AUTH value. */
  start(): string {
    return this.#apply(() => {
      if (this.#state.phase !== 'initial') {
        throw new AuthError('SASL_BAD_STATE', `client-first already sent (phase ${this.#state.phase})`);
      }
      return scramClientFirst(this.#opts);
    });
  }

  /** Answer the server-first (SASL_AUTH reply with status AuthContinue); the SASL_STEP value. */
  respond(serverFirst: string): string {
    return this.#apply(() => scramClientFinal(this.#opts, this.#state, serverFirst));
  }

  /** Verify the server-final (SASL_STEP success reply). Throws AuthError when it does not verify. */
  verify(serverFinal: string): void {
    this.#apply(() => scramClientVerify(this.#state, serverFinal));
  }

  #apply(step: () => ScramClientTransition): string {
    try {
      const next = step();
      this.#state = next.state;
      return next.message;
    } catch (err) {
      if (err instanceof AuthError) this.#state = { phase: 'failed', error: err };
      throw err;
    }
  }
}
