/**
 * The CouchDB-compatible HTTP API listener.
 */
import { listenReserved } from '../server/reserved-port.js';
import type { Listener, ServerContext } from '../server/context.js';

export function startHttpFace(ctx: ServerContext, port: number): Promise<Listener> {
  return listenReserved(ctx.host, port);
}
