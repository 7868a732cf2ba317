/**
 * The array form of a design document's `rewrites` (CouchDB api/ddoc/rewrites.rst), as
 * chttpd_rewrite.erl's do_rewrite/2 reads it, and the path helpers both forms share:
 *
 * - every rule object is read first (make_rule): `from` (default `*`) and `to` split on '/'
 *   (empty parts dropped), `*` a tail and `:name` a variable; a rule without `to` fails the
 *   request (500 `invalid_rewrite_target`), and so does a path with a third `..` while `[chttpd]
 *   secure_rewrites` is on (500 `insecure_rewrite_rule`: `../..` reaches the database, a third
 *   would reach the server);
 * - the first rule whose `method` (default any) and `from` match the path after `_rewrite/` wins
 *   (try_bind_path); none is 404 `not_found` `missing`;
 * - its bindings are the path's variables, then the request's query parameters (`key`,
 *   `startkey`, `start_key`, `endkey`, `end_key` and `keys` JSON-decoded), then the rule's
 *   `query` with `:name` and `*` values (also inside arrays) replaced by bindings and `formats`
 *   (`int`, `bool`) applied; a query key of the rule replaces the bindings of that name;
 * - the new path is `to` with `:name` replaced (`undefined` when unbound) and `*` by the rest of
 *   the matched path, each part quoted (mochiweb quote_plus), and its query every binding but the
 *   tail's, the JSON keys JSON-encoded; relative to `/{db}/_design/{ddoc}` and normalized (`.`,
 *   `..`) with its query string, as CouchDB normalizes them.
 *
 * Where CouchDB would crash on a value it cannot make text of (a number bound into a path part
 * or into a parameter that is not a JSON key), Freshet writes its JSON text.
 */
import { CouchError } from '../couch/errors.js';

/** A path token: a literal part, or a variable (`*` is the tail). */
type Token = string | { bind: string };
type Pair = [string, unknown];

interface Rule {
  from: Token[];
  /** undefined: any method. */
  method: unknown;
  to: Token[];
  query: Pair[];
  formats: Record<string, unknown>;
}

/** What a request brings to the rules. */
export interface RuleRequest {
  method: string;
  /** The decoded path parts after `_rewrite`. */
  parts: readonly string[];
  /** The query string's decoded pairs, in order. */
  query: readonly Pair[];
  /** `/{db}/_design/{ddoc}`, encoded (pathPrefix). */
  prefix: string;
  /** `[chttpd] secure_rewrites`. */
  secure: boolean;
}

const TAIL = '*';
const JSON_KEYS = new Set(['key', 'startkey', 'start_key', 'endkey', 'end_key', 'keys']);

