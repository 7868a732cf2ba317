/**
 * A Prometheus histogram whose buckets are filled elsewhere: the fixed power-of-two arrays of
 * src/common/histogram.ts, which the KV request path and the group committer fill without any
 * prom-client call. At scrape time `get()` turns them into the usual `_bucket{le}` (cumulative),
 * `_sum` and `_count` series, in seconds. Subclassing prom-client's Histogram keeps the registry's
 * formatting and typing; its own observe() is never used.
 */
import { Histogram, type MetricType, type Registry } from 'prom-client';
import { HISTOGRAM_BOUNDS_US, type LatencyHistogram } from '../common/histogram.js';

export interface LabelledHistogram {
  readonly labels: Readonly<Record<string, string>>;
  readonly histogram: LatencyHistogram;
}

type HistogramValues = Awaited<ReturnType<Histogram['get']>>['values'];

/** prom-client declares MetricType as an enum in its typings only (no runtime export): its value is the string. */
const HISTOGRAM_TYPE = 'histogram' as unknown as MetricType;

const LE = HISTOGRAM_BOUNDS_US.map((us) => us / 1e6);

export class RawHistogram extends Histogram {
  readonly #family: string;
  readonly #help: string;

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly read: () => LabelledHistogram[],
  ) {
    super({ name, help, labelNames: [...labelNames], buckets: LE, registers: [registry] });
    this.#family = name;
    this.#help = help;
  }

  override get(): ReturnType<Histogram['get']> {
    return this.getForPromString();
  }

  /**
   * The registry formats a histogram from `getForPromString()` (prom-client lib/histogram.js; `get()`
   * calls it too), so that is where the arrays become series.
   */
  async getForPromString(): ReturnType<Histogram['get']> {
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
    return { name: this.#family, help: this.#help, type: HISTOGRAM_TYPE, values, aggregator: 'sum', collect: () => undefined };
  }

}
