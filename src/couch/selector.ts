// Mango selectors for `_changes?filter=_selector` (spec §2.8): validation,
// CouchDB's normalisation, and in-memory matching.
//
// Port of apache/couchdb src/mango/src/mango_selector.erl (`normalize/1`:
// norm_ops -> norm_fields -> norm_negations, then `match/3`), mango_doc.erl
// `get_field/2` and mango_util.erl `parse_field/1`. Normalisation matters for
// results, not just speed: `{"$not": {"a": {"$gt": 1}}}` becomes
// `{"a": {"$lte": 1}}`, which (like every field condition except
// `$exists: false`) never matches a document without `a`.
//
// Comparisons use view collation (collate.ts), except on `_id`, which uses raw
// order (mango_json:cmp_raw/2). Arrays are not searched implicitly:
// `{"tags": "x"}` does not match `{"tags": ["x"]}`; use `$elemMatch`/`$all`.
//
// Differences from CouchDB, all at validation time: error reasons print the
// offending argument as JSON (CouchDB prints Erlang terms); `$mod` with a zero
// divisor and `$text` (Freshet has no text index) are rejected; `$regex` uses
// JavaScript regular expressions (CouchDB uses PCRE).

import { collate, compareRaw } from './collate.js';
import { CouchError } from './errors.js';

type Json = unknown;
type Obj = Record<string, Json>;
type Cmp = (a: Json, b: Json) => number;

