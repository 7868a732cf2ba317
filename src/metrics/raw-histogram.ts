/**
 * A Prometheus histogram whose buckets are filled elsewhere: the fixed power-of-two arrays of
 * src/common/histogram.ts, which the KV request path and the group committer fill without any
 * prom-client call. At scrape time `get()` turns them into the usual `_bucket{le}` (cumulative),
 * `_sum` and `_count` series, in seconds. Subclassing prom-client's Histogram keeps the registry's
 * formatting and typing; its own observe() is never used.
 */
import { Histogram, type Registry } from 'prom-client';
import { HISTOGRAM_BOUNDS_US, type LatencyHistogram } from '../common/histogram.js';

export interface LabelledHistogram {
  readonly labels: Readonly<Record<string, string>>;
  readonly histogram: LatencyHistogram;
}

type HistogramValues = Awaited<ReturnType<Histogram['get']>>['values'];

const LE = HISTOGRAM_BOUNDS_US.map((us) => us / 1e6);

export class RawHistogram extends Histogram {
  readonly #family: string;

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly read: () => LabelledHistogram[],
  ) {
    super({ name, help, labelNames: [...labelNames], buckets: LE, registers: [registry] });
    this.#family = name;
  }

  override async get(): ReturnType<Histogram['get']> {
    const base = await super.get();
    const values: HistogramValues = [];
    for (const { labels, histogram } of this.read()) {
      let cumulative = 0;
      for (let i = 0; i < LE.length; i++) {
        cumulative += histogram.counts[i]!;
        values.push({ metricName: `${this.#family}_bucket`, labels: { ...labels, le: LE[i]! }, value: cumulative });
      }
      values.push({ metricName: `${this.#family}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count });
      values.push({ metricName: `${this.#family}_sum`, labels: { ...labels }, value: histogram.sumUs / 1e6 });
      values.push({ metricName: `${this.#family}_count`, labels: { ...labels }, value: histogram.count });
    }
    return { ...base, values };
  }

}
