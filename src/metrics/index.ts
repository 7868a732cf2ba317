/**
 * The server's metrics, one home: a per-server prom-client Registry (prometheus.ts, built at the
 * first scrape), the JSON summary and CouchDB `_stats` documents (documents.ts), all read from
 * the counters the engine and the faces keep (sources.ts). The server creates it before the listeners, hands it to the
 * faces as a `MetricsProvider` (src/common/metrics.ts) and attaches each face's counters as it
 * starts; everything is read at request time.
 */
import type { Registry } from 'prom-client';
import type { AuthThrottle } from '../auth/throttle.js';
import type { MetricsProvider, MetricsText } from '../common/metrics.js';
import type { Engine } from '../engine/engine.js';
import type { HttpFace } from '../http/face.js';
import type { KvStats } from '../kv/stats-counters.js';
import { couchStats, summary } from './documents.js';
import type { MetricSources } from './sources.js';

export class ServerMetrics implements MetricsProvider {
  readonly #sources: MetricSources;
  #registry: Promise<Registry> | undefined;

  constructor(deps: { engine: Engine; authThrottle: AuthThrottle }) {
    this.#sources = { engine: deps.engine, authThrottle: deps.authThrottle };
  }

  /**
   * The registry, built at the first scrape: prom-client costs a cold start ~50 ms of module
   * loading. Every family reads the engine's and the faces' own counters at scrape time, so only
   * the process defaults (GC, event-loop lag) start counting then rather than at start.
   */
  registry(): Promise<Registry> {
    this.#registry ??= import('./prometheus.js').then(({ buildRegistry }) => buildRegistry(this.#sources));
    return this.#registry;
  }

  attachKv(stats: KvStats): void {
    this.#sources.kv = stats;
  }

  attachHttp(face: HttpFace): void {
    this.#sources.http = face;
  }

  async prometheus(): Promise<MetricsText> {
    const registry = await this.registry();
    // prom-client writes a NaN sample (e.g. event-loop lag before its first sample) as `Nan`; the
    // exposition format spells it `NaN` (prometheus docs, exposition_formats.md "Text format").
    const body = (await registry.metrics()).replace(/ Nan$/gm, ' NaN');
    return { contentType: registry.contentType, body };
  }

  summary(): Record<string, unknown> {
    return summary(this.#sources);
  }

  couchStats(): Record<string, unknown> {
    return couchStats(this.#sources);
  }
}