function isObject(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function one(key: string, value: Json): Obj {
  return { [key]: value };
}

/** The single `[key, value]` of a normalised node. */
function pair(sel: Obj): [string, Json] {
  const keys = Object.keys(sel);
  return [keys[0], sel[keys[0]]];
}

function badArg(op: string, arg: Json): CouchError {
  return new CouchError('selector_bad_arg', { params: { op, arg: JSON.stringify(arg) ?? 'undefined' } });
}

const NOT_SUPPORTED = new Set(['$where', '$geoWithin', '$geoIntersects', '$near', '$nearSphere', '$text']);
const ANY_ARG = new Set(['$lt', '$lte', '$eq', '$ne', '$gte', '$gt']);
const LIST_ARG = new Set(['$and', '$or', '$nor', '$in', '$nin', '$all']);
const SUB_SELECTOR = new Set(['$not', '$elemMatch', '$allMatch', '$keyMapMatch']);
const COMBINATORS = new Set(['$and', '$or', '$nor']);

/**
 * A Mango `$regex` (PCRE in CouchDB, re:compile/1) as a JavaScript RegExp: leading inline options
 * `(?i)`, `(?m)`, `(?s)` become flags, and PCRE's `\A` / `\z` / `\Z` anchors JavaScript's `^`
 * (without `m`) and `$`. Null when the pattern is not valid.
 */
function compileRegex(source: string): RegExp | null {
  let flags = '';
  let pattern = source;
  for (let m = /^\(\?([imsx]+)\)/.exec(pattern); m !== null; m = /^\(\?([imsx]+)\)/.exec(pattern)) {
    for (const f of m[1]!) if (f !== 'x' && !flags.includes(f)) flags += f;
    if (m[1]!.includes('x')) return null; // extended syntax has no JavaScript form
    pattern = pattern.slice(m[0].length);
  }
  pattern = pattern.replace(/(?<!\\)((?:\\\\)*)\\A/g, '$1^').replace(/(?<!\\)((?:\\\\)*)\\[zZ]/g, '$1$');
  try {
    return new RegExp(pattern, flags);
  } catch {
    return null;
  }
}

/** norm_ops/1: validate operator arguments, make implicit $eq/$and explicit. */
function normOps(sel: Json): Json {
  if (isObject(sel)) {
    const keys = Object.keys(sel);
    if (keys.length >= 2) return one('$and', keys.map((k) => normOps(one(k, sel[k]))));
    if (keys.length === 1) {
      const [op, arg] = [keys[0], sel[keys[0]]];
      if (!op.startsWith('$')) return one(op, normOps(arg));
      if (LIST_ARG.has(op)) {
        if (!Array.isArray(arg)) throw badArg(op, arg);
        return COMBINATORS.has(op) ? one(op, arg.map(normOps)) : sel;
      }
      if (SUB_SELECTOR.has(op)) {
        if (!isObject(arg)) throw badArg(op, arg);
        return one(op, normOps(arg));
      }
      if (ANY_ARG.has(op)) return sel;
      switch (op) {
        case '$exists':
          if (typeof arg !== 'boolean') throw badArg(op, arg);
          return sel;
        case '$type':
          if (typeof arg !== 'string') throw badArg(op, arg);
          return sel;
        case '$beginsWith':
          // norm_ops has a clause for a binary argument only: anything else falls through to
          // the unknown operator's error.
          if (typeof arg !== 'string') throw new CouchError('selector_invalid_operator', { params: { op } });
          return sel;
        case '$size':
          if (!Number.isInteger(arg) || (arg as number) < 0) throw badArg(op, arg);
          return sel;
        case '$mod': {
          const ok = Array.isArray(arg) && arg.length === 2 && arg.every((x) => Number.isInteger(x)) && arg[0] !== 0;
          if (!ok) throw badArg(op, arg);
          return sel;
        }
        case '$regex':
          if (typeof arg !== 'string' || compileRegex(arg) === null) throw badArg(op, arg);
          return sel;
      }
      if (NOT_SUPPORTED.has(op)) throw new CouchError('selector_not_supported', { params: { op } });
      throw new CouchError('selector_invalid_operator', { params: { op } });
    }
  }
  return one('$eq', sel);
}

/** norm_fields/2: push field names down to the operator they constrain. */
function normFields(sel: Json, path: string): Obj {
  if (!isObject(sel) || Object.keys(sel).length !== 1) {
    throw new CouchError('selector_bad_field', { params: { selector: JSON.stringify(sel) ?? 'undefined' } });
  }
  const [key, arg] = pair(sel);
  if (COMBINATORS.has(key)) return one(key, (arg as Json[]).map((a) => normFields(a, path)));
  if (key === '$not') return one(key, normFields(arg, path));
  if (key === '$elemMatch' || key === '$allMatch' || key === '$keyMapMatch') {
    const inner = isObject(arg) && Object.keys(arg).length === 0 ? arg : normFields(arg, '');
    return one(path, one(key, inner));
  }
  if (key.startsWith('$')) return one(path, sel);
  return normFields(arg, path === '' ? key : `${path}.${key}`);
}

const NEGATED: Record<string, string> = {
  $lt: '$gte',
  $lte: '$gt',
  $eq: '$ne',
  $ne: '$eq',
  $gte: '$lt',
  $gt: '$lte',
  $in: '$nin',
  $nin: '$in',
};

/** norm_negations/1: move $not/$nor down to the terminals (De Morgan). */
function normNegations(sel: Obj): Obj {
  const [key, arg] = pair(sel);
  switch (key) {
    case '$not':
      return negate(arg as Obj);
    case '$nor':
      return one('$and', (arg as Obj[]).map(negate));
    case '$and':
    case '$or':
      return one(key, (arg as Obj[]).map(normNegations));
    case '$elemMatch':
    case '$allMatch':
    case '$keyMapMatch':
      return isObject(arg) && Object.keys(arg).length > 0 ? one(key, normNegations(arg)) : sel;
    default:
      return sel;
  }
}

function negate(sel: Obj): Obj {
  const [key, arg] = pair(sel);
  if (key === '$not') return normNegations(arg as Obj);
  if (key === '$nor') return one('$or', (arg as Obj[]).map(normNegations));
  if (key === '$and') return one('$or', (arg as Obj[]).map(negate));
  if (key === '$or') return one('$and', (arg as Obj[]).map(negate));
  if (key === '$exists') return one(key, !arg);
  if (Object.hasOwn(NEGATED, key)) return one(NEGATED[key], arg);
  if (key.startsWith('$')) return one('$not', sel);
  return one(key, negate(arg as Obj));
}

/** mango_util:parse_field/1: split on unescaped dots, `\.` is a literal dot. */
export function parseField(field: string): string[] {
  const parts = field.split(/(?<!\\)\./).map((p) => p.replace(/\\/g, ''));
  if (parts.some((p) => p === '')) {
    throw new CouchError('bad_request', { reason: `Invalid field name: ${field}` });
  }
  return parts;
}

const NOT_FOUND = Symbol('not_found');
const BAD_PATH = Symbol('bad_path');

/** mango_doc:get_field/2: objects by key, arrays by non-negative index. */
function getField(value: Json, path: readonly string[]): Json | typeof NOT_FOUND | typeof BAD_PATH {
  let cur = value;
  for (const name of path) {
    if (isObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, name)) return NOT_FOUND;
      cur = cur[name];
    } else if (Array.isArray(cur)) {
      if (!/^[+-]?\d+$/.test(name)) return BAD_PATH;
      const index = Number(name);
      if (index < 0 || index >= cur.length) return BAD_PATH;
      cur = cur[index];
    } else {
      return BAD_PATH;
    }
  }
  return cur;
}

/** Erlang `=:=` on EJSON: key order matters, like lists:member/2 in $all. */
function exactEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => exactEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && exactEqual(a[k], b[k]));
  }
  return false;
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return Array.isArray(v) ? 'array' : 'object';
}

type Matcher = (value: Json, cmp: Cmp) => boolean;

