/**
 * The DCP producer's command table. Until a DCP_OPEN handler is registered here, DCP opcodes get
 * UnknownCommand from the KV dispatcher, as a server without DCP would answer.
 */
import type { CommandSpec } from '../kv/dispatch.js';

export const DCP_COMMANDS: readonly CommandSpec[] = [];
