/**
 * The sub-document operations on a parsed JSON value, with kv_engine's semantics and statuses
 * (docs/SubDocument.md "Command Listings"; subjson's error map in daemon/subdocument.cc):
 *
 * - a component that does not exist is PATH_ENOENT, one of the wrong kind (a key into an array, an
 *   index into an object, anything into a primitive) PATH_MISMATCH;
 * - MKDIR_P creates missing intermediate *objects* only, never array elements;
 * - DICT_ADD on an existing key is PATH_EEXISTS; dictionary ops on a path ending in an index,
 *   ARRAY_INSERT on one that does not, or with `[-1]`, are PATH_EINVAL;
 * - ARRAY_ADD_UNIQUE takes one primitive (else VALUE_CANTINSERT), needs an array of primitives
 *   (else PATH_MISMATCH) and compares values as text (`1.0` is not `1`);
 * - COUNTER works on signed int64: delta 0 or not an int64 is DELTA_EINVAL, an existing
 *   non-integer PATH_MISMATCH, an integer out of int64 NUM_ERANGE, an overflowing result
 *   VALUE_CANTINSERT (subjson DELTA_OVERFLOW); a missing path is created holding the delta;
 * - GET_COUNT counts an array's elements or an object's members, else PATH_MISMATCH.
 *
 * Operations change the value in place; the caller works on its own parsed copy, so a failed
 * multi-mutation leaves nothing behind.
 */
import { SubdocError } from './errors.js';
import { JNum, MAX_JSON_DEPTH, depthOf, isContainer, layoutOf, stringify, type JObject, type JVal } from '../codec/json-tree.js';
import type { PathComponent } from './path.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function enoent(what: string): SubdocError {
  return new SubdocError('SubdocPathEnoent', what);
}
function mismatch(what: string): SubdocError {
  return new SubdocError('SubdocPathMismatch', what);
}

/** The element an index names in `arr` (`-1` is the last), or -1 when out of range. */
function slot(arr: JVal[], index: number): number {
  if (index === -1) return arr.length - 1;
  return index < arr.length ? index : -1;
}

/** One step down: the child of `v` named by `c`, undefined when absent; PATH_MISMATCH on the wrong kind. */
function child(v: JVal, c: PathComponent): JVal | undefined {
  if (c.kind === 'key') {
    if (!(v instanceof Map)) throw mismatch(`'${c.key}' looks into a non-object`);
    return v.get(c.key);
  }
  if (!Array.isArray(v)) throw mismatch(`[${c.index}] looks into a non-array`);
  const i = slot(v, c.index);
  return i < 0 ? undefined : v[i];
}

/** The value at `path`; PATH_ENOENT / PATH_MISMATCH as kv. */
export function lookup(root: JVal, path: readonly PathComponent[]): JVal {
  let v = root;
  for (const c of path) {
    const next = child(v, c);
    if (next === undefined) throw enoent('path does not exist');
    v = next;
  }
  return v;
}

/**
 * GET_COUNT: members of an object or elements of an array, as the text holds them: subjson counts
 * the parser's elements (operations.cc `do_container_size`), so a repeated member name counts twice.
 */
export function count(root: JVal, path: readonly PathComponent[]): number {
  const v = lookup(root, path);
  if (!isContainer(v)) throw mismatch('GET_COUNT needs an array or an object');
  return layoutOf(v)?.members.length ?? (Array.isArray(v) ? v.length : v.size);
}

/**
 * The container holding the last component of `path`, creating missing intermediate objects
 * when `mkdir`. The root for a one-component path.
 */
function parentOf(root: JVal, path: readonly PathComponent[], mkdir: boolean): JVal {
  let v = root;
  for (let i = 0; i < path.length - 1; i++) {
    const c = path[i]!;
    let next = child(v, c);
    if (next === undefined) {
      // MKDIR_P creates dictionary levels only (docs "Creating intermediate paths").
      if (!mkdir || c.kind !== 'key' || path[i + 1]!.kind !== 'key') throw enoent('an intermediate path does not exist');
      next = new Map();
      (v as JObject).set(c.key, next);
    }
    v = next;
  }
  return v;
}

/**
 * A value may not nest the document deeper than 31 containers around it and within it: subjson
 * validates it against (MAX_COMPONENTS + 1) - path size levels (operations.cc `get_maxdepth`), one
 * less than a document may be read at (t_ops.cc testReplaceArrayDeep: `[[5]]` is refused there).
 */
function checkDepth(path: readonly PathComponent[], values: readonly JVal[]): void {
  const deepest = values.reduce<number>((m, v) => Math.max(m, depthOf(v)), 0);
  if (path.length + deepest >= MAX_JSON_DEPTH) throw new SubdocError('SubdocValueEtoodeep', 'the value would make the document too deep');
}

function last(path: readonly PathComponent[]): PathComponent {
  const c = path[path.length - 1];
  if (!c) throw new SubdocError('SubdocPathEinval', 'the operation needs a non-empty path');
  return c;
}

/** DICT_ADD (`add`) and DICT_UPSERT. */
export function dictSet(root: JVal, path: readonly PathComponent[], value: JVal, mkdir: boolean, add: boolean): void {
  const c = last(path);
  if (c.kind !== 'key') throw new SubdocError('SubdocPathEinval', 'a dictionary operation cannot end in an array index');
  checkDepth(path, [value]);
  const parent = parentOf(root, path, mkdir);
  if (!(parent instanceof Map)) throw mismatch('the parent is not an object');
  if (add && parent.has(c.key)) throw new SubdocError('SubdocPathEexists', `'${c.key}' already exists`);
  parent.set(c.key, value);
}

