/**
 * The sandbox that runs CouchDB design-document JavaScript (filters, validate_doc_update, map and
 * reduce functions) in QuickJS compiled to WebAssembly (quickjs-emscripten, sync release
 * variant): a real isolate with its own heap, not `node:vm`, which is no security boundary.
 * CouchDB 3.4 itself ships QuickJS as a JavaScript engine.
 *
 * API
 *   const sandbox = await DesignSandbox.create({ timeoutMs, memoryBytes, onLog });
 *   const f = sandbox.compile(ddoc, 'filter', ['filters', 'mine'], dbKey);  // throws DesignError
 *   f.filter(doc, req) → boolean;        f.filterMany(docs, req) → boolean[]
 *   f.filterManyJson(docsJson, req) → FilterVerdicts   (docsJson: the JSON text of an array of docs;
 *     a function that throws for a document stops there: verdicts before it, and its error)
 *   const m = sandbox.compile(ddoc, 'map', ['views', 'v', 'map'], dbKey);
 *   m.map(doc) → [key, value][];         m.mapMany(docs) → MapResult[] (per doc: emits or error)
 *   m.mapManyJson(docsJson) → MapResult[]
 *   const r = sandbox.compile(ddoc, 'reduce', ['views', 'v', 'reduce'], dbKey);
 *   r.reduce(keys, values, rereduce) → unknown   (keys: [key, docid][], null on rereduce)
 *   const s = sandbox.compile(ddoc, 'show', ['shows', 'name'], dbKey);
 *   s.show(doc, req) → response object (`code`, `headers`, `body` | `json` | `base64`)
 *   const l = sandbox.compile(ddoc, 'list', ['lists', 'name'], dbKey);
 *   await l.list(head, req, host) → the function's "end" message; `host.exchange` takes each
 *     "start"/"chunks" message and answers the next rows (list-runner.ts, which runs lists)
 *   const u = sandbox.compile(ddoc, 'update', ['updates', 'name'], dbKey);
 *   u.update(doc, req) → [doc to save or null, response object]   (render-env.ts)
 *   const w = sandbox.compile(ddoc, 'rewrite', ['rewrites'], dbKey);
 *   w.rewrite(req) → ["ok", rewrite] or ["no_dispatch_rule"]   (render-env.ts, chttpd_rewrite)
 *   const v = sandbox.compile(ddoc, 'validate', ['validate_doc_update'], dbKey);
 *   v.validate(newDoc, oldDoc, userCtx, secObj) → void, or throws DesignError
 *     `forbidden` (403) / `unauthorized` (401) / `unknown_error` (500), as couch_query_servers.erl
 *     `validate_doc_update/6` maps the function's verdict.
 *   sandbox.dispose()
 *
 * Errors are `DesignError` (a CouchError): `compilation_error` (400) when the source does not
 * evaluate to a function, the thrown `{error, reason}` (500) when a function throws (loop.js
 * `handleError`), and `os_process_error` (500) when a call runs past the time limit or the memory
 * limit — CouchDB's answer when its couchjs process times out or dies.
 *
 * Limits and isolation: one QuickJS runtime per design document revision (`dbKey`, `_id`,
 * `_rev`), holding that revision's compiled functions and module cache; at most `maxRuntimes`
 * live (least recently used are disposed), and a new revision of a design document disposes the
 * old one. Each call runs under a deadline (interrupt handler) of `timeoutMs` (CouchDB's
 * `os_process_timeout`, 5 s) and the runtime under `memoryBytes` (64 MiB); a runtime that ran out
 * of memory or was interrupted is thrown away and rebuilt on next use, so the server never
 * crashes. QuickJS runs synchronously on the Node event loop: a hostile function stalls other
 * requests for at most `timeoutMs`, then fails alone. The `*Many` calls share one deadline per
 * call; callers batch modestly (hundreds of documents) so one batch stays well inside it.
 *
 * Cost: a call is one string in and one string out (a handful of QuickJS handles), whatever the
 * number of documents; handles per value would cost more than the functions themselves. The
 * `*ManyJson` forms take documents that are JSON text already (stored bodies), so a batch is
 * parsed once, inside QuickJS, and never re-serialized in Node.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { DesignError, filterVerdicts, mapResults, rejectWith, throwing, type Emitted, type FilterVerdicts, type MapResult } from './call-results.js';
import { ListRunners, type ListHost, type ListMessage } from './list-runner.js';
import { DesignRuntime, loadQuickJS } from './runtime.js';

export { DesignError, loadQuickJS, type Emitted, type FilterVerdicts, type ListHost, type ListMessage, type MapResult };

export type DesignFunctionKind = 'map' | 'reduce' | 'filter' | 'validate' | 'show' | 'list' | 'update' | 'rewrite';

export interface SandboxLimits {
  /** Per call deadline, ms (CouchDB `[couchdb] os_process_timeout`, default 5000). */
  timeoutMs: number;
  /** Memory limit of one design document's runtime, bytes (default 64 MiB). */
  memoryBytes: number;
  /** QuickJS stack limit, bytes: deep recursion fails as "stack overflow", not as a crash. */
  stackBytes: number;
  /** Live runtimes kept at most (least recently used are disposed). */
  maxRuntimes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeoutMs: 5000,
  memoryBytes: 64 * 1024 * 1024,
  // QuickJS's frames live on V8's own stack (about 1 MB): 192 KiB of QuickJS stack fails as
  // "stack overflow" well before V8 throws RangeError inside the wasm module.
  stackBytes: 192 * 1024,
  maxRuntimes: 64,
};

