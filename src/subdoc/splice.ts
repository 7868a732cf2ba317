/**
 * Sub-document mutations as edits of the document text, as subjson makes them: it finds where the
 * path lands in the bytes and splices the new value in (or the old one out), so everything the
 * operation does not touch stays byte for byte: whitespace, member order, repeated names, a
 * number's spelling, string escapes (subjson operations.cc `do_store_dict`, `do_mkdir_p`,
 * `do_remove`, `do_list_append`, `do_list_prepend`, `do_insert`, `do_arith_op`). The value goes in
 * as the client sent it.
 *
 * The tree operations (ops.ts) decide whether a spec succeeds and with which status; this module
 * only builds the next text of a spec that succeeded, from the places the parser recorded
 * (json-tree.ts `layoutOf`), taken before the tree operation changed anything.
 */
import { Opcode } from '../codec/opcodes.js';
import { layoutOf, type JVal } from '../codec/json-tree.js';
import type { PathComponent } from './path.js';

interface Span {
  readonly start: number;
  readonly end: number;
}

/** Where a path lands: the match, or the deepest container on the way that exists. */
interface Located {
  readonly complete: boolean;
  /** Components resolved: the path's length when complete. */
  readonly depth: number;
  /** The match, or the deepest existing container. */
  readonly node: JVal;
  readonly span: Span;
  /** Complete, in an object: where the member's name starts. */
  readonly keyStart: number | undefined;
  /** Complete: the other elements of the parent; else the elements of `node`. */
  readonly siblings: number;
  /** Complete: no element follows the match in its parent. */
  readonly last: boolean;
}

function elements(v: JVal): number {
  return layoutOf(v)?.members.length ?? 0;
}

/** Walk `path` through the parsed `root` (subjson match.cc: the first member of a name matches). */
export function locate(root: JVal, path: readonly PathComponent[]): Located {
  const rootLayout = layoutOf(root);
  let node = root;
  let span: Span = rootLayout ?? { start: 0, end: 0 };
  let keyStart: number | undefined;
  let siblings = 0;
  let last = true;
  for (let depth = 0; depth < path.length; depth++) {
    const c = path[depth]!;
    const layout = layoutOf(node);
    const members = layout?.members ?? [];
    let i = -1;
    if (c.kind === 'key') i = node instanceof Map ? members.findIndex((m) => m.key === c.key) : -1;
    else if (Array.isArray(node)) i = c.index === -1 ? members.length - 1 : c.index < members.length ? c.index : -1;
    const m = members[i];
    if (!m) return { complete: false, depth, node, span, keyStart: undefined, siblings: members.length, last: true };
    node = c.kind === 'key' ? (node as Map<string, JVal>).get(c.key)! : (node as JVal[])[i]!;
    span = m;
    keyStart = c.kind === 'key' ? m.keyStart : undefined;
    siblings = members.length - 1;
    last = i === members.length - 1;
  }
  return { complete: true, depth: path.length, node, span, keyStart, siblings, last };
}

const replaceSpan = (doc: string, span: Span, value: string): string => doc.slice(0, span.start) + value + doc.slice(span.end);

/** Before an element: the value and a comma (do_list_prepend, do_insert). */
const insertBefore = (doc: string, span: Span, value: string): string => `${doc.slice(0, span.start)}${value},${doc.slice(span.start)}`;

/**
 * Into an array, at its end: right before the closing bracket, after a comma unless it is empty
 * (do_list_append, insert_singleton_element).
 */
const appendTo = (doc: string, array: Span, count: number, value: string): string =>
  count === 0 ? doc.slice(0, array.start + 1) + value + doc.slice(array.end - 1) : `${doc.slice(0, array.end - 1)},${value}${doc.slice(array.end - 1)}`;

/**
 * A new member of the deepest existing object, with the objects the rest of the path needs (and
 * an array around the value for the array pushes), before its closing brace (do_mkdir_p; with
 * the object itself as the parent it is do_store_dict's insertion).
 */
function createMember(doc: string, at: Located, path: readonly PathComponent[], value: string, inArray: boolean): string {
  const names = path.slice(at.depth).map((c) => (c.kind === 'key' ? (c.text ?? JSON.stringify(c.key).slice(1, -1)) : ''));
  let text = `${at.siblings > 0 ? ',' : ''}"${names[0]}":`;
  for (const name of names.slice(1)) text += `{"${name}":`;
  text += inArray ? `[${value}]` : value;
  text += '}'.repeat(names.length - 1);
  return doc.slice(0, at.span.end - 1) + text + doc.slice(at.span.end - 1);
}

/**
 * Out of its parent: from the member's name (or the element) to its end, with the comma before it
 * when it is the last element, else the comma after it (do_remove `strip_comma`).
 */
function removeMatch(doc: string, at: Located): string {
  let before = doc.slice(0, at.keyStart ?? at.span.start);
  let after = doc.slice(at.span.end);
  if (at.siblings > 0) {
    if (at.last) before = before.slice(0, before.lastIndexOf(','));
    else after = after.slice(after.indexOf(',') + 1);
  }
  return before + after;
}

const isJsonWs = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * ARRAY_PUSH_LAST on the root: subjson does not parse, it finds the closing bracket and the last
 * significant character before it (do_empty_append), dropping the whitespace between them and
 * after the bracket.
 */
function appendToRoot(doc: string, value: string): string {
  let close = doc.length - 1;
  while (close > 0 && /\s/.test(doc[close]!)) close--;
  let prev = close - 1;
  while (prev > 0 && isJsonWs(doc[prev])) prev--;
  const head = doc.slice(0, prev + 1);
  return doc[prev] === '[' || doc[prev] === ',' ? `${head}${value}]` : `${head},${value}]`;
}

/**
 * The document text after one body spec that succeeded on the tree. `at` is where the spec's path
 * landed in `root` before the operation (for ARRAY_PUSH_FIRST, the path with `[0]` added);
 * `value` is the spec's value as sent, or the COUNTER's result.
 */
export function spliceBody(doc: string, opcode: number, path: readonly PathComponent[], at: Located, value: string): string {
  switch (opcode) {
    case Opcode.SubdocDictAdd:
    case Opcode.SubdocDictUpsert:
    case Opcode.SubdocReplace:
    case Opcode.SubdocCounter:
      return at.complete ? replaceSpan(doc, at.span, value) : createMember(doc, at, path, value, false);
    case Opcode.SubdocDelete:
      return removeMatch(doc, at);
    case Opcode.SubdocArrayPushLast:
    case Opcode.SubdocArrayAddUnique:
      if (opcode === Opcode.SubdocArrayPushLast && path.length === 0) return appendToRoot(doc, value);
      return at.complete ? appendTo(doc, at.span, elements(at.node), value) : createMember(doc, at, path, value, true);
    case Opcode.SubdocArrayPushFirst:
      // `at` is for the path and [0]: the first element, the empty array, or a missing array.
      if (at.complete) return insertBefore(doc, at.span, value);
      return at.depth === path.length ? appendTo(doc, at.span, 0, value) : createMember(doc, at, path, value, true);
    case Opcode.SubdocArrayInsert:
      // An existing element, or the end of the array (the index is its length).
      return at.complete ? insertBefore(doc, at.span, value) : appendTo(doc, at.span, at.siblings, value);
    default:
      throw new Error(`opcode 0x${opcode.toString(16)} is not a body mutation`);
  }
}
