/**
 * What a face needs to serve the server's metrics: the Prometheus text (`GET /metrics` on the
 * management port, `GET /_node/_local/_prometheus` on the CouchDB port), the JSON summary
 * (`GET /freshet/stats`) and CouchDB's `_stats` document. The implementation lives in
 * src/metrics/, which reads every face; faces see only this interface (the server passes it in),
 * so no face imports another.
 */
export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}

export interface MetricsProvider {
  prometheus(): Promise<MetricsText>;
  /** The one summary document (`freshet stats`, the console). */
  summary(): Record<string, unknown>;
  /** CouchDB's `/_node/{node}/_stats` shape: `{group: {metric: {value, type, desc}}}`. */
  couchStats(): Record<string, unknown>;
}