/** Compiles a normalised node into a matcher (mango_selector:match/3). */
function compile(sel: Obj): Matcher {
  const [key, arg] = pair(sel);
  switch (key) {
    case '$and': {
      const subs = (arg as Obj[]).map(compile);
      return (v, cmp) => subs.every((m) => m(v, cmp));
    }
    case '$or': {
      const subs = (arg as Obj[]).map(compile);
      return (v, cmp) => subs.length === 0 || subs.some((m) => m(v, cmp));
    }
    case '$not': {
      const sub = compile(arg as Obj);
      return (v, cmp) => !sub(v, cmp);
    }
    case '': {
      const sub = compile(arg as Obj);
      return (v, cmp) => sub(v, cmp);
    }
    case '$elemMatch':
    case '$allMatch':
    case '$keyMapMatch': {
      const inner = arg as Obj;
      const sub: Matcher = Object.keys(inner).length === 0 ? () => true : compile(inner);
      if (key === '$elemMatch') return (v, cmp) => Array.isArray(v) && v.some((x) => sub(x, cmp));
      if (key === '$allMatch') return (v, cmp) => Array.isArray(v) && v.length > 0 && v.every((x) => sub(x, cmp));
      return (v, cmp) => isObject(v) && Object.keys(v).some((k) => sub(k, cmp));
    }
    case '$all': {
      const args = arg as Json[];
      return (v) => {
        if (args.length === 0 || !Array.isArray(v)) return false;
        if (args.length === 1 && Array.isArray(args[0]) && exactEqual(args[0], v)) return true;
        return args.every((a) => v.some((x) => exactEqual(a, x)));
      };
    }
    case '$lt':
      return (v, cmp) => cmp(v, arg) < 0;
    case '$lte':
      return (v, cmp) => cmp(v, arg) <= 0;
    case '$eq':
      return (v, cmp) => cmp(v, arg) === 0;
    case '$ne':
      return (v, cmp) => cmp(v, arg) !== 0;
    case '$gte':
      return (v, cmp) => cmp(v, arg) >= 0;
    case '$gt':
      return (v, cmp) => cmp(v, arg) > 0;
    case '$in': {
      const args = arg as Json[];
      return (v, cmp) =>
        Array.isArray(v) ? args.some((a) => v.some((x) => cmp(x, a) === 0)) : args.some((a) => cmp(v, a) === 0);
    }
    case '$nin': {
      const args = arg as Json[];
      return (v, cmp) =>
        Array.isArray(v) ? args.every((a) => v.every((x) => cmp(x, a) !== 0)) : args.every((a) => cmp(v, a) !== 0);
    }
    case '$exists':
      return (v) => (v !== undefined) === arg;
    case '$type':
      return (v) => v !== undefined && typeName(v) === arg;
    case '$mod': {
      const [d, r] = arg as [number, number];
      return (v) => typeof v === 'number' && Number.isInteger(v) && v % d === r;
    }
    case '$beginsWith':
      return (v) => typeof v === 'string' && v.startsWith(arg as string);
    case '$regex': {
      const re = compileRegex(arg as string) as RegExp;
      return (v) => typeof v === 'string' && re.test(v);
    }
    case '$size':
      return (v) => Array.isArray(v) && v.length === arg;
  }
  const path = parseField(key);
  const cond = arg as Obj;
  const sub = compile(cond);
  const existsFalse = Object.keys(cond).length === 1 && cond.$exists === false;
  const raw = key === '_id';
  return (v, cmp) => {
    const found = getField(v, path);
    if (found === NOT_FOUND) return existsFalse;
    if (found === BAD_PATH) return false;
    return sub(found, raw ? compareRaw : cmp);
  };
}

/**
 * The value at a dotted field path (mango_doc:get_field/2), or undefined when the path is missing
 * or runs through a scalar or an out-of-range array index. `_find` `fields` and json index keys
 * read documents through this.
 */
export function fieldValue(doc: unknown, path: readonly string[]): unknown {
  const found = getField(doc, path);
  return found === NOT_FOUND || found === BAD_PATH ? undefined : found;
}

/** Validates and normalises a selector, returning CouchDB's normal form. */
export function normalizeSelector(selector: unknown): Record<string, unknown> {
  if (!isObject(selector)) throw new CouchError('selector_not_object');
  if (Object.keys(selector).length === 0) return {};
  const normal = normNegations(normFields(normOps(selector), ''));
  if (Object.keys(normal).includes('')) throw new CouchError('selector_missing_field');
  return normal;
}

export type DocMatcher = (doc: unknown) => boolean;

/**
 * Compiles a Mango selector into a predicate over JSON documents (pass the
 * document as `_changes?include_docs` would show it, with `_id`/`_rev`).
 * Throws CouchError 400 for an invalid selector.
 */
export function compileSelector(selector: unknown): DocMatcher {
  const normal = normalizeSelector(selector);
  if (Object.keys(normal).length === 0) return () => true;
  // An empty `$or` is true inside an `$and` (mango_selector: "an empty array as always true"),
  // but a selector that is nothing but one finds no documents (CouchDB's 21_empty_selector tests).
  if (Array.isArray(normal.$or) && normal.$or.length === 0 && Object.keys(normal).length === 1) return () => false;
  const matcher = compile(normal);
  return (doc) => isObject(doc) && matcher(doc, collate);
}
