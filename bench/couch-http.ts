/**
 * The CouchDB benchmarks' one HTTP call (bench/couch.ts, couch-find.ts, couch-filter.ts): an
 * administrator request through an undici Agent, the body as text, any status >= 300 an error.
 */
import { request, type Agent } from 'undici';

export const AUTH_HEADER = 'Basic ' + Buffer.from('Administrator:password').toString('base64');

export async function couchText(agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<string> {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: { authorization: AUTH_HEADER, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

/** `couchText` parsed as JSON. */
export async function couchJson(agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  return JSON.parse(await couchText(agent, base, method, path, body)) as Record<string, unknown>;
}
