/**
 * View keys as bytes whose memcmp order is CouchDB's view collation (src/couch/collate.ts:
 * null < false < true < numbers < strings < arrays < objects; strings by the Unicode Collation
 * Algorithm, ICU root), so that an LMDB range read returns rows in view order without a custom
 * comparator (lmdb-js has none).
 *
 * Strings: ICU offers no sort keys to JavaScript, so one is derived from the same `Intl.Collator`
 * that collate.ts uses. Every BMP code point is sorted once (about 70 ms, on first use) and given
 * three ranks: primary (base letter; 0 = ignorable), secondary (accent) and tertiary (case) within
 * its class. A string is NFD-normalized (so "é" and "e\u0301" are the same key, as in ICU) and
 * encoded as UCA sort keys are: all primaries (2 bytes each), 00 00, all secondaries, 00, all
 * tertiaries, 00. This agrees with `collate` for strings whose characters collate one by one, which
 * covers the alphabetic scripts; expansions and contractions (e.g. "æ" sorting as "ae") and
 * characters above U+FFFF (after every BMP character here, in code point order) may differ.
 * `COLLATION_FINGERPRINT` changes with the ICU table, and an index built under another one is
 * rebuilt (index.ts), as CouchDB tracks its collator version.
 *
 * Other types: a tag byte; numbers as order-preserving IEEE doubles (-0 as 0); arrays and objects
 * as their members followed by 00 (lower than any tag, so a prefix sorts first); object members
 * as key string then value, pair by pair, as collate compares them.
 */
import { createHash } from 'node:crypto';

const END = 0x00;
const T_NULL = 0x01;
const T_FALSE = 0x02;
const T_TRUE = 0x03;
const T_NUM = 0x04;
const T_STR = 0x05;
const T_ARR = 0x06;
const T_OBJ = 0x07;

interface Table {
  primary: Uint16Array;
  secondary: Uint8Array;
  tertiary: Uint8Array;
  /** First primary weight above the BMP ones (for supplementary characters). */
  beyond: number;
  fingerprint: string;
}

let table: Table | null = null;
const ASCII = /^[\x00-\x7f]*$/;

function buildTable(): Table {
  const base = new Intl.Collator('und', { usage: 'sort', sensitivity: 'base' });
  const accent = new Intl.Collator('und', { usage: 'sort', sensitivity: 'accent' });
  const full = new Intl.Collator('und', { usage: 'sort', sensitivity: 'variant' });
  const chars: string[] = [];
  for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) chars.push(String.fromCharCode(c));
  chars.sort(full.compare);
  const primary = new Uint16Array(0x10000);
  const secondary = new Uint8Array(0x10000);
  const tertiary = new Uint8Array(0x10000);
  let p = 0;
  let s = 0;
  let t = 0;
  let prev = '';
  for (const ch of chars) {
    const ignorable = base.compare(ch, '') === 0;
    if (prev !== '') {
      if (base.compare(prev, ch) !== 0) {
        if (!ignorable) p++;
        s = 0;
        t = 0;
      } else if (accent.compare(prev, ch) !== 0) {
        s = Math.min(s + 1, 254);
        t = 0;
      } else if (full.compare(prev, ch) !== 0) t = Math.min(t + 1, 254);
    }
    const code = ch.charCodeAt(0);
    primary[code] = ignorable ? 0 : p;
    secondary[code] = full.compare(ch, '') === 0 ? 0 : s + 1;
    tertiary[code] = full.compare(ch, '') === 0 ? 0 : t + 1;
    prev = ch;
  }
  const fingerprint = createHash('sha1').update(primary).update(secondary).update(tertiary).digest('hex').slice(0, 16);
  return { primary, secondary, tertiary, beyond: p + 1, fingerprint };
}

function tbl(): Table {
  table ??= buildTable();
  return table;
}

/** Identifies the string table (ICU version): indexes record it and are rebuilt when it changes. */
export function collationFingerprint(): string {
  return tbl().fingerprint;
}

/** A growable byte buffer for encoding. */
class Out {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }
}

function putString(out: Out, s: string): void {
  const t = tbl();
  // NFD changes only non-ASCII text; the check is much cheaper than normalizing.
  const n = ASCII.test(s) ? s : s.normalize('NFD');
  out.room(n.length * 6 + 5);
  const b = out.buf;
  let i = out.len;
  b[i++] = T_STR;
  for (let k = 0; k < n.length; k++) {
    const c = n.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff && k + 1 < n.length) {
      // A supplementary character: after the BMP, in code point order (two weights).
      const cp = n.codePointAt(k)!;
      k++;
      const hi = t.beyond + ((cp - 0x10000) >> 10) + 1;
      b[i++] = hi >> 8;
      b[i++] = hi & 0xff;
      const lo = ((cp - 0x10000) & 0x3ff) + 1;
      b[i++] = lo >> 8;
      b[i++] = lo & 0xff;
      continue;
    }
    const w = t.primary[c]!;
    if (w === 0) continue;
    b[i++] = w >> 8;
    b[i++] = w & 0xff;
  }
  b[i++] = END;
  b[i++] = END;
  for (let k = 0; k < n.length; k++) {
    const w = t.secondary[n.charCodeAt(k)]!;
    if (w !== 0) b[i++] = w;
  }
  b[i++] = END;
  for (let k = 0; k < n.length; k++) {
    const w = t.tertiary[n.charCodeAt(k)]!;
    if (w !== 0) b[i++] = w;
  }
  b[i++] = END;
  out.len = i;
}

const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);

function putNumber(out: Out, x: number): void {
  out.room(9);
  out.buf[out.len++] = T_NUM;
  f64[0] = x === 0 ? 0 : x;
  // Big-endian, sign bit flipped for positives, all bits flipped for negatives.
  const neg = (f64bytes[7]! & 0x80) !== 0;
  for (let k = 7; k >= 0; k--) {
    const v = f64bytes[k]!;
    out.buf[out.len++] = neg ? ~v & 0xff : k === 7 ? v ^ 0x80 : v;
  }
}

function put(out: Out, v: unknown): void {
  if (v === null || v === undefined) out.byte(T_NULL);
  else if (v === false) out.byte(T_FALSE);
  else if (v === true) out.byte(T_TRUE);
  else if (typeof v === 'number') putNumber(out, v);
  else if (typeof v === 'string') putString(out, v);
  else if (Array.isArray(v)) {
    out.byte(T_ARR);
    for (const e of v) put(out, e);
    out.byte(END);
  } else if (typeof v === 'object') {
    out.byte(T_OBJ);
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      putString(out, k);
      put(out, e);
    }
    out.byte(END);
  } else out.byte(T_NULL);
}

const shared = new Out();

/** The collation-ordered bytes of a JSON value (a fresh buffer). */
export function encodeKey(v: unknown): Buffer {
  shared.len = 0;
  put(shared, v);
  return Buffer.from(shared.buf.subarray(0, shared.len));
}
