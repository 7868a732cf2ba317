/**
 * The server's metrics, one home: a per-server prom-client Registry (prometheus.ts), the JSON
 * summary and CouchDB `_stats` documents (documents.ts), all read from the counters the engine
 * and the faces keep (sources.ts). The server creates it before the listeners, hands it to the
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
import { buildRegistry } from './prometheus.js';
import type { MetricSources } from './sources.js';

export class ServerMetrics implements MetricsProvider {
  readonly #sources: MetricSources;
  readonly registry: Registry;

  constructor(deps: { engine: Engine; authThrottle: AuthThrottle }) {
    this.#sources = { engine: deps.engine, authThrottle: deps.authThrottle };
    this.registry = buildRegistry(this.#sources);
  }

  attachKv(stats: KvStats): void {
    this.#sources.kv = stats;
  }

  attachHttp(face: HttpFace): void {
    this.#sources.http = face;
  }

  async prometheus(): Promise<MetricsText> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  summary(): Record<string, unknown> {
    return summary(this.#sources);
  }

  couchStats(): Record<string, unknown> {
    return couchStats(this.#sources);
  }
}
