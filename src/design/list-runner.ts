/**
 * The list runner: list functions run in an asyncified QuickJS runtime (quickjs-emscripten's
 * asyncify variant), so that `getRow()` can wait, inside the function, for the host to write the
 * output so far (at the socket's pace) and read the next rows of the view, as couchjs waits on
 * its stdin for the next `list_row` (share/server/render.js getRow, couch_mrview_show list_cb).
 *
 * Asyncify suspends a whole WebAssembly module, and one module can hold one suspended call only:
 * each runtime here has a module of its own and runs one list at a time, as couch_proc_manager
 * hands each request an OS process of its own. Idle runtimes are kept per design document
 * revision (at most `MAX_IDLE` in all) and reused, as couch_proc_manager keeps idle processes.
 *
 * Limits are the sandbox's (sandbox.ts): `memoryBytes` for the runtime, `stackBytes`, and the
 * `timeoutMs` deadline, which starts again each time the host answers the function (each
 * `list_row` is a prompt of its own in CouchDB, under os_process_timeout). A runtime that was
 * interrupted or ran out of memory is thrown away.
 */
import type { QuickJSAsyncContext, QuickJSAsyncWASMModule, QuickJSHandle } from 'quickjs-emscripten';
import { DesignError } from './call-results.js';
import { COUCH_ENV_SOURCE } from './couch-env.js';
import type { DesignDoc, RenderResponse, SandboxLimits } from './sandbox.js';

/** What the function sends: `["start"|"chunks"|"end", chunks, head?]` (render.js respond). */
export type ListMessage = [kind: 'start' | 'chunks' | 'end', chunks: string[], head?: RenderResponse];

export interface ListHost {
  /** Takes a "start" or "chunks" message; answers the next rows (JSON texts), or null after the last. */
  exchange(msg: ListMessage): Promise<string[] | null>;
}

/** Idle runtimes kept at most (each is a WebAssembly module with its own memory). */
const MAX_IDLE = 4;
/**
 * Lists running at once, each in a module of its own (up to `memoryBytes` of heap): more wait for a
 * slot, at most the sandbox's `timeoutMs`, then fail with `os_process_error`, as couch_proc_manager
 * makes a request wait for a process past its limit (`os_process_limit`) and gives up after its
 * timeout. A hostile crowd of lists costs the server at most this many heaps.
 */
export const MAX_RUNNING_LISTS = 8;

let asyncModule: Promise<typeof import('quickjs-emscripten')> | null = null;
/** A new asyncify module (the package is loaded on first use, as runtime.ts loads it). */
async function newModule(): Promise<QuickJSAsyncWASMModule> {
  asyncModule ??= import('quickjs-emscripten');
  return (await asyncModule).newQuickJSAsyncWASMModule();
}

type Outcome = { ok: unknown } | { err: [string, string] };

class ListRuntime {
  private deadline = Infinity;
  private host: ListHost | null = null;
  private readonly ids = new Map<string, number>();
  broken = false;

  private constructor(private readonly ctx: QuickJSAsyncContext, private readonly limits: SandboxLimits) {}

  static async create(ddoc: DesignDoc, limits: SandboxLimits, onLog: ((ddocId: string, message: string) => void) | undefined): Promise<ListRuntime> {
    const runtime = (await newModule()).newRuntime();
    runtime.setMemoryLimit(limits.memoryBytes);
    runtime.setMaxStackSize(limits.stackBytes);
    const ctx = runtime.newContext();
    const rt = new ListRuntime(ctx, limits);
    runtime.setInterruptHandler(() => Date.now() > rt.deadline);
    const log = ctx.newFunction('__hostLog', (msg) => {
      onLog?.(ddoc._id, ctx.getString(msg));
    });
    const list = ctx.newAsyncifiedFunction('__hostList', async (msg) => rt.exchange(ctx.getString(msg)));
    for (const [name, fn] of [['__hostLog', log], ['__hostList', list]] as const) {
      ctx.setProp(ctx.global, name, fn);
      fn.dispose();
    }
    rt.evalText(COUCH_ENV_SOURCE);
    rt.invoke('setDdoc', JSON.stringify(ddoc));
    return rt;
  }

  private async exchange(text: string): Promise<QuickJSHandle> {
    let rows: string[] | null = null;
    try {
      if (this.host !== null) rows = await this.host.exchange(JSON.parse(text) as ListMessage);
    } catch {
      // The host's failure (a closed response) ends the rows; a rejection would surface inside
      // the function as an exception it could catch.
      rows = null;
    }
    // A new prompt: the function gets a full deadline for what it does with these rows.
    this.deadline = Date.now() + this.limits.timeoutMs;
    return this.ctx.newString(rows === null ? 'null' : `[${rows.join(',')}]`);
  }

  private evalText(code: string): string {
    this.deadline = Date.now() + this.limits.timeoutMs;
    const res = this.ctx.evalCode(code, 'couch-env.js');
    this.deadline = Infinity;
    return this.result(res);
  }

