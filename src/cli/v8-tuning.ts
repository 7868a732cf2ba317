/**
 * V8 settings of the `freshet serve` process, for a server's allocation pattern: a steady stream
 * of requests whose objects live a few milliseconds, until the flusher has written them (issue #16).
 * Two are applied here at startup (SERVER_V8_FLAGS); one must be given on node's command line
 * (SERVER_NODE_FLAGS, below).
 *
 * - `--no-allocation-site-pretenuring`. V8 watches each allocation site's survival rate in the
 *   young generation and, when most of its objects survive, allocates them in the old generation
 *   from then on. A burst of writes (a load, a flusher behind) makes the write path's sites look
 *   long-lived; once the flusher keeps up, their versions, index keys and results die within
 *   milliseconds, but they are still born old, so only full GCs reclaim them and every scavenge
 *   walks them. Measured on the dcp bench (300k documents, 10k writes/s; `.scratch` A/B, one run
 *   each): scavenge pauses 2–3 ms against 5–9 ms, write-to-delivery p99 2.4 ms against 5.5 ms,
 *   engine writes 82.7k/s against 69.0k/s, backfill 331k/s against 254k/s.
 * - `--heap-growing-percent=100`. V8 sets the next full-GC threshold at the live heap times a
 *   factor it derives from GC and mutator speed, up to 4 for a heap limit as large as Node's
 *   default here; a server under load runs at that maximum, about 30 MB live and 120–160 MB
 *   committed, all of it resident (issue #16: server RSS < 300 MB while 2M writes go in). A factor
 *   of 2 halves the headroom; the write rate did not move beyond this machine's noise (47.1k/s
 *   against 47.8k/s plain SETs; peak RSS 315 MB against 241 MB).
 *
 * Only the command (and the benchmarks that host the server the way it does) set them: a server
 * embedded in another program with `FreshetServer.start` leaves that program's V8 alone. A setting
 * given on Node's command line or in NODE_OPTIONS wins.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Flags V8 reads only when the process's isolate is created, so `setFlagsFromString` cannot apply
 * them (measured: the young generation still grew to Node's default): they must be on node's
 * command line. `npm start` passes them, and so do the benchmarks (package.json `bench`,
 * bench/serve.ts); test/cli/v8-tuning.test.ts checks that those agree. bin/freshet.js keeps the
 * plain `#!/usr/bin/env node`: `env -S`, which a shebang needs to pass a flag, is missing from
 * BusyBox (Alpine images), so an installed `freshet serve` takes them from NODE_OPTIONS (README).
 *
 * - `--max-semi-space-size=8` (MiB; Node 20's default is 16). The young generation is two
 *   semi-spaces, both resident once a write load has grown them. A smaller one is scavenged more
 *   often, but each scavenge copies the same few hundred KB of survivors (the writes of the last
 *   milliseconds), so each pause is shorter and the total GC time barely moves. Measured on this
 *   2-vCPU machine against issue #16's targets, each run alone: bench dcp's memory phase peaked
 *   at 272 to 279 MB in five runs, against 293 to 311 MB at 12 MiB and 299 to 304 MB at 16 (the
 *   peak grows with the write rate, 62k to 78k/s here). The write-to-delivery p99 at 10k writes/s
 *   was 1.40 to 4.30 ms over seven runs (median 1.88), against 1.80 to 2.50 ms over six at 16 MiB
 *   (median 1.92): this machine's run-to-run noise, not a shift. bench kv, four alternating runs
 *   each against 16 MiB: 53.8k against 53.0k sets/s, 15.2k against 16.2k persistToMajority
 *   sets/s, 446k against 395k gets/s, also within the noise.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** The SERVER_NODE_FLAGS this process was not started with (none given on its own terms either). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !v8FlagGiven(flag.slice(2).split('=')[0]!, execArgv, nodeOptions));
}

/** The flags, each as `[name, setting]`; the name also matches `--no-` and underscore spellings. */
export const SERVER_V8_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['allocation-site-pretenuring', '--no-allocation-site-pretenuring'],
  ['heap-growing-percent', '--heap-growing-percent=100'],
];

/** Whether the process was started with its own setting of flag `name`. */
export function v8FlagGiven(name: string, execArgv: readonly string[], nodeOptions: string): boolean {
  const pattern = new RegExp(`^--(no-)?${name.replace(/-/g, '[-_]')}(=|$)`);
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => pattern.test(a));
}

/** Apply SERVER_V8_FLAGS, each unless the process was given its own; returns those applied. */
export function tuneV8ForServer(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const applied: string[] = [];
  for (const [name, setting] of SERVER_V8_FLAGS) {
    if (v8FlagGiven(name, execArgv, nodeOptions)) continue;
    setFlagsFromString(setting);
    applied.push(setting);
  }
  return applied;
}