export interface SandboxOptions extends Partial<SandboxLimits> {
  /** `log()` from a design function (CouchDB logs these at info level). */
  onLog?: (ddocId: string, message: string) => void;
}

/** A design document as stored: `_id`, `_rev`, and the function sources. */
export interface DesignDoc {
  _id: string;
  _rev?: string;
  [field: string]: unknown;
}

/** The user context CouchDB passes to validate_doc_update and in `req.userCtx`. */
export interface UserCtx {
  db: string | null;
  name: string | null;
  roles: string[];
}


export interface MapFunction {
  map(doc: unknown): Emitted[];
  mapMany(docs: readonly unknown[]): MapResult[];
  /** `mapMany` of documents given as the JSON text of an array. */
  mapManyJson(docsJson: string): MapResult[];
}
export interface ReduceFunction {
  reduce(keys: readonly unknown[] | null, values: readonly unknown[], rereduce: boolean): unknown;
}
export interface FilterFunction {
  filter(doc: unknown, req: unknown): boolean;
  filterMany(docs: readonly unknown[], req: unknown): boolean[];
  /** `filterMany` of documents given as the JSON text of an array, without throwing a document's error. */
  filterManyJson(docsJson: string, req: unknown): FilterVerdicts;
}
/** What a show or update function answers (chttpd_external's response object). */
export type RenderResponse = Record<string, unknown>;
export interface ShowFunction {
  show(doc: unknown, req: unknown): RenderResponse;
}
export interface ListFunction {
  /** Runs the list; `host` takes its output and hands it the view's rows (list-runner.ts). */
  list(head: unknown, req: unknown, host: ListHost): Promise<ListMessage>;
}
export interface UpdateFunction {
  /** The document to save (null: none) and the response. */
  update(doc: unknown, req: unknown): [unknown, RenderResponse];
}
export interface RewriteFunction {
  /** The query server's answer: `["ok", rewrite]` or `["no_dispatch_rule"]` (couch_query_servers:rewrite/3). */
  rewrite(req: unknown): unknown;
}
export interface ValidateFunction {
  validate(newDoc: unknown, oldDoc: unknown, userCtx: UserCtx, secObj: unknown): void;
}
interface KindHandles {
  map: MapFunction;
  reduce: ReduceFunction;
  filter: FilterFunction;
  validate: ValidateFunction;
  show: ShowFunction;
  list: ListFunction;
  update: UpdateFunction;
  rewrite: RewriteFunction;
}

export class DesignSandbox {
  private readonly runtimes = new Map<string, DesignRuntime>();
  private readonly limits: SandboxLimits;
  private readonly lists: ListRunners;
  /** Counters: compiles, calls, timeouts/OOMs (runtime rebuilds), evictions. */
  readonly stats = { runtimesCreated: 0, runtimesEvicted: 0, runtimesBroken: 0, calls: 0, errors: 0 };

  private constructor(
    private readonly qjs: QuickJSWASMModule,
    private readonly options: SandboxOptions,
  ) {
    this.limits = {
      timeoutMs: options.timeoutMs ?? DEFAULT_SANDBOX_LIMITS.timeoutMs,
      memoryBytes: options.memoryBytes ?? DEFAULT_SANDBOX_LIMITS.memoryBytes,
      stackBytes: options.stackBytes ?? DEFAULT_SANDBOX_LIMITS.stackBytes,
      maxRuntimes: options.maxRuntimes ?? DEFAULT_SANDBOX_LIMITS.maxRuntimes,
    };
    this.lists = new ListRunners(this.limits, options.onLog);
  }

  static async create(options: SandboxOptions = {}): Promise<DesignSandbox> {
    return new DesignSandbox(await loadQuickJS(), options);
  }

  get config(): Readonly<SandboxLimits> {
    return this.limits;
  }

  /**
   * Change the limits at run time (`_config` `query_server_config`): the deadline applies from the
   * next call, the memory limit to every runtime at once.
   */
  setLimits(next: Partial<Pick<SandboxLimits, 'timeoutMs' | 'memoryBytes'>>): void {
    if (next.timeoutMs !== undefined) this.limits.timeoutMs = next.timeoutMs;
    if (next.memoryBytes !== undefined) {
      this.limits.memoryBytes = next.memoryBytes;
      for (const rt of this.runtimes.values()) rt.setMemoryLimit(next.memoryBytes);
    }
  }

