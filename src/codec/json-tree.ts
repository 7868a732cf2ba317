/**
 * A JSON tree that keeps what a text edit keeps, with its own parser and serializer: the model the
 * sub-document operations (src/subdoc) work on, and what xattrs are rewritten through (xattr.ts).
 *
 * `JSON.parse` would lose what kv_engine's subjson keeps, since subjson edits the document text
 * in place: integers above 2^53 (a COUNTER is int64, kv docs/SubDocument.md "Arithmetic
 * Operations"), a number's spelling (`1.0` stays `1.0`, ARRAY_ADD_UNIQUE compares text), and the
 * order of object members (a JS object moves integer-like keys first). So numbers stay their
 * source text (`JNum`) and objects are Maps in document order. Strings go through `JSON.parse`
 * / `JSON.stringify` one token at a time; a string value written otherwise than `JSON.stringify`
 * would write it (`"caf\u00e9"`, `"a\/b"`) keeps its text (`JStr`), as subjson returns and keeps
 * the bytes of the document (member names are decoded).
 *
 * `MacroRef` is a value that is only known once the write has its CAS and seqno (`${Mutation.CAS}`
 * and friends, kv subdocument_context.cc `pre_link_document`); `stringify` asks its resolver.
 */

import { JsonDepthError, JsonSyntaxError } from './errors.js';

export class JNum {
  constructor(readonly text: string) {}
}

/** A string value whose source text is not `JSON.stringify`'s spelling: that text, quotes included. */
export class JStr {
  constructor(readonly text: string) {}
}

export class MacroRef {
  constructor(readonly name: string) {}
}

export type JVal = null | boolean | string | JNum | JStr | MacroRef | JVal[] | JObject;

/**
 * One element of a parsed container as the text holds it: an array element, or an object member
 * (`keyStart` at its name's opening quote, `key` the decoded name). Repeated member names are all
 * listed, in document order, though the tree keeps the first only.
 */
export interface Member {
  readonly key?: string;
  readonly keyStart: number;
  readonly start: number;
  readonly end: number;
}

/** Where a parsed container came from: its text as written, and its elements' places in it. */
export interface Layout {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly members: readonly Member[];
}

const SOURCES = new WeakMap<object, Layout>();

/** The layout of a container as parsed (undefined for one built or changed since). */
export function layoutOf(v: JVal): Layout | undefined {
  return v !== null && typeof v === 'object' ? SOURCES.get(v) : undefined;
}

/**
 * A value's text as the parsed document holds it (a container's whitespace included, which
 * `stringify` drops): what subjson answers for a lookup, the matched bytes. Only for values not
 * changed since they were parsed; callers that edit use `stringify`.
 */
export function sourceText(v: JVal): string {
  const at = v !== null && typeof v === 'object' ? SOURCES.get(v) : undefined;
  return at ? at.text.slice(at.start, at.end) : stringify(v);
}
export type JObject = Map<string, JVal>;

/** Nesting limit of subjson (kv docs: DOC_E2DEEP / VALUE_ETOODEEP beyond 32 levels). */
export const MAX_JSON_DEPTH = 32;

export { JsonSyntaxError, JsonDepthError };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS = /[ \t\n\r]*/y;

class Parser {
  at = 0;
  constructor(readonly text: string) {}

  ws(): void {
    WS.lastIndex = this.at;
    WS.exec(this.text);
    this.at = WS.lastIndex;
  }

  fail(what: string): never {
    throw new JsonSyntaxError(`${what} at offset ${this.at}`);
  }

  value(depth: number): JVal {
    this.ws();
    const c = this.text[this.at];
    if (c === '{' || c === '[') {
      if (depth >= MAX_JSON_DEPTH) throw new JsonDepthError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      const start = this.at;
      const members: Member[] = [];
      const v = c === '{' ? this.object(depth + 1, members) : this.array(depth + 1, members);
      SOURCES.set(v, { text: this.text, start, end: this.at, members });
      return v;
    }
    if (c === '"') return this.stringValue();
    if (this.text.startsWith('true', this.at)) return (this.at += 4), true;
    if (this.text.startsWith('false', this.at)) return (this.at += 5), false;
    if (this.text.startsWith('null', this.at)) return (this.at += 4), null;
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('unexpected character');
    this.at = NUMBER.lastIndex;
    return new JNum(m[0]);
  }

