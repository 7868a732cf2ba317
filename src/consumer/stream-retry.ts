/**
 * Pacing of streams asked for again on the same connection (a STREAM_END Slow or Rollback): per
 * vbucket, the data-manager backoff of the project's one Backoff (cbdatasource paces every retry
 * loop with ExponentialBackoffLoop and these options), reset once a stream made progress, so a
 * producer that keeps dropping the cursor never gets a request loop. Timers die with the session.
 */
import { Backoff } from '../common/backoff.js';
import type { ResolvedDataSourceOptions } from './options.js';

export class StreamRetry {
  readonly #waiting = new Map<number, NodeJS.Timeout>();
  readonly #backoff = new Map<number, Backoff>();

  constructor(
    private readonly options: Pick<ResolvedDataSourceOptions, 'dataManagerSleepInitMS' | 'dataManagerBackoffFactor' | 'dataManagerSleepMaxMS'>,
    private readonly due: (vb: number) => void,
  ) {}

  /** Waiting out its backoff: not to be requested yet. */
  has(vb: number): boolean {
    return this.#waiting.has(vb);
  }

  /** Schedule `due(vb)` after the vbucket's next backoff sleep; `progressed` resets it first. */
  schedule(vb: number, progressed: boolean): { delayMs: number; attempt: number } {
    const o = this.options;
    let b = this.#backoff.get(vb);
    if (b === undefined) this.#backoff.set(vb, (b = new Backoff(o.dataManagerSleepInitMS, o.dataManagerBackoffFactor, o.dataManagerSleepMaxMS)));
    if (progressed) b.reset();
    const delayMs = b.next();
    clearTimeout(this.#waiting.get(vb));
    const timer = setTimeout(() => {
      this.#waiting.delete(vb);
      this.due(vb);
    }, delayMs);
    this.#waiting.set(vb, timer);
    return { delayMs, attempt: b.attempt };
  }

  clear(): void {
    for (const t of this.#waiting.values()) clearTimeout(t);
    this.#waiting.clear();
  }
}
