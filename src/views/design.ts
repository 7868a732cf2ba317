/**
 * Design documents as view definitions: which views a design document has, its index signature,
 * and the index with its JavaScript map and reduce functions (through the QuickJS sandbox,
 * src/design/sandbox.ts). CouchDB (couch_mrview_util.erl ddoc_to_mrst) hashes the views'
 * functions, the language and the design options into the signature, so editing anything else in
 * the design document keeps the index, and a changed function builds a new one.
 */
import { createHash } from 'node:crypto';
import { CouchError } from '../couch/errors.js';
import type { Db } from '../couchdb/db.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { DesignSandbox, type DesignDoc, type MapFunction } from '../design/sandbox.js';
import { DesignError } from '../design/call-results.js';
import { ViewIndex, viewStats, type Emits, type MapDoc, type ViewMapper } from './index.js';
import type { DocSourceOptions } from './doc-source.js';
import { compareErlang } from './erlang-order.js';
import { builtinReducer, isBuiltinName, type Reducer } from './reduce.js';
import { checkReduction, overflowIn, type ReduceLimitOptions } from './reduce-limit.js';

export interface ViewDef {
  name: string;
  map: string;
  reduce?: string;
}

export interface DesignViews {
  doc: DesignDoc;
  language: string;
  views: ViewDef[];
  signature: string;
}

