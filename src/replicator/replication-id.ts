/**
 * Replication ids, computed with CouchDB's version 4 algorithm (couch_replicator_ids.erl
 * `replication_id/2` clause 4, `?REP_ID_VERSION = 4`; couch-replication.md §1.3):
 *
 *   md5(term_to_binary([NodeUUID, SrcEndpoint, TgtEndpoint | FilterTerms ++ SinceSeq]))
 *
 * in lowercase hex, where an endpoint is `{remote, User, Host, NonDefaultPort, Path,
 * HeadersWithoutBasicAuth, undefined}` with the strings as Erlang lists (ibrowse parses URLs into
 * lists), the port the atom `default` for 80/443/5984, the path with CouchDB's trailing slash, and
 * a local database `{local, DbName, UserCtx}` (CouchDB 2.x), and
 * the filter terms `[DocIds]`, `[ejsort(normalize(Selector))]`, `[FilterCode, QueryParams]` or
 * `[FilterName, QueryParams]` (couch_replicator_filters.erl). `+continuous` and `+create_target`
 * extend the job id but not the checkpoint id.
 *
 * Why CouchDB's algorithm rather than PouchDB's (md5 of `src uuid + db name + tgt uuid + db name +
 * filter`, base64, pouchdb-generate-replication-id): the id includes the node that runs the
 * replication and the user it authenticates as, so two Freshet nodes (or two users seeing
 * different documents) replicating the same pair never share a checkpoint, and it needs no
 * `GET /` round trip to peers whose `uuid` may be missing or unstable (PouchDB then restarts from
 * 0). Because the node uuid is Freshet's own, the ids never collide with CouchDB's or PouchDB's
 * checkpoints of the same pair (spec §5: "read and write only Freshet's own checkpoint format
 * under Freshet's own `_local` id").
 */
import { createHash } from 'node:crypto';
import { atom, bin, ejson, int, list, termToBinary, tuple, type ErlTerm } from '../couch/erlang-term.js';
import { normalizeSelector } from '../couch/selector.js';
import type { Seq } from './changes-parse.js';
import type { EndpointIdentity, LocalEndpointIdentity } from './peer.js';

export const REP_ID_VERSION = 4;

export interface ReplicationIdInput {
  /** The replicating node's uuid (CouchDB's `couch_server:get_uuid()`). */
  nodeUuid: string;
  source: EndpointIdentity | LocalEndpointIdentity;
  target: EndpointIdentity | LocalEndpointIdentity;
  docIds?: readonly string[];
  selector?: Record<string, unknown>;
  /** A `ddoc/name` filter, with the function's source code when it could be read. */
  filter?: { name: string; code?: string; queryParams?: Record<string, unknown> };
  sinceSeq?: Seq;
  continuous?: boolean;
  createTarget?: boolean;
}

export interface ReplicationIds {
  /** 32 hex characters. */
  baseId: string;
  /** `baseId` plus `+continuous` / `+create_target`, as `_active_tasks` shows it. */
  repId: string;
  /** The checkpoint document id on both peers: `_local/<baseId>`. */
  checkpointId: string;
}

/** An Erlang string: a list of byte values (STRING_EXT when encoded). */
export function str(s: string): ErlTerm {
  return list([...Buffer.from(s, 'utf8')].map((b) => int(b)));
}

/**
 * A local database: `{local, <<DbName>>, #user_ctx{name, roles, handler}}` (CouchDB 2.x
 * get_v4_endpoint/2), the record as the tuple `{user_ctx, Name | null, [Role], Handler}`. CouchDB
 * puts there the name of the authentication handler that admitted the user; Freshet has no such
 * handlers and always leaves it `undefined`, as the record's default is.
 */
function localEndpointTerm(e: LocalEndpointIdentity): ErlTerm {
  const { dbName, userName, roles } = e.local;
  const userCtx = tuple(atom('user_ctx'), userName === null ? atom('null') : bin(userName), list(roles.map((r) => bin(r))), atom('undefined'));
  return tuple(atom('local'), bin(dbName), userCtx);
}

export function endpointTerm(e: EndpointIdentity | LocalEndpointIdentity): ErlTerm {
  if ('local' in e) return localEndpointTerm(e);
  return tuple(
    atom('remote'),
    e.user === undefined ? atom('undefined') : str(e.user),
    str(e.host),
    e.port === 'default' ? atom('default') : int(e.port),
    str(e.path),
    list(e.headers.map(([k, v]) => tuple(str(k), str(v)))),
    atom('undefined'),
  );
}

/** couch_replicator_filters:ejsort/1: object keys sorted (bytewise), recursively. */
export function ejsort(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ejsort);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
    );
    return Object.fromEntries(entries.map(([k, v]) => [k, ejsort(v)]));
  }
  return value;
}

function filterTerms(input: ReplicationIdInput): ErlTerm[] {
  if (input.docIds) return [list(input.docIds.map((id) => bin(id)))];
  if (input.selector) return [ejson(ejsort(normalizeSelector(input.selector)))];
  if (input.filter) {
    const params = ejson(input.filter.queryParams ?? {});
    // `_view`/`_design` filters hash their name; user filters their (trimmed) code.
    const head = input.filter.name.startsWith('_') || input.filter.code === undefined ? input.filter.name : input.filter.code.trim();
    return [bin(head), params];
  }
  return [];
}

/** `couch_util:to_hex(couch_hash:md5_hash(term_to_binary(Base)))`. */
export function baseIdOf(base: readonly ErlTerm[]): string {
  return createHash('md5').update(termToBinary(list([...base]))).digest('hex');
}

export function replicationIds(input: ReplicationIdInput): ReplicationIds {
  const base: ErlTerm[] = [bin(input.nodeUuid), endpointTerm(input.source), endpointTerm(input.target), ...filterTerms(input)];
  if (input.sinceSeq !== undefined) base.push(ejson(input.sinceSeq));
  const baseId = baseIdOf(base);
  const repId = baseId + (input.continuous ? '+continuous' : '') + (input.createTarget ? '+create_target' : '');
  return { baseId, repId, checkpointId: `_local/${baseId}` };
}
