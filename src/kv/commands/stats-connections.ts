/**
 * STAT `connections [self|id]`: one statistic per connection, with an empty key and the
 * connection described as JSON, the fields of kv_engine's Connection::to_json that Freshet
 * has (daemon/connection.cc; stats.cc stat_connections_executor, stats_tasks.cc).
 *
 * Who sees what (stat_connections_executor): `self`, or the caller's own id, is the calling
 * connection; without an argument, a caller lacking the Stats privilege (the administrator's in
 * Freshet) gets its own connection only; another connection's id needs the privilege (EACCESS);
 * an argument that is not a non-negative number is EINVAL.
 */
import { Feature } from '../../codec/features.js';
import { Status } from '../../codec/status.js';
import { EngineError } from '../../engine/errors.js';
import { KvReplyError } from '../errors.js';
import { userOf, type Session } from '../session.js';
import type { StatPairs } from '../command-spec.js';

/** `address:port` as kv's getPeerNameAsJson / getSockNameAsJson object. */
function endpoint(text: string): { ip: string; port: number } {
  const at = text.lastIndexOf(':');
  return { ip: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

/** The HELLO key: an agent, or JSON `{"a": agent, "i": connection id}` (kv hello_packet_executor). */
function agentOf(session: Session): { agent_name?: string; connection_id?: string } {
  const raw = session.agent;
  if (raw.startsWith('{')) {
    try {
      const j = JSON.parse(raw) as { a?: unknown; i?: unknown };
      return {
        ...(typeof j.a === 'string' && j.a !== '' ? { agent_name: j.a.slice(0, 32) } : {}),
        ...(typeof j.i === 'string' && j.i !== '' ? { connection_id: j.i.slice(0, 33) } : {}),
      };
    } catch {
      // Not JSON: the whole key is the agent, as below.
    }
  }
  return raw === '' ? {} : { agent_name: raw.slice(0, 32) };
}

/** kv's feature names in to_json, in its order, for the features Freshet grants. */
const FEATURE_NAMES: ReadonlyArray<readonly [number, string]> = [
  [Feature.MutationSeqno, 'mutation extras'],
  [Feature.Xerror, 'xerror'],
  [Feature.Collections, 'collections'],
];

/** cb::mcbp::datatype::to_string of the datatypes the connection negotiated. */
function datatypes(session: Session): string {
  const names = [session.features.has(Feature.Json) ? 'json' : '', session.features.has(Feature.Xattr) ? 'xattr' : ''].filter((n) => n !== '');
  return names.length === 0 ? 'raw' : names.join(',');
}

export function connectionJson(session: Session): Record<string, unknown> {
  const user = userOf(session);
  const bucketIndex = session.bucket ? session.ctx.engine.buckets().indexOf(session.bucket) + 1 : 0;
  return {
    socket: session.id,
    peername: endpoint(session.peer),
    sockname: endpoint(session.local),
    connection: `0x${session.id.toString(16)}`,
    protocol: 'memcached',
    bucket_index: bucketIndex,
    internal: false,
    ...(user === null ? {} : { user: { name: user, domain: 'local' } }),
    features: FEATURE_NAMES.filter(([f]) => session.features.has(f)).map(([, name]) => name),
    ...agentOf(session),
    sasl_enabled: true,
    dcp: session.dcp !== null,
    type: session.dcp !== null ? 'producer' : 'normal',
    state: session.closed ? 'closing' : 'running',
    ssl: session.tls,
    datatype: datatypes(session),
  };
}

export function connectionsGroup(session: Session, args: string[]): StatPairs {
  const arg = args[0];
  let id = -1;
  if (arg === 'self') id = session.id;
  else if (arg !== undefined) {
    if (!/^[0-9]+$/.test(arg)) throw new EngineError('EINVAL', 'Connection must be a positive number');
    id = Number(arg);
  }
  const user = userOf(session);
  const privileged = user !== null && session.ctx.users.isAdmin(user);
  if (id === session.id || (id === -1 && !privileged)) return [['', JSON.stringify(connectionJson(session))]];
  if (!privileged) throw new KvReplyError(Status.Eaccess, 'the Stats privilege is needed to see other connections');
  const all = [...session.stats.live].filter((s) => id === -1 || s.id === id).sort((a, b) => a.id - b.id);
  return all.map((s): [string, string] => ['', JSON.stringify(connectionJson(s))]);
}
