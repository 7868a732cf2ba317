/**
 * What the KV listener's command table is made of, in a module of its own so that another face
 * (DCP, src/dcp) can contribute commands and stat groups without importing the table itself: the
 * server passes them to `startKvFace` (src/server/freshet-server.ts), nothing registers itself by
 * being imported, and kv never imports dcp.
 */
import type { Packet } from '../codec/packet.js';
import type { Session } from './session.js';

/** What a handler answers: a packet, several (STAT), a frame already encoded (codec frame encoders), or nothing. */
export type Reply = Packet | Packet[] | Buffer | null;
export type CommandHandler = (session: Session, req: Packet) => Reply | Promise<Reply>;

/**
 * One opcode's entry. Access rules are data, checked once by the dispatcher (kv/dispatch.ts):
 * `auth` needs an authenticated connection, `bucket` a selected bucket the user may access.
 */
export interface CommandSpec {
  readonly opcode: number;
  readonly handler: CommandHandler;
  readonly auth: boolean;
  readonly bucket: boolean;
  /**
   * When the handler answers with a promise, later requests on the connection wait for it (the
   * connection otherwise runs them at once). For commands that change the session's auth state
   * after a wait: SASL answered after a throttle delay.
   */
  readonly barrier?: boolean;
}

/** One STAT group's statistics (name, value as printed). */
export type StatPairs = Array<[string, string | number | bigint | boolean]>;
export type StatGroup = (session: Session, args: string[]) => StatPairs;

/** What other faces add to the KV listener: their opcodes and their STAT groups. */
export interface KvExtensions {
  readonly extraCommands?: readonly CommandSpec[];
  readonly statGroups?: Readonly<Record<string, StatGroup>>;
}
