/**
 * The node endpoints of CouchDB 3.3 beyond `_stats`, `_prometheus` and `_config`
 * (chttpd_node.erl; api/server/common.rst), and resharding, all for server admins:
 *
 *   /_node                       400 "Incomplete path to _node request"
 *   /_node/_local                `{"name": node}`, whatever the method
 *   GET /_node/{node}/_versions  the engines behind the server (collation, JavaScript, runtime)
 *   GET /_node/{node}/_system    the process's figures in CouchDB's member names
 *   /_reshard[/...]              501 not_implemented, as CouchDB answers with resharding
 *                                disabled: a Freshet database's vbuckets are fixed at creation
 *
 * `_system` is Erlang VM statistics in CouchDB; here each member is the nearest figure of this
 * Node.js process (memory from `process.memoryUsage`, `context_switches`, `io_input` and
 * `io_output` from `resourceUsage`, one process), and 0 where the VM concept has none (atoms,
 * reductions, run queues, query-server processes: design functions run in WebAssembly sandboxes
 * inside this process), so monitoring that reads the members finds them all.
 */
import { getHashes } from 'node:crypto';
import { CouchError } from '../couch/errors.js';
import { requireAdmin } from './auth.js';
import type { Handler, RequestCtx } from './request.js';
import { sendJson } from './response.js';
import { checkNode, NODE } from './node-name.js';
import type { RouteTable } from '../web/route-table.js';

/** The QuickJS release quickjs-emscripten builds (CouchDB 3.4 names its QuickJS engine "quickjs"). */
const QUICKJS_VERSION = '2024-01-13';

/** Erlang crypto's names (crypto:supports(hashs)) of the hashes Node.js's crypto has. */
const ERLANG_HASHES: ReadonlyArray<readonly [node: string, erlang: string]> = [
  ['sha1', 'sha'], ['sha224', 'sha224'], ['sha256', 'sha256'], ['sha384', 'sha384'], ['sha512', 'sha512'],
  ['sha3-224', 'sha3_224'], ['sha3-256', 'sha3_256'], ['sha3-384', 'sha3_384'], ['sha3-512', 'sha3_512'],
  ['blake2b512', 'blake2b'], ['blake2s256', 'blake2s'], ['md4', 'md4'], ['md5', 'md5'], ['ripemd160', 'ripemd160'],
];

function supportedHashes(): string[] {
  const have = new Set(getHashes());
  return ERLANG_HASHES.filter(([node]) => have.has(node)).map(([, erlang]) => erlang);
}

const EVERY_METHOD = ['GET', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS'] as const;
const every = (h: Handler): Record<string, Handler> => Object.fromEntries(EVERY_METHOD.map((m) => [m, h]));

const incompletePath: Handler = async (rc) => {
  requireAdmin(rc);
  throw new CouchError('bad_request', { reason: 'Incomplete path to _node request' });
};

/** `/_node/_local`: chttpd_node answers the node's name for any method; another name is no node of this server. */
const nodeName: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  sendJson(rc.res, 200, { name: NODE });
};

/**
 * `GET /_node/{node}/_versions` (CouchDB 3.3, keys sorted as jiffy sorts a map): the collation
 * library is the ICU Node.js is built with (views collate through it, couch/collate.ts); the
 * JavaScript engine of design functions is QuickJS, as CouchDB 3.4 can use; `erlang` is the
 * runtime, here Node.js, with the hashes its crypto supports (`pbkdf2_prf` takes them).
 */
const versions: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  sendJson(rc.res, 200, {
    collation_driver: {
      collation_algorithm_version: process.versions.unicode ?? null,
      collator_version: process.versions.icu ?? null,
      library_version: process.versions.icu ?? null,
      name: 'libicu',
    },
    erlang: { supported_hashes: supportedHashes(), version: `Node.js ${process.versions.node}` },
    javascript_engine: { name: 'quickjs', version: QUICKJS_VERSION },
  });
};

/** `GET /_node/{node}/_system` (chttpd_node get_stats/0), member for member; see the header. */
const system: Handler = async (rc) => {
  requireAdmin(rc);
  checkNode(rc);
  const mem = process.memoryUsage();
  const usage = process.resourceUsage();
  sendJson(rc.res, 200, {
    uptime: Math.floor(process.uptime()),
    memory: {
      other: Math.max(0, mem.rss - mem.heapTotal - mem.external),
      atom: 0,
      atom_used: 0,
      processes: mem.heapTotal,
      processes_used: mem.heapUsed,
      binary: mem.arrayBuffers,
      code: 0,
      ets: Math.max(0, mem.external - mem.arrayBuffers),
    },
    run_queue: 0,
    run_queue_dirty_cpu: 0,
    ets_table_count: 0,
    context_switches: usage.voluntaryContextSwitches + usage.involuntaryContextSwitches,
    reductions: 0,
    garbage_collection_count: 0,
    words_reclaimed: 0,
    io_input: usage.fsRead,
    io_output: usage.fsWrite,
    os_proc_count: 0,
    stale_proc_count: 0,
    process_count: 1,
    process_limit: 1,
    message_queues: { couch_file: {}, couch_db_updater: {}, couch_server: 0, index_server: 0 },
    internal_replication_jobs: 0,
    distribution: {},
  });
};

const reshardDisabled: Handler = async (rc: RequestCtx) => {
  requireAdmin(rc);
  throw new CouchError('not_implemented');
};

export function nodeRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/_node', every(incompletePath))
    .add('/_node/:node', every(nodeName))
    .add('/_node/:node/_versions', { GET: versions })
    .add('/_node/:node/_system', { GET: system })
    .add('/_reshard', every(reshardDisabled))
    .add('/_reshard/*rest', every(reshardDisabled));
}
