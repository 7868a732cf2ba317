/**
 * The per-connection state that KV command handlers read and change.
 *
 * Authentication is an explicit state machine (anonymous → sasl-in-progress → authenticated), not
 * a set of flags; the selected bucket and the HELLO features live beside it. The DCP producer, once
 * DCP_OPEN made this a DCP connection, hangs off `dcp`.
 */
import type { Logger } from '../common/logger.js';
import type { Packet } from '../codec/packet.js';
import type { Bucket } from '../engine/bucket.js';
import type { AccessLog } from '../common/access-log.js';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { AuthThrottle } from '../auth/throttle.js';
import type { ClusterConfigSource } from '../topology/topology.js';
import type { ScramServerSession } from '../auth/scram.js';
import type { KvStats } from './stats-counters.js';

/** What the KV face is built from (the server passes it to `startKvFace`). */
export interface KvDeps {
  readonly engine: Engine;
  readonly users: UserRegistry;
  /** Failed-login throttle shared by every face's password checks (src/auth/throttle.ts). */
  readonly authThrottle: AuthThrottle;
  readonly logger: Logger;
  /** The host to listen on. */
  readonly host: string;
  /** The cluster map: GET_CLUSTER_CONFIG replies and NOT_MY_VBUCKET bodies. */
  readonly clusterConfig: ClusterConfigSource;
  /** `serve --access-log`: one entry per connection opened and closed. */
  readonly accessLog?: AccessLog;
}

export type AuthState =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'sasl'; readonly mechanism: string; readonly scram: ScramServerSession }
  | { readonly kind: 'authenticated'; readonly user: string; readonly mechanism: string };

/**
 * A request run as another user (the Impersonate frame, kv/frames.ts): its privileges are the
 * named user's, plus those the impersonator granted with ImpersonateExtraPrivilege frames.
 */
export interface Impersonation {
  readonly user: string;
  readonly extraPrivileges: number;
}

/** What a DCP producer attached to a connection must offer the connection. */
export interface DcpAttachment {
  /** Handle a DCP opcode from the consumer; may answer with a response or nothing. */
  handle(req: Packet): Packet | Packet[] | null | Promise<Packet | Packet[] | null>;
  /** The connection went away: release every stream. */
  close(): void;
}

export interface Session {
  readonly id: number;
  readonly ctx: KvDeps;
  /** Remote address, for logs and `stats connections`. */
  readonly peer: string;
  /** The client's address alone (clientAddress form), the failed-login throttle's key. */
  readonly remoteAddress: string;
  /** The local end (`address:port`) and whether the connection runs over TLS (`stats connections`). */
  readonly local: string;
  readonly tls: boolean;
  /** The listener's counters (shared by its connections). */
  readonly stats: KvStats;
  auth: AuthState;
  bucket: Bucket | null;
  /** HELLO features granted on this connection. */
  features: ReadonlySet<number>;
  agent: string;
  dcp: DcpAttachment | null;
  /** The user's compiled access to the selected bucket, rebuilt when stale (access.ts). */
  access: unknown;
  /**
   * Set by the dispatcher while an impersonating request's handler runs its synchronous part,
   * where every access check happens (kv/dispatch.ts); null otherwise.
   */
  impersonation: Impersonation | null;
  /**
   * Send a server-initiated packet (DCP messages, server requests) outside the request/response
   * order. Returns false when the socket's buffer is full: wait for `drained()` before sending more.
   */
  send(packet: Packet): boolean;
  /** `send` for a frame already encoded (the DCP hot path builds its frames in place). */
  sendFrame(frame: Buffer): boolean;
  drained(): Promise<void>;
  /** Close the connection (after flushing what is queued). */
  close(reason: string): void;
  readonly closed: boolean;
}

export function userOf(session: Session): string | null {
  return session.auth.kind === 'authenticated' ? session.auth.user : null;
}
