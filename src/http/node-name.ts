/**
 * The one node a Freshet server is, by the name `_membership`, `/_node/{node}` and the replicator
 * use (CouchDB's `node()`); `_local` names it too (chttpd_node).
 */
import { CouchError } from '../couch/errors.js';
import type { RequestCtx } from './request.js';

export const NODE = 'freshet@127.0.0.1';

/** `/_node/{node}/…` of another node: 404, as chttpd_node call_node answers a name that is no node of the cluster. */
export function checkNode(rc: RequestCtx): void {
  const node = rc.params.node;
  if (node !== '_local' && node !== NODE) throw new CouchError('not_found_detail', { params: { detail: `no such node: ${node ?? ''}` } });
}
