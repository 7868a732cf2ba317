/**
 * Cross-origin resource sharing, configured like CouchDB's `[cors]` section and
 * `[chttpd] enable_cors` (docs: config/http.rst "Cross-Origin Resource Sharing"), either from the
 * face's options or at runtime through `/_node/_local/_config/cors/{key}` (see config-routes.ts).
 *
 * Browsers use `_changes?feed=eventsource` across origins, which is why this exists at all. The
 * exposed headers are CouchDB's defaults, so a browser client can read `ETag` and the new rev.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsConfig {
  enabled: boolean;
  /** Allowed origins; '*' allows any. */
  origins: string[];
  credentials: boolean;
  methods: string[];
  headers: string[];
  maxAgeSec: number;
}

export const DEFAULT_CORS: CorsConfig = {
  enabled: false,
  origins: [],
  credentials: false,
  methods: ['GET', 'PUT', 'POST', 'HEAD', 'DELETE'],
  headers: ['accept', 'authorization', 'content-type', 'origin', 'referer', 'x-csrf-token'],
  maxAgeSec: 600,
};

const EXPOSED = 'content-type, cache-control, accept-ranges, etag, server, x-couch-request-id, x-couch-update-newrev, x-couchdb-body-time';

/** The `[cors]` keys as CouchDB names them, each read and written as a string. */
export const CORS_KEYS = {
  origins: {
    get: (c: CorsConfig) => c.origins.join(','),
    set: (c: CorsConfig, v: string) => ({ ...c, origins: splitList(v) }),
  },
  credentials: {
    get: (c: CorsConfig) => String(c.credentials),
    set: (c: CorsConfig, v: string) => ({ ...c, credentials: v === 'true' }),
  },
  methods: {
    get: (c: CorsConfig) => c.methods.join(','),
    set: (c: CorsConfig, v: string) => ({ ...c, methods: splitList(v).map((m) => m.toUpperCase()) }),
  },
  headers: {
    get: (c: CorsConfig) => c.headers.join(','),
    set: (c: CorsConfig, v: string) => ({ ...c, headers: splitList(v).map((h) => h.toLowerCase()) }),
  },
  max_age: {
    get: (c: CorsConfig) => String(c.maxAgeSec),
    set: (c: CorsConfig, v: string) => ({ ...c, maxAgeSec: Number.parseInt(v, 10) || 0 }),
  },
} as const;

export type CorsKey = keyof typeof CORS_KEYS;

function splitList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function allowedOrigin(cfg: CorsConfig, origin: string | undefined): string | null {
  if (!cfg.enabled || origin === undefined) return null;
  if (cfg.origins.includes(origin)) return origin;
  // With credentials the wildcard cannot be sent literally (Fetch standard), so echo the origin.
  if (cfg.origins.includes('*')) return cfg.credentials ? origin : '*';
  return null;
}

/** Adds the CORS headers of an actual (non-preflight) request. */
export function applyCors(cfg: CorsConfig, req: IncomingMessage, res: ServerResponse): void {
  const origin = allowedOrigin(cfg, req.headers.origin);
  if (origin === null) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  if (origin !== '*') res.setHeader('Vary', 'Origin');
  if (cfg.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
}

/** Answers a preflight request; returns false when the request is not one. */
export function handlePreflight(cfg: CorsConfig, req: IncomingMessage, res: ServerResponse): boolean {
  const method = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || typeof method !== 'string' || !cfg.enabled) return false;
  const origin = allowedOrigin(cfg, req.headers.origin);
  if (origin === null || !cfg.methods.includes(method.toUpperCase())) {
    res.writeHead(403, { 'Content-Length': 0 });
    res.end();
    return true;
  }
  const asked = (req.headers['access-control-request-headers'] ?? '')
    .split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0);
  const headers = [...new Set([...cfg.headers, ...asked.filter((h) => cfg.headers.includes(h))])];
  const out: Record<string, string> = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': cfg.methods.join(', '),
    'Access-Control-Allow-Headers': headers.join(', '),
    'Access-Control-Max-Age': String(cfg.maxAgeSec),
    'Content-Length': '0',
  };
  if (origin !== '*') out.Vary = 'Origin';
  if (cfg.credentials) out['Access-Control-Allow-Credentials'] = 'true';
  res.writeHead(204, out);
  res.end();
  return true;
}