let shared: Promise<DesignSandbox> | null = null;
/** The sandbox the views layer runs design functions in (one per process). */
export function viewSandbox(): Promise<DesignSandbox> {
  shared ??= DesignSandbox.create();
  return shared;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The views of a design document body (invalid entries are left out, as CouchDB ignores them). */
export function designViews(doc: DesignDoc): DesignViews {
  const language = typeof doc.language === 'string' ? doc.language : 'javascript';
  const views: ViewDef[] = [];
  if (isObj(doc.views)) {
    for (const [name, v] of Object.entries(doc.views)) {
      if (!isObj(v) || typeof v.map !== 'string') continue;
      views.push(typeof v.reduce === 'string' ? { name, map: v.map, reduce: v.reduce } : { name, map: v.map });
    }
  }
  views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lib = isObj(doc.views) ? doc.views.lib ?? null : null;
  const sig = createHash('md5').update(JSON.stringify([language, doc.options ?? null, lib, views.map((v) => [v.name, v.map, v.reduce ?? null])])).digest('hex');
  return { doc, language, views, signature: sig };
}

/** The design document `_design/<name>` (404 `missing` / `deleted` as CouchDB says). */
export function readDesign(db: Db, name: string): DesignViews {
  const state = loadDoc(db, `_design/${name}`, db.revsLimit);
  if (!state) throw new CouchError('not_found');
  if (state.winner.deleted) throw new CouchError('not_found_deleted');
  return designViews(winnerJson(db, state) as DesignDoc);
}

/** Every live design document of the database, as view definitions. */
export function allDesigns(db: Db): DesignViews[] {
  const out: DesignViews[] = [];
  const prefix = Buffer.from('_design/');
  for (const key of db.keysFrom(prefix, false)) {
    if (key.length < prefix.length || key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) break;
    try {
      out.push(readDesign(db, key.toString('utf8').slice(prefix.length)));
    } catch {
      // deleted or unreadable: it keeps no index
    }
  }
  return out;
}

/**
 * Maps documents through every view's JavaScript map function, one sandbox call per view per
 * batch. The batch goes in as the documents' JSON text joined into one array (doc-source.ts
 * builds it from the stored bodies), so Node neither parses nor re-serializes a document.
 */
class JsMapper implements ViewMapper {
  constructor(
    private readonly fns: MapFunction[],
    readonly sourceOptions: DocSourceOptions,
  ) {}

  map(docs: readonly MapDoc[]): Emits[] {
    let text = '[';
    for (let i = 0; i < docs.length; i++) text += (i === 0 ? '' : ',') + docs[i]!.json;
    text += ']';
    const out: Emits[] = docs.map(() => []);
    this.fns.forEach((fn, view) => {
      const results = fn.mapManyJson(text);
      results.forEach((r, i) => {
        // A document whose map throws emits nothing for that view (CouchDB logs and skips it).
        if ('emits' in r) for (const [k, v] of r.emits) out[i]!.push([view, k ?? null, v === undefined ? null : v]);
      });
    });
    for (const emits of out) if (emits.length > 1) sortDuplicates(emits);
    return out;
  }
}

/**
 * A document's values under one key of one view in Erlang term order (erlang-order.ts), as
 * couch_mrview_updater's `lists:sort` of the emits leaves them; rows of different keys keep their
 * order here (the index sorts them by key).
 */
function sortDuplicates(emits: Emits): void {
  const keyOf = (e: Emits[number]): string => `${e[0]}\u0000${JSON.stringify(e[1])}`;
  const seen = new Set<string>();
  let dup = false;
  for (const e of emits) {
    const k = keyOf(e);
    if (seen.has(k)) dup = true;
    seen.add(k);
  }
  if (!dup) return;
  const first = new Map<string, number>();
  emits.forEach((e, i) => first.has(keyOf(e)) || first.set(keyOf(e), i));
  emits.sort((a, b) => first.get(keyOf(a))! - first.get(keyOf(b))! || compareErlang(a[2], b[2]));
}

/** The index of a design document, opened with its map functions compiled. */
export async function openDesignIndex(db: Db, d: DesignViews, partitioned = false): Promise<ViewIndex> {
  if (d.language !== 'javascript') throw new CouchError('not_found_detail', { params: { detail: `unsupported language ${d.language}` } });
  const sandbox = await viewSandbox();
  const fns = d.views.map((v) => sandbox.compile(d.doc, 'map', ['views', v.name, 'map'], dbKey(db)));
  const options = isObj(d.doc.options) ? d.doc.options : {};
  const source: DocSourceOptions = { includeDesign: options.include_design === true, localSeq: options.local_seq === true };
  return ViewIndex.open(db, d.signature, new JsMapper(fns, source), d.views.length, partitioned);
}

function dbKey(db: Db): string {
  return `${db.bucket.name}:${db.collectionId}`;
}

/**
 * The reducer of a view: a built-in, or its JavaScript function through the sandbox, whose
 * reductions `limit` checks (`[query_server_config] reduce_limit`, reduce-limit.ts).
 */
export async function viewReducer(db: Db, d: DesignViews, view: ViewDef, limit: ReduceLimitOptions): Promise<Reducer> {
  const src = view.reduce!;
  if (isBuiltinName(src)) {
    const b = builtinReducer(src, limit);
    if (!b) throw new CouchError('query_parse_error', { params: { detail: `Builtin reduce function ${src.trim()} is unknown` } });
    return b;
  }
  const sandbox = await viewSandbox();
  const fn = sandbox.compile(d.doc, 'reduce', ['views', view.name, 'reduce'], dbKey(db));
  return {
    reduce: (keys, values) => checkReduction(
      nullOnThrow(() => fn.reduce(keys, values, false)),
      () => ['reduce', [src], keys.map((k, i) => [k, values[i]])],
      limit,
    ),
    // couch_query_servers os_rereduce: an overflow among the values is the result, unrun.
    rereduce: (values) => overflowIn(values) ?? checkReduction(nullOnThrow(() => fn.reduce(null, values, true)), () => ['rereduce', [src], values], limit),
  };
}

/**
 * views.js runReduce: a reduce function that throws gives `null` for that reduction (the error is
 * logged, the query goes on); only a call past the time or memory limit fails the query.
 */
function nullOnThrow(run: () => unknown): unknown {
  try {
    return run();
  } catch (err) {
    if (err instanceof DesignError && err.kind !== 'os_process_error') {
      viewStats.reduceErrors++;
      return null;
    }
    throw err;
  }
}