/** The new path and query string of the first rule that matches, relative to the server. */
export function rewriteByRules(rules: readonly unknown[], req: RuleRequest): string {
  const dispatch = rules.filter(isObject).map((r) => makeRule(r, req.secure));
  const query = req.query.map(([k, v]): Pair => [k, JSON_KEYS.has(k) ? decodeJson(v as string) : v]);
  for (const rule of dispatch) {
    if (rule.method !== undefined && rule.method !== req.method) continue;
    const bound = bindPath(rule.from, req.parts);
    if (bound === undefined) continue;
    const bindings = [...bound.bindings, ...query];
    const queryArgs = makeQueryList(rule.query, bindings, rule.formats);
    const final = [...bindings.filter(([k]) => lookup(queryArgs, k) === undefined), ...queryArgs];
    const parts = makeNewPath(rule.to, final, bound.rest).map(quotePlus);
    const encoded = final.filter(([k]) => k !== TAIL).map(([k, v]): [string, string] => [k, iolist(JSON_KEYS.has(k) ? JSON.stringify(v) : v)]).reverse();
    const qs = encoded.length > 0 ? `?${encoded.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&')}` : '';
    // chttpd_rewrite normalizes the path with its query string appended, as here.
    return normalizePath(`${req.prefix}/${parts.join('/')}${qs}`);
  }
  throw new CouchError('not_found_detail', { params: { detail: 'missing' } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // couch_util:json_decode throws invalid_json, which chttpd answers 400.
    throw new CouchError('invalid_json');
  }
}

function makeRule(rule: Record<string, unknown>, secure: boolean): Rule {
  const method = rule.method;
  const from = typeof rule.from === 'string' ? parsePath(rule.from, secure) : [{ bind: TAIL }];
  if (typeof rule.to !== 'string') throw new CouchError('invalid_rewrite_target');
  const to = parsePath(rule.to, secure);
  const query = isObject(rule.query) ? Object.entries(rule.query) : [];
  const formats = isObject(rule.formats) ? rule.formats : {};
  return { from, method, to, query, formats };
}

/** path_to_list: tokens, with a third `..` refused unless `secure_rewrites` is off. */
function parsePath(path: string, secure: boolean): Token[] {
  const tokens: Token[] = [];
  let dotdots = 0;
  for (const p of path.split('/')) {
    if (p === '') continue;
    if (p === '*') tokens.push({ bind: TAIL });
    else if (p === '..') {
      if (dotdots === 2 && secure) throw new CouchError('insecure_rewrite_rule');
      dotdots++;
      tokens.push(p);
    } else tokens.push(p.startsWith(':') ? { bind: p.slice(1) } : p);
  }
  return tokens;
}

/** bind_path: the variables (latest first, as CouchDB prepends them) and the rest a tail takes. */
function bindPath(from: readonly Token[], parts: readonly string[]): { bindings: Pair[]; rest: string[] } | undefined {
  const bindings: Pair[] = [];
  let i = 0;
  for (let t = 0; t < from.length; t++) {
    const token = from[t]!;
    if (typeof token !== 'string' && token.bind === TAIL && t === from.length - 1) return { bindings, rest: parts.slice(i) };
    if (i >= parts.length) return undefined;
    if (typeof token === 'string') {
      if (token !== parts[i]) return undefined;
    } else {
      bindings.unshift([token.bind, parts[i]]);
    }
    i++;
  }
  return i === parts.length ? { bindings, rest: [] } : undefined;
}

/** couch_util:get_value: the first pair of that key. */
function lookup(pairs: readonly Pair[], key: string): unknown {
  return pairs.find(([k]) => k === key)?.[1];
}

/** make_query_list: the rule's query with its variables replaced, in reverse (as CouchDB builds it). */
function makeQueryList(query: readonly Pair[], bindings: readonly Pair[], formats: Record<string, unknown>): Pair[] {
  const out: Pair[] = [];
  for (const [key, value] of query) {
    let v = value;
    if (typeof value === 'string') v = replaceVar(value, bindings, formats);
    else if (Array.isArray(value)) v = value.map((e) => (typeof e === 'string' && e.startsWith(':') ? getVar(e.slice(1), bindings, e, formats) : e));
    out.unshift([key, v]);
  }
  return out;
}

function replaceVar(value: string, bindings: readonly Pair[], formats: Record<string, unknown>): unknown {
  if (value === TAIL) return getVar(TAIL, bindings, value, formats);
  if (value.startsWith(':')) return getVar(value.slice(1), bindings, value, formats);
  return value;
}

function getVar(name: string, bindings: readonly Pair[], dflt: unknown, formats: Record<string, unknown>): unknown {
  const found = bindings.find(([k]) => k === name);
  const value = found === undefined ? dflt : found[1];
  const format = Object.hasOwn(formats, name) ? formats[name] : undefined;
  if (format === 'int' && typeof value === 'string' && /^[+-]?\d+$/.test(value)) return Number.parseInt(value, 10);
  if (format === 'bool' && typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
  }
  return value;
}

/** make_new_path: `to` with its variables replaced; a tail takes the rest of the path and ends it. */
function makeNewPath(to: readonly Token[], bindings: readonly Pair[], rest: readonly string[]): string[] {
  const out: string[] = [];
  for (const token of to) {
    if (typeof token === 'string') out.push(token);
    else if (token.bind === TAIL) return [...out, ...rest];
    else {
      const value = lookup(bindings, token.bind);
      out.push(value === undefined ? 'undefined' : iolist(value));
    }
  }
  return out;
}

/** iolist_to_binary of a binding: a string, or the concatenation of a list of them. */
function iolist(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || Array.isArray(v))) return value.map(iolist).join('');
  return JSON.stringify(value) ?? 'null';
}

/** mochiweb_util:quote_plus: letters, digits and `.-~_` as they are, a space `+`, other bytes %XX. */
export function quotePlus(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-~_]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** couch_util:url_encode: letters, digits and `_.-:` as they are, other bytes %XX. */
function urlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-:]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** chttpd_rewrite path_prefix: `/{db}/_design/{ddoc}`, the root of a rewrite's relative paths. */
export function pathPrefix(db: string, ddoc: string): string {
  return `/${urlEncode(db)}/_design/${urlEncode(ddoc)}`;
}

/**
 * chttpd_rewrite normalize_path: the parts between slashes without empty ones and `.`, each `..`
 * taking the part before it away (kept when there is none), joined under `/`.
 */
export function normalizePath(path: string): string {
  const acc: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && acc.length > 0 && acc.at(-1) !== '..') acc.pop();
    else acc.push(part);
  }
  return `/${acc.join('/')}`;
}
