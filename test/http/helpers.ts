/**
 * Per-test CouchDB face fixture: a real Freshet (test/helpers/server.ts) plus a second CouchDB
 * listener on the same context, started here so that the test can pass face options (short
 * `_changes` timeouts, small default q) and read the face's counters. Requests go through
 * undici over real sockets.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { startHttpFace, type HttpFaceOptions, type HttpListener } from '../../src/http/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

export interface Resp {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: unknown;
}

export interface ReqOptions {
  method?: string;
  /** A value to send as JSON (Content-Type application/json). */
  json?: unknown;
  /** Raw body (with `headers` for its type). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Credentials; default the administrator, null for anonymous. */
  auth?: { user: string; password: string } | null;
  signal?: AbortSignal;
}

export interface CouchFixture {
  server: TestServer;
  listener: HttpListener;
  engine: Engine;
  base: string;
  agent: Agent;
  req(path: string, opts?: ReqOptions): Promise<Resp>;
  /** Like req, but returns the undici response with its body unread (for streams). */
  stream(path: string, opts?: ReqOptions): Promise<Dispatcher.ResponseData>;
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

function buildInit(opts: ReqOptions): { method: Dispatcher.HttpMethod; headers: Record<string, string>; body?: string | Buffer; signal?: AbortSignal } {
  // As CouchDB's clients (PouchDB, nano) do: without it chttpd answers multipart to
  // `attachments=true` and `open_revs` (mochiweb reads a missing Accept as */*).
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  const auth = opts.auth === undefined ? { user: ADMIN.username, password: ADMIN.password } : opts.auth;
  if (auth) headers.authorization = basic(auth.user, auth.password);
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  }
  const init: { method: Dispatcher.HttpMethod; headers: Record<string, string>; body?: string | Buffer; signal?: AbortSignal } = {
    method: (opts.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
  };
  if (body !== undefined) init.body = body;
  if (opts.signal) init.signal = opts.signal;
  return init;
}

export async function withCouch<T>(fn: (f: CouchFixture) => Promise<T>, faceOptions: HttpFaceOptions = {}): Promise<T> {
  const server = await startTestServer();
  const { engine, users, authThrottle, logger, addresses } = server.server;
  const deps = { engine, users, authThrottle, logger, host: addresses.host, ports: addresses.ports };
  const listener = await startHttpFace(deps, 0, { defaultQ: 16, ...faceOptions });
  const base = `http://127.0.0.1:${listener.port}`;
  const agent = new Agent({ connections: 2048, pipelining: 0 });
  const fixture: CouchFixture = {
    server,
    listener,
    engine: server.server.engine,
    base,
    agent,
    stream: (path, opts = {}) => request(base + path, { ...buildInit(opts), dispatcher: agent }),
    req: async (path, opts = {}) => {
      const res = await request(base + path, { ...buildInit(opts), dispatcher: agent });
      const body = Buffer.from(await res.body.arrayBuffer());
      const text = body.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, body, text, json };
    },
  };
  try {
    return await fn(fixture);
  } finally {
    await agent.close().catch(() => undefined);
    await listener.close();
    await server.close();
  }
}

/** Create a database and return its name. */
export async function createDb(f: CouchFixture, name = 'db'): Promise<string> {
  const r = await f.req(`/${name}?q=8`, { method: 'PUT' });
  if (r.status !== 201) throw new Error(`PUT /${name}: ${r.status} ${r.text}`);
  return name;
}

export function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

export function arr(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`expected an array, got ${JSON.stringify(v)}`);
  return v;
}

/** POST `json` to `path`, expecting 200, and the answer's object. */
export async function postOk(f: CouchFixture, path: string, json: unknown): Promise<Record<string, unknown>> {
  const r = await f.req(path, { method: 'POST', json });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return obj(r.json);
}