  private result(res: ReturnType<QuickJSAsyncContext['evalCode']>): string {
    if (res.error) {
      const e = this.ctx.dump(res.error) as { message?: unknown } | null;
      res.error.dispose();
      // Only the interrupt and an exhausted heap escape the environment's own try/catch.
      this.broken = true;
      const timedOut = Date.now() > this.deadline;
      throw new DesignError('os_process_error', timedOut ? `OS process timed out. (limit ${this.limits.timeoutMs} ms)` : `design function failed: ${String(e?.message ?? e)}`);
    }
    const out = this.ctx.typeof(res.value) === 'string' ? this.ctx.getString(res.value) : '';
    res.value.dispose();
    return out;
  }

  /** `__freshet[name](args...)` with string arguments, synchronously (no list runs in it). */
  private invoke(name: string, ...args: string[]): string {
    return this.evalText(`__freshet.${name}(${args.map((a) => JSON.stringify(a)).join(',')})`);
  }

  private outcome(text: string): unknown {
    const o = JSON.parse(text) as Outcome;
    if (!('err' in o)) return o.ok;
    const [error, reason] = o.err;
    if (error === 'InternalError' && /out of memory/i.test(reason)) {
      this.broken = true;
      throw new DesignError('os_process_error', `design function exceeded the memory limit (${this.limits.memoryBytes} bytes)`);
    }
    throw new DesignError(error, reason);
  }

  setMemoryLimit(bytes: number): void {
    this.ctx.runtime.setMemoryLimit(bytes);
  }

  async run(path: readonly string[], head: unknown, req: unknown, host: ListHost): Promise<ListMessage> {
    const key = JSON.stringify(path);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.outcome(this.invoke('compile', 'list', key)) as number;
      this.ids.set(key, id);
    }
    this.host = host;
    this.deadline = Date.now() + this.limits.timeoutMs;
    try {
      const args = JSON.stringify(JSON.stringify([head, req]));
      const res = await this.ctx.evalCodeAsync(`__freshet.call(${id}, ${args}, "")`, 'list.js');
      return this.outcome(this.result(res)) as ListMessage;
    } finally {
      this.host = null;
      this.deadline = Infinity;
    }
  }

  dispose(): void {
    const runtime = this.ctx.runtime;
    try {
      this.ctx.dispose();
      runtime.dispose();
    } catch {
      // A runtime that ran out of memory may fail its teardown checks; its module goes with it.
    }
  }
}

/** The list runtimes of one sandbox: idle ones by design document revision. */
export class ListRunners {
  private readonly idle = new Map<string, ListRuntime[]>();
  private idleCount = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limits: SandboxLimits, private readonly onLog?: (ddocId: string, message: string) => void) {}

  /** Runs `ddoc[path]` as a list function over the rows `host` hands it; answers its "end" message. */
  async run(dbKey: string, ddoc: DesignDoc, path: readonly string[], head: unknown, req: unknown, host: ListHost): Promise<ListMessage> {
    await this.slot();
    try {
      const key = `${dbKey}\u0000${ddoc._id}\u0000${ddoc._rev ?? ''}`;
      const pool = this.idle.get(key);
      let rt = pool?.pop();
      if (rt !== undefined) {
        this.idleCount--;
        rt.setMemoryLimit(this.limits.memoryBytes);
      } else {
        rt = await ListRuntime.create(ddoc, this.limits, this.onLog);
      }
      try {
        return await rt.run(path, head, req, host);
      } finally {
        if (rt.broken) rt.dispose();
        else this.release(key, rt);
      }
    } finally {
      this.freeSlot();
    }
  }

  /** Lists running now (at most MAX_RUNNING_LISTS) and waiting for a slot. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** A running slot: at once, or when one frees within `timeoutMs` (FIFO), else os_process_error. */
  private async slot(): Promise<void> {
    if (this.running < MAX_RUNNING_LISTS) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new DesignError('os_process_error', `no list runtime was free within ${this.limits.timeoutMs} ms (${MAX_RUNNING_LISTS} lists run at once)`));
      }, this.limits.timeoutMs);
      this.waiting.push(go);
    });
  }

  /** A finished list's slot goes to the first waiter, or is freed. */
  private freeSlot(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.running--;
  }

  private release(key: string, rt: ListRuntime): void {
    while (this.idleCount >= MAX_IDLE) {
      const [oldKey, oldest] = this.idle.entries().next().value as [string, ListRuntime[]];
      oldest.shift()?.dispose();
      this.idleCount--;
      if (oldest.length === 0) this.idle.delete(oldKey);
    }
    const pool = this.idle.get(key) ?? [];
    this.idle.delete(key); // re-insert: Map order is the LRU order
    pool.push(rt);
    this.idle.set(key, pool);
    this.idleCount++;
  }

  /** Forgets a design document's idle runtimes (it was updated or deleted). */
  forget(dbKey: string, ddocId: string): void {
    const prefix = `${dbKey}\u0000${ddocId}\u0000`;
    for (const [key, pool] of [...this.idle]) {
      if (!key.startsWith(prefix)) continue;
      for (const rt of pool) rt.dispose();
      this.idleCount -= pool.length;
      this.idle.delete(key);
    }
  }

  dispose(): void {
    for (const pool of this.idle.values()) for (const rt of pool) rt.dispose();
    this.idle.clear();
    this.idleCount = 0;
  }
}
