/**
 * One design document revision's QuickJS runtime (`DesignRuntime`), which sandbox.ts's
 * `DesignSandbox` creates, caches and throws away: the runtime and its context under the memory
 * and stack limits, CouchDB's function environment (couch-env.ts) evaluated in it with the host's
 * `log`, the compiled functions by kind and path, and each call run under a deadline (the
 * interrupt handler). Kept apart from sandbox.ts so that file holds the API and the runtime cache.
 *
 * A call crosses the boundary as JSON text only (`__freshet.compile` / `__freshet.call`, see
 * couch-env.ts), so no object handles are kept across calls. A runtime that was interrupted, ran
 * out of memory, or overflowed the host stack is marked `broken` (the sandbox drops and rebuilds
 * it); one whose host stack overflowed inside the wasm module is also `abandoned`, never disposed.
 */
import type { QuickJSContext, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { DesignError } from './call-results.js';
import { COUCH_ENV_SOURCE } from './couch-env.js';
import type { DesignDoc, DesignFunctionKind, SandboxLimits } from './sandbox.js';

let modulePromise: Promise<QuickJSWASMModule> | null = null;
/**
 * The QuickJS WebAssembly module, loaded once per process, on first use: the package itself is
 * imported only then, so a server that never runs a design function never loads it (its import
 * was about 15 ms of every start, `npm run bench -- startup`).
 */
export function loadQuickJS(): Promise<QuickJSWASMModule> {
  modulePromise ??= import('quickjs-emscripten').then((m) => m.getQuickJS());
  return modulePromise;
}

type Outcome = { ok: unknown } | { err: [string, string] };

/** One design document revision's runtime: its context, the environment and compiled functions. */
export class DesignRuntime {
  private readonly runtime: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  private readonly compiled = new Map<string, number>();
  private readonly lastReq = new Map<number, unknown>();
  private deadline = Infinity;
  broken = false;
  abandoned = false;

  setMemoryLimit(bytes: number): void {
    this.runtime.setMemoryLimit(bytes);
  }

  constructor(
    qjs: QuickJSWASMModule,
    readonly ddoc: DesignDoc,
    private readonly limits: SandboxLimits,
    onLog: ((ddocId: string, message: string) => void) | undefined,
  ) {
    this.runtime = qjs.newRuntime();
    this.setMemoryLimit(limits.memoryBytes);
    this.runtime.setMaxStackSize(limits.stackBytes);
    this.runtime.setInterruptHandler(() => Date.now() > this.deadline);
    this.ctx = this.runtime.newContext();
    const log = this.ctx.newFunction('__hostLog', (msg) => {
      onLog?.(ddoc._id, this.ctx.getString(msg));
    });
    this.ctx.setProp(this.ctx.global, '__hostLog', log);
    log.dispose();
    this.eval(COUCH_ENV_SOURCE);
    this.invoke('setDdoc', JSON.stringify(ddoc));
  }

  private eval(code: string): void {
    this.deadline = Date.now() + this.limits.timeoutMs;
    const res = this.ctx.evalCode(code, 'couch-env.js');
    this.deadline = Infinity;
    if (res.error) {
      const e = this.ctx.dump(res.error) as unknown;
      res.error.dispose();
      throw new DesignError('os_process_error', `design environment failed: ${describe(e)}`);
    }
    res.value.dispose();
  }

  /** Calls `__freshet[name](...args)` with string/number arguments; returns its string result. */
  private invoke(name: string, ...args: (string | number)[]): string {
    const api = this.ctx.getProp(this.ctx.global, '__freshet');
    const fn = this.ctx.getProp(api, name);
    const handles = args.map((a) => (typeof a === 'string' ? this.ctx.newString(a) : this.ctx.newNumber(a)));
    this.deadline = Date.now() + this.limits.timeoutMs;
    const started = Date.now();
    try {
      let res: ReturnType<QuickJSContext['callFunction']>;
      try {
        res = this.ctx.callFunction(fn, api, ...handles);
      } catch (hostErr) {
        // The host stack overflowed inside the wasm module: the runtime's state is unknown, and
        // freeing it may abort the module, so it is abandoned rather than disposed.
        this.broken = true;
        this.abandoned = true;
        throw new DesignError('os_process_error', `design function failed: ${describe(hostErr)}`);
      }
      if (res.error) {
        const e = this.ctx.dump(res.error) as unknown;
        res.error.dispose();
        // Only the interrupt and an exhausted heap escape the environment's own try/catch.
        this.broken = true;
        const timedOut = Date.now() > this.deadline;
        throw new DesignError(
          'os_process_error',
          timedOut ? `OS process timed out. (${Date.now() - started} ms, limit ${this.limits.timeoutMs} ms)` : `design function failed: ${describe(e)}`,
        );
      }
      const out = this.ctx.typeof(res.value) === 'string' ? this.ctx.getString(res.value) : '';
      res.value.dispose();
      return out;
    } finally {
      this.deadline = Infinity;
      for (const h of handles) h.dispose();
      fn.dispose();
      api.dispose();
    }
  }

  private outcome(text: string): unknown {
    const o = JSON.parse(text) as Outcome;
    if ('err' in o) {
      const [error, reason] = o.err;
      // An exhausted heap is thrown inside QuickJS as InternalError and may be caught there;
      // the runtime is then unusable, so it is rebuilt (CouchDB restarts couchjs likewise).
      if (error === 'InternalError' && /out of memory/i.test(reason)) {
        this.broken = true;
        throw new DesignError('os_process_error', `design function exceeded the memory limit (${this.limits.memoryBytes} bytes)`);
      }
      throw new DesignError(error, reason);
    }
    return o.ok;
  }

  functionId(kind: DesignFunctionKind, path: readonly string[]): number {
    const key = `${kind}\u0000${JSON.stringify(path)}`;
    let id = this.compiled.get(key);
    if (id === undefined) {
      id = this.outcome(this.invoke('compile', kind, JSON.stringify(path))) as number;
      this.compiled.set(key, id);
    }
    return id;
  }

  /**
   * `req` (filters) is kept inside the runtime with the function: it crosses the boundary only
   * when it is another object than the one that function last saw (one per feed, so two feeds
   * sharing a function resend it when they alternate).
   */
  call(id: number, argsJson: string, req?: unknown): unknown {
    let reqJson = '';
    if (req !== undefined && this.lastReq.get(id) !== req) {
      reqJson = JSON.stringify(req);
      this.lastReq.set(id, req);
    }
    try {
      return this.outcome(this.invoke('call', id, argsJson, reqJson));
    } catch (err) {
      this.lastReq.delete(id);
      throw err;
    }
  }

  dispose(): void {
    if (this.abandoned) return;
    try {
      this.ctx.dispose();
      this.runtime.dispose();
    } catch {
      // A runtime that ran out of memory may fail its own teardown checks; its wasm memory
      // is reclaimed with the module's allocator either way.
    }
  }
}

function describe(e: unknown): string {
  if (e !== null && typeof e === 'object') {
    const o = e as { name?: unknown; message?: unknown };
    if (typeof o.message === 'string') return `${typeof o.name === 'string' ? o.name + ': ' : ''}${o.message}`;
  }
  return String(e);
}
