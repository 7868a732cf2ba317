/**
 * The route table of both HTTP faces (CouchDB on 5984, cluster-manager REST on 8091), over
 * find-my-way's radix tree.
 *
 * Patterns are '/'-separated segments:
 *   'literal'  matches that exact (decoded, case-sensitive) segment
 *   ':name'    matches any one segment and binds it
 *   '*name'    (last only) matches one or more remaining segments, bound joined with '/'
 *
 * Paths arrive as segments already percent-decoded one by one (path.ts, as ns_server's
 * menelaus_web `loop` and chttpd do), so an encoded '/' stays inside its segment. They are handed
 * to find-my-way re-encoded with encodeURIComponent: its lookup decodes the path with decodeURI
 * (which keeps %2F, %3F, ... encoded, so they cannot split or end a segment) and then each
 * parameter with its component decoder, which gives back exactly our decoded segment.
 *
 * Lookup is by path first, then method, as chttpd does: the most specific pattern matching the
 * path (literal before ':param' before '*tail', find-my-way's order, backtracking to a less
 * specific one when a literal branch dead-ends) is the route, and a method it lacks is
 * `wrong-method` with the list for an `Allow` header (the CouchDB face answers 405
 * method_not_allowed; the REST face answers 404 as ns_server does for any unknown request). HEAD
 * is served by the GET handler unless a HEAD one is declared.
 */
import FindMyWay from 'find-my-way';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'COPY' | 'OPTIONS';

export type RouteMatch<H> =
  | { readonly kind: 'found'; readonly handler: H; readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method'; readonly allowed: readonly string[] }
  | { readonly kind: 'none' };

interface Entry<H> {
  readonly methods: Map<string, H>;
  /** Methods served but left out of a 405's `Allow` list (chttpd_show serves OPTIONS on `_list` and still says "GET,POST,HEAD"). */
  readonly unlisted: Set<string>;
  /** The name of the '*name' tail parameter, if the pattern has one. */
  readonly tail: string | undefined;
}

const NONE = { kind: 'none' } as const;

/** find-my-way needs a handler per route; the table only uses the stored entry. */
const unused = (): void => undefined;

export class RouteTable<H> {
  // Every pattern lives in one tree (under GET): the method is resolved on the entry found.
  // No parameter length limit: document ids and attachment names may be long.
  readonly #tree = FindMyWay({ caseSensitive: true, maxParamLength: Number.MAX_SAFE_INTEGER });
  readonly #entries = new Map<string, Entry<H>>();

  /**
   * Declare `handlers` (by method) for a pattern; a pattern declared twice gains the methods.
   * `unlisted` methods are served but not named in a wrong-method answer's list.
   */
  add(pattern: string, handlers: Readonly<Partial<Record<string, H>>>, unlisted: readonly string[] = []): this {
    const segments = pattern === '/' ? [] : pattern.replace(/^\//, '').split('/');
    const last = segments.at(-1);
    const tail = last?.startsWith('*') ? last.slice(1) : undefined;
    if (tail !== undefined) segments[segments.length - 1] = '*';
    if (segments.slice(0, -1).some((s) => s.startsWith('*'))) throw new Error(`tail parameter not last in ${pattern}`);
    const key = '/' + segments.join('/');
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { methods: new Map(), unlisted: new Set(), tail };
      this.#entries.set(key, entry);
      this.#tree.on('GET', key, unused, entry);
    }
    for (const [method, handler] of Object.entries(handlers)) {
      if (handler === undefined) continue;
      if (entry.methods.has(method)) throw new Error(`${method} ${pattern} declared twice`);
      entry.methods.set(method, handler);
    }
    for (const method of unlisted) entry.unlisted.add(method);
    return this;
  }

  lookup(method: string, segments: readonly string[]): RouteMatch<H> {
    let path = '';
    // '@' goes through as itself: find-my-way never decodes a %40 in the path, so a literal such
    // as ns_server's `scopes/@ensureManifest` could not match it, and '@' means nothing to its tree.
    for (const s of segments) path += '/' + encodeURIComponent(s).replace(/%40/g, '@');
    const found = this.#tree.find('GET', path === '' ? '/' : path);
    if (found === null) return NONE;
    const entry = found.store as Entry<H>;
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(found.params)) {
      if (value === undefined) continue;
      if (name === '*') {
        // A tail binds one or more segments: an empty one means the path ended before it.
        if (value === '') return NONE;
        params[entry.tail!] = value;
      } else {
        params[name] = value;
      }
    }
    const handler = entry.methods.get(method) ?? (method === 'HEAD' ? entry.methods.get('GET') : undefined);
    if (handler !== undefined) return { kind: 'found', handler, params };
    const allowed = [...entry.methods.keys()].filter((m) => !entry.unlisted.has(m));
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    return { kind: 'wrong-method', allowed };
  }
}
