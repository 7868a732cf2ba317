// CouchDB's two orderings of JSON values.
//
// 1. View collation (`collate`): used by views and by Mango comparison
//    operators (mango_json:cmp/2 -> couch_ejson_compare:less/2). Type order
//    null < false < true < numbers < strings < arrays < objects; strings by
//    the Unicode Collation Algorithm (ICU root locale: "a" < "A" < "b");
//    arrays element by element, a prefix first; objects key/value pair by
//    pair, fewer pairs first. Docs: src/docs/src/ddocs/views/collation.rst.
//
// 2. Raw order (`compareRaw`, `compareDocIds`): Erlang term order. `_all_docs`
//    (and `_changes?filter=_doc_ids`, and Mango on `_id`, mango_json:cmp_raw/2)
//    orders document ids this way, which for strings is UTF-8 byte order, i.e.
//    Unicode code point order: "Z" < "_design/x" < "a" (CouchDB mailing list,
//    Jan Lehnardt 2015: "_all_docs is sorted raw, that is by Erlang binary
//    comparison rules"). For other JSON values Erlang orders
//    number < atom (false < null < true) < tuple (object) < [] < list < binary.
//
// JavaScript's own `<` on strings compares UTF-16 code units, which differs
// from code point order for characters above U+FFFF; `compareDocIds` fixes it.

/**
 * Made on the first string comparison: creating it loads ICU's collation data, about 8 ms of every
 * start (issue #13's start-up target) for servers that may never sort a view or run a Mango query.
 */
let collator: Intl.Collator | undefined;
const icu = (): Intl.Collator => (collator ??= new Intl.Collator('und', { usage: 'sort', sensitivity: 'variant' }));

function viewTypeRank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (v === false) return 1;
  if (v === true) return 2;
  if (typeof v === 'number') return 3;
  if (typeof v === 'string') return 4;
  if (Array.isArray(v)) return 5;
  return 6;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** CouchDB view collation of two JSON values: -1, 0 or 1. */
export function collate(a: unknown, b: unknown): number {
  const ra = viewTypeRank(a);
  const rb = viewTypeRank(b);
  if (ra !== rb) return sign(ra - rb);
  switch (ra) {
    case 3:
      return sign((a as number) - (b as number));
    case 4:
      return sign(icu().compare(a as string, b as string));
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = collate(x[i], y[i]);
        if (c !== 0) return c;
      }
      return sign(x.length - y.length);
    }
    case 6: {
      const x = Object.entries(a as Record<string, unknown>);
      const y = Object.entries(b as Record<string, unknown>);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const k = collate(x[i][0], y[i][0]);
        if (k !== 0) return k;
        const v = collate(x[i][1], y[i][1]);
        if (v !== 0) return v;
      }
      return sign(x.length - y.length);
    }
    default:
      return 0;
  }
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

/** Code point (= UTF-8 byte) order of two strings: -1, 0 or 1. */
export function compareDocIds(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = isSurrogate(ca);
    const sb = isSurrogate(cb);
    // A surrogate encodes a code point above U+FFFF, so it sorts after any
    // BMP character even if its code unit is smaller (e.g. U+FF01).
    if (sa !== sb) return sa ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return sign(a.length - b.length);
}

function rawTypeRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (v === false || v === null || v === undefined || v === true) return 1;
  if (typeof v === 'string') return 5;
  if (Array.isArray(v)) return v.length === 0 ? 3 : 4;
  return 2;
}

function atomName(v: unknown): string {
  return v === true ? 'true' : v === false ? 'false' : 'null';
}

/** Erlang term order of two JSON values as CouchDB holds them: -1, 0 or 1. */
export function compareRaw(a: unknown, b: unknown): number {
  const ra = rawTypeRank(a);
  const rb = rawTypeRank(b);
  if (ra !== rb) return sign(ra - rb);
  switch (ra) {
    case 0:
      return sign((a as number) - (b as number));
    case 1: {
      const x = atomName(a);
      const y = atomName(b);
      return x === y ? 0 : x < y ? -1 : 1;
    }
    case 5:
      return compareDocIds(a as string, b as string);
    case 4: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareRaw(x[i], y[i]);
        if (c !== 0) return c;
      }
      return sign(x.length - y.length);
    }
    case 2: {
      // {Props}: a 1-tuple holding a list of {Key, Value} 2-tuples.
      const x = Object.entries(a as Record<string, unknown>);
      const y = Object.entries(b as Record<string, unknown>);
      if (x.length === 0 || y.length === 0) return sign(x.length - y.length);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const k = compareDocIds(x[i][0], y[i][0]);
        if (k !== 0) return k;
        const v = compareRaw(x[i][1], y[i][1]);
        if (v !== 0) return v;
      }
      return sign(x.length - y.length);
    }
    default:
      return 0;
  }
}