  /**
   * Compiles `ddoc[path...]` as a function of `kind`; cached per (dbKey, _id, _rev). Throws
   * DesignError `compilation_error` (or `not_found` "missing function" when the path is absent).
   */
  compile<K extends DesignFunctionKind>(ddoc: DesignDoc, kind: K, path: string | readonly string[], dbKey = ''): KindHandles[K] {
    const parts = typeof path === 'string' ? [path] : [...path];
    const ref = { dbKey, ddoc };
    this.functionOf(ref, kind, parts); // compile now so a bad function fails here, not per call
    // argsJson: the JSON text of the function's argument list.
    const callJson = (argsJson: string, req?: unknown): unknown => {
      const rt = this.runtimeFor(ref.dbKey, ref.ddoc);
      const id = rt.functionId(kind, parts);
      this.stats.calls++;
      try {
        return rt.call(id, argsJson, req);
      } catch (err) {
        this.stats.errors++;
        if (rt.broken) this.drop(ref.dbKey, ref.ddoc, rt);
        throw err;
      }
    };
    const call = (args: readonly unknown[], req?: unknown): unknown => callJson(JSON.stringify(args), req);
    const verdicts = (out: unknown): FilterVerdicts => {
      const v = filterVerdicts(out);
      if (v.error) this.stats.errors++;
      return v;
    };
    const handles: KindHandles = {
      map: {
        map: (doc) => {
          const [r] = mapResults(call([[doc]]));
          if (r === undefined) return [];
          if ('error' in r) throw new DesignError(r.error.error, r.error.reason);
          return r.emits;
        },
        mapMany: (docs) => mapResults(call([docs])),
        mapManyJson: (docsJson) => mapResults(callJson(`[${docsJson}]`)),
      },
      reduce: { reduce: (keys, values, rereduce) => call([keys, values, rereduce]) },
      filter: {
        filter: (doc, req) => throwing(verdicts(call([[doc]], req ?? null)))[0] === true,
        filterMany: (docs, req) => throwing(verdicts(call([docs], req ?? null))),
        filterManyJson: (docsJson, req) => verdicts(callJson(`[${docsJson}]`, req ?? null)),
      },
      show: { show: (doc, req) => call([doc ?? null, req]) as RenderResponse },
      list: {
        list: async (head, req, host) => {
          this.stats.calls++;
          try {
            return await this.lists.run(ref.dbKey, ref.ddoc, parts, head, req, host);
          } catch (err) {
            this.stats.errors++;
            throw err;
          }
        },
      },
      update: { update: (doc, req) => call([doc ?? null, req]) as [unknown, RenderResponse] },
      rewrite: { rewrite: (req) => call([req]) },
      validate: {
        validate: (newDoc, oldDoc, userCtx, secObj) => {
          const verdict = call([newDoc, oldDoc ?? null, userCtx, secObj]);
          if (verdict === 1) return;
          rejectWith((verdict as { rejected: unknown }).rejected);
        },
      },
    };
    return handles[kind];
  }

  private functionOf(ref: { dbKey: string; ddoc: DesignDoc }, kind: DesignFunctionKind, parts: string[]): void {
    const rt = this.runtimeFor(ref.dbKey, ref.ddoc);
    try {
      rt.functionId(kind, parts);
    } catch (err) {
      if (rt.broken) this.drop(ref.dbKey, ref.ddoc, rt);
      throw err;
    }
  }

  private runtimeFor(dbKey: string, ddoc: DesignDoc): DesignRuntime {
    const key = `${dbKey}\u0000${ddoc._id}`;
    const rt = this.runtimes.get(key);
    if (rt !== undefined && rt.ddoc._rev === ddoc._rev && (ddoc._rev !== undefined || rt.ddoc === ddoc)) {
      this.runtimes.delete(key); // re-insert: Map order is the LRU order
      this.runtimes.set(key, rt);
      return rt;
    }
    if (rt !== undefined) {
      rt.dispose();
      this.runtimes.delete(key);
    }
    while (this.runtimes.size >= this.limits.maxRuntimes) {
      const [oldKey, old] = this.runtimes.entries().next().value as [string, DesignRuntime];
      old.dispose();
      this.runtimes.delete(oldKey);
      this.stats.runtimesEvicted++;
    }
    const fresh = new DesignRuntime(this.qjs, ddoc, this.limits, this.options.onLog);
    this.stats.runtimesCreated++;
    this.runtimes.set(key, fresh);
    return fresh;
  }

  private drop(dbKey: string, ddoc: DesignDoc, rt: DesignRuntime): void {
    const key = `${dbKey}\u0000${ddoc._id}`;
    if (this.runtimes.get(key) === rt) this.runtimes.delete(key);
    this.stats.runtimesBroken++;
    rt.dispose();
  }

  /** Forgets a design document's compiled functions (it was updated or deleted). */
  forget(dbKey: string, ddocId: string): void {
    const key = `${dbKey}\u0000${ddocId}`;
    this.runtimes.get(key)?.dispose();
    this.runtimes.delete(key);
    this.lists.forget(dbKey, ddocId);
  }

  dispose(): void {
    for (const rt of this.runtimes.values()) rt.dispose();
    this.runtimes.clear();
    this.lists.dispose();
  }
}
