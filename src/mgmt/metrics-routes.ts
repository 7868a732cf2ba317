/**
 * Metrics on the management port, administrator only:
 *   GET /metrics        Prometheus text, as Couchbase Server 7 serves its own at this path
 *   GET /freshet/stats  the JSON summary `freshet stats` prints (buckets, KV, DCP, feeds,
 *                       replications, storage, auth); see src/metrics/documents.ts
 * Both read the server's MetricsProvider (src/common/metrics.ts); without one (a face started
 * alone) they are not found.
 */
import type { MetricsProvider } from '../common/metrics.js';
import { notFound, sendJson, sendText } from './rest-io.js';
import { adminAccess, type RestContext, type RestRoute } from './rest-route.js';

const STATS_READ = adminAccess('cluster.stats!read');
/**
 * ns_server guards `GET /metrics` with {[admin, stats_export], read} (menelaus_web.erl), the
 * permission of its external_stats_reader role, so a refused caller is told that one.
 */
const STATS_EXPORT = adminAccess('cluster.admin.stats_export!read');

function metricsOf(rc: RestContext): MetricsProvider {
  const m = rc.server.metrics;
  if (m === undefined) throw notFound();
  return m;
}

export const METRICS_ROUTES: readonly RestRoute[] = [
  {
    method: 'GET',
    path: '/metrics',
    access: STATS_EXPORT,
    handler: async (rc) => {
      const { contentType, body } = await metricsOf(rc).prometheus();
      sendText(rc.res, 200, body, { 'Content-Type': contentType });
    },
  },
  { method: 'GET', path: '/freshet/stats', access: STATS_READ, handler: (rc) => sendJson(rc.res, 200, metricsOf(rc).summary()) },
];
