/**
 * Writing responses: JSON replies, CouchDB error bodies, and a backpressure-aware chunk writer for
 * streamed replies (`_changes`, multipart). Every streamed write waits for 'drain' when the socket
 * buffer is full, so a slow reader of a continuous feed holds the feed, not our memory.
 */
import type { ServerResponse } from 'node:http';
import type { CouchError, CouchErrorBody } from '../couch/errors.js';
import { HTTP_SERVER_HEADER } from '../common/version.js';

export const SERVER_HEADER = HTTP_SERVER_HEADER;

export function baseHeaders(extra: Record<string, string | number> = {}): Record<string, string | number> {
  return { Server: SERVER_HEADER, 'Cache-Control': 'must-revalidate', ...extra };
}

/**
 * JSONP (couch_httpd start_jsonp/end_jsonp): the callback that wraps this response's JSON as
 * `/* CouchDB *\/callback(...);`, served as `application/javascript` (negotiate_content_type).
 * Set by the request handling (server.ts) when `[chttpd] allow_jsonp` lets a `?callback=` in.
 */
const JSONP = new WeakMap<ServerResponse, string>();

export function useJsonp(res: ServerResponse, callback: string): void {
  JSONP.set(res, callback);
}

/** The content type of a JSON reply, and the text that opens and closes its JSON. */
export function jsonFraming(res: ServerResponse): { type: string; open: string; close: string } {
  const callback = JSONP.get(res);
  return callback === undefined
    ? { type: 'application/json', open: '', close: '' }
    : { type: 'application/javascript', open: `/* CouchDB */${callback}(`, close: ');' };
}

/** Send a whole JSON reply (no body for HEAD). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Send JSON already serialized (listings assembled row by row, doc-json.ts docText). */
export function sendJsonText(res: ServerResponse, status: number, json: string, headers: Record<string, string | number> = {}): void {
  const jsonp = jsonFraming(res);
  const text = jsonp.open + json + jsonp.close + '\n';
  res.writeHead(status, baseHeaders({
    'Content-Type': jsonp.type,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  }));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** Send raw bytes with a content type. */
export function sendBytes(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string | number>): void {
  res.writeHead(status, baseHeaders({ 'Content-Length': body.length, ...headers }));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * A body made of chunks (couch/multipart-build.ts MultipartBody), written without copying them
 * into one buffer and at the socket's pace.
 */
export async function sendBody(res: ServerResponse, status: number, body: { contentType: string; chunks: Buffer[]; length: number }, headers: Record<string, string | number> = {}): Promise<void> {
  res.writeHead(status, baseHeaders({ 'Content-Type': body.contentType, 'Content-Length': body.length, ...headers }));
  if (res.req.method !== 'HEAD') for (const chunk of body.chunks) await writeChunk(res, chunk);
  res.end();
}

/**
 * Answer 304 Not Modified when `If-None-Match` names `etag` (couch_httpd etag_match: a list of
 * tags, each possibly weak, `W/"..."`), and say whether it did.
 */
export function notModified(res: ServerResponse, etag: string): boolean {
  const header = res.req.headers['if-none-match'];
  if (typeof header !== 'string') return false;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes(etag)) return false;
  res.writeHead(304, baseHeaders({ ETag: etag, 'Content-Length': 0 }));
  res.end();
  return true;
}

export function sendError(res: ServerResponse, err: CouchError, headers: Record<string, string | number> = {}): void {
  const body: CouchErrorBody = err.toJSON();
  sendJson(res, err.status, body, headers);
}

/**
 * Write one chunk, resolving when the socket can take more: immediately when `write` returned
 * true, on 'drain' otherwise, or when the response closes (the caller then sees `closed`).
 */
export function writeChunk(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
