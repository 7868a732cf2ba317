/**
 * How fast V8 lets the `freshet serve` process's old generation grow between full GCs.
 *
 * V8 sets the next full-GC threshold at the live heap times a growing factor it derives from GC
 * and mutator speed, up to 4 for a process whose heap limit is as large as Node's default here.
 * A server under a steady write load promotes the versions waiting for the flusher, so it runs at
 * that maximum: about 30 MB live and 120–160 MB committed, every committed page resident (issue
 * #16's memory target, server RSS < 300 MB while 2M writes go in). A factor of 2 halves the
 * headroom and runs the concurrent marker twice as often; the write rate was unchanged within
 * this machine's noise (`.scratch` A/B of plain SETs, 47.1k/s against 47.8k/s, peak RSS 315 MB
 * against 241 MB).
 *
 * Only the command sets it: the server embedded in another program (`FreshetServer.start`) leaves
 * that program's V8 alone. A flag given on Node's command line or in NODE_OPTIONS wins.
 */
import { setFlagsFromString } from 'node:v8';

/** `--heap-growing-percent`: the factor is 1 + this / 100. */
export const HEAP_GROWING_PERCENT = 100;

/** Whether the process was started with its own heap-growth setting. */
export function heapGrowthGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
}

/** Apply HEAP_GROWING_PERCENT unless the process was given its own; true when applied. */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if (heapGrowthGiven(execArgv, nodeOptions)) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