  stringValue(): string | JStr {
    const start = this.at;
    const decoded = this.string();
    const raw = this.text.slice(start, this.at);
    return JSON.stringify(decoded) === raw ? decoded : new JStr(raw);
  }

  string(): string {
    STRING.lastIndex = this.at;
    const m = STRING.exec(this.text);
    if (!m) this.fail('bad string');
    this.at = STRING.lastIndex;
    return JSON.parse(m[0]) as string;
  }

  object(depth: number, members: Member[]): JObject {
    const out: JObject = new Map();
    this.at++;
    this.ws();
    if (this.text[this.at] === '}') return this.at++, out;
    for (;;) {
      this.ws();
      if (this.text[this.at] !== '"') this.fail('expected a member name');
      const keyStart = this.at;
      const key = this.string();
      this.ws();
      if (this.text[this.at] !== ':') this.fail("expected ':'");
      this.at++;
      this.ws();
      const start = this.at;
      const v = this.value(depth);
      members.push({ key, keyStart, start, end: this.at });
      // A repeated member name: the first one is the member, as subjson's matcher finds it first.
      if (!out.has(key)) out.set(key, v);
      this.ws();
      const c = this.text[this.at++];
      if (c === '}') return out;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  array(depth: number, members: Member[]): JVal[] {
    const out: JVal[] = [];
    this.at++;
    this.ws();
    if (this.text[this.at] === ']') return this.at++, out;
    for (;;) {
      this.ws();
      const start = this.at;
      out.push(this.value(depth));
      members.push({ keyStart: start, start, end: this.at });
      this.ws();
      const c = this.text[this.at++];
      if (c === ']') return out;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }
}

/** Parse one JSON value (the whole text); JsonSyntaxError / JsonDepthError otherwise. */
export function parseJson(text: string, depth = 0): JVal {
  const p = new Parser(text);
  const v = p.value(depth);
  p.ws();
  if (p.at !== text.length) p.fail('trailing characters');
  return v;
}

/** Parse `a, b, c` (the multi-value form of the array pushes, kv docs "[ VALUE ]"). */
export function parseJsonList(text: string, depth = 0): JVal[] {
  const v = parseJson(`[${text}]`, depth - 1);
  return v as JVal[];
}

export type MacroResolver = (name: string) => string;

/** Compact JSON text of a value; MacroRef values become `resolve(name)` (already JSON text). */
export function stringify(v: JVal, resolve?: MacroResolver): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof JNum || v instanceof JStr) return v.text;
  if (v instanceof MacroRef) {
    if (!resolve) throw new Error(`unresolved macro ${v.name}`);
    return resolve(v.name);
  }
  if (Array.isArray(v)) return `[${v.map((x) => stringify(x, resolve)).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of v) parts.push(`${JSON.stringify(k)}:${stringify(x, resolve)}`);
  return `{${parts.join(',')}}`;
}

/** Nesting depth of a value: 0 for a primitive, 1 for `[]`, and so on. */
export function depthOf(v: JVal): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((m, x) => Math.max(m, depthOf(x)), 0);
  if (v instanceof Map) {
    let m = 0;
    for (const x of v.values()) m = Math.max(m, depthOf(x));
    return 1 + m;
  }
  return 0;
}

export function isContainer(v: JVal | undefined): v is JVal[] | JObject {
  return Array.isArray(v) || v instanceof Map;
}

/** A plain JS value from the model (tests and the vattr builders' inverse). */
export function fromPlain(v: unknown): JVal {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new JNum(String(v));
  if (Array.isArray(v)) return v.map(fromPlain);
  if (typeof v === 'object') return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromPlain(x)]));
  throw new TypeError(`not representable in JSON: ${typeof v}`);
}