/** REPLACE: the path must exist. */
export function replace(root: JVal, path: readonly PathComponent[], value: JVal): void {
  const c = last(path);
  checkDepth(path, [value]);
  const parent = parentOf(root, path, false);
  if (c.kind === 'key') {
    if (!(parent instanceof Map)) throw mismatch('the parent is not an object');
    if (!parent.has(c.key)) throw enoent(`'${c.key}' does not exist`);
    parent.set(c.key, value);
    return;
  }
  if (!Array.isArray(parent)) throw mismatch('the parent is not an array');
  const i = slot(parent, c.index);
  if (i < 0) throw enoent(`no element [${c.index}]`);
  parent[i] = value;
}

/** DELETE of a path (not the whole document). */
export function remove(root: JVal, path: readonly PathComponent[]): void {
  const c = last(path);
  const parent = parentOf(root, path, false);
  if (c.kind === 'key') {
    if (!(parent instanceof Map)) throw mismatch('the parent is not an object');
    if (!parent.delete(c.key)) throw enoent(`'${c.key}' does not exist`);
    return;
  }
  if (!Array.isArray(parent)) throw mismatch('the parent is not an array');
  const i = slot(parent, c.index);
  if (i < 0) throw enoent(`no element [${c.index}]`);
  parent.splice(i, 1);
}

/** The array at `path`, created empty when missing and `mkdir` (docs: PUSH_* with MKDIR_P). */
function arrayAt(root: JVal, path: readonly PathComponent[], mkdir: boolean): JVal[] {
  if (path.length === 0) {
    if (!Array.isArray(root)) throw mismatch('the document root is not an array');
    return root;
  }
  const parent = parentOf(root, path, mkdir);
  const c = path[path.length - 1]!;
  let target = child(parent, c);
  if (target === undefined) {
    if (!mkdir || c.kind !== 'key') throw enoent('the array does not exist');
    target = [];
    (parent as JObject).set(c.key, target);
  }
  if (!Array.isArray(target)) throw mismatch('the path is not an array');
  return target;
}

/** ARRAY_PUSH_LAST / ARRAY_PUSH_FIRST of one or more values. */
export function arrayPush(root: JVal, path: readonly PathComponent[], values: JVal[], mkdir: boolean, first: boolean): void {
  checkDepth([...path, { kind: 'index', index: 0 }], values);
  const arr = arrayAt(root, path, mkdir);
  if (first) arr.unshift(...values);
  else arr.push(...values);
}

/** ARRAY_INSERT: the path ends in the index the values go to (0..length). */
export function arrayInsert(root: JVal, path: readonly PathComponent[], values: JVal[]): void {
  const c = last(path);
  if (c.kind !== 'index' || c.index < 0) throw new SubdocError('SubdocPathEinval', 'ARRAY_INSERT needs a path ending in a non-negative index');
  checkDepth(path, values);
  const parent = parentOf(root, path, false);
  if (!Array.isArray(parent)) throw mismatch('the parent is not an array');
  if (c.index > parent.length) throw enoent(`index ${c.index} is past the end of the array`);
  parent.splice(c.index, 0, ...values);
}

/** ARRAY_ADD_UNIQUE of one primitive. */
export function arrayAddUnique(root: JVal, path: readonly PathComponent[], values: JVal[], mkdir: boolean): void {
  if (values.length !== 1 || isContainer(values[0])) throw new SubdocError('SubdocValueCantinsert', 'ARRAY_ADD_UNIQUE takes one JSON primitive');
  const value = values[0]!;
  const arr = arrayAt(root, path, mkdir);
  const text = stringify(value);
  for (const e of arr) {
    if (isContainer(e)) throw mismatch('the array holds non-primitive values');
    if (stringify(e) === text) throw new SubdocError('SubdocPathEexists', 'the value is already in the array');
  }
  arr.push(value);
}

/**
 * A COUNTER delta: a non-zero int64 in decimal, an optional '-' and no leading zero or '+'
 * (subjson operations.cc `parse_int64`: from_chars, leading zeros refused).
 */
export function parseDelta(text: string): bigint {
  if (!/^-?[1-9][0-9]{0,18}$/.test(text)) throw new SubdocError('SubdocDeltaEinval', 'the delta is not an integer');
  const delta = BigInt(text);
  if (delta === 0n || delta < INT64_MIN || delta > INT64_MAX) throw new SubdocError('SubdocDeltaEinval', 'the delta must be a non-zero int64');
  return delta;
}

/** COUNTER: add `delta` to the integer at `path` (created as `delta` when missing); the new value. */
export function counter(root: JVal, path: readonly PathComponent[], delta: bigint, mkdir: boolean): bigint {
  const c = last(path);
  const parent = parentOf(root, path, mkdir);
  const current = child(parent, c);
  if (current === undefined) {
    if (c.kind !== 'key') throw enoent(`no element [${c.index}]`);
    (parent as JObject).set(c.key, new JNum(delta.toString()));
    return delta;
  }
  if (!(current instanceof JNum) || !/^-?[0-9]+$/.test(current.text)) throw mismatch('the value is not an integer');
  const old = BigInt(current.text);
  if (old < INT64_MIN || old > INT64_MAX) throw new SubdocError('SubdocNumErange', 'the number does not fit in an int64');
  const next = old + delta;
  if (next < INT64_MIN || next > INT64_MAX) throw new SubdocError('SubdocValueCantinsert', 'the result would overflow an int64');
  const n = new JNum(next.toString());
  if (c.kind === 'key') (parent as JObject).set(c.key, n);
  else (parent as JVal[])[slot(parent as JVal[], c.index)] = n;
  return next;
}
