// A minimal Erlang external term format encoder, just enough to reproduce
// `term_to_binary(Term, [{minor_version, 1}])` for the terms CouchDB hashes
// when it generates a revision id (couch_db.erl `new_revid/1`).
//
// Format reference: erts/doc "External Term Format". Tags used by OTP for
// these terms with minor_version 1 (atoms stay Latin-1 ATOM_EXT, floats are
// NEW_FLOAT_EXT):
//   131                       version magic, once at the start
//   97  SMALL_INTEGER_EXT     u8
//   98  INTEGER_EXT           i32 big-endian
//   110 SMALL_BIG_EXT         u8 n, u8 sign, n bytes little-endian magnitude
//   70  NEW_FLOAT_EXT         IEEE-754 f64 big-endian
//   100 ATOM_EXT              u16 length, Latin-1 bytes
//   104 SMALL_TUPLE_EXT       u8 arity, elements
//   106 NIL_EXT               the empty list
//   107 STRING_EXT            u16 length, bytes: a list of integers 0..255
//   108 LIST_EXT              u32 length, elements, tail (NIL_EXT)
//   109 BINARY_EXT            u32 length, bytes
//
// CouchDB bodies are "EJSON" (jiffy): objects are `{[{Key, Value}]}` (a
// 1-tuple holding a proplist), strings and keys are UTF-8 binaries, numbers
// are integers or floats, and true/false/null are atoms.
import { CouchError } from './errors.js';

export type ErlTerm =
  | { t: 'atom'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number }
  | { t: 'bin'; v: Uint8Array }
  | { t: 'tuple'; v: ErlTerm[] }
  | { t: 'list'; v: ErlTerm[] };

export const atom = (v: string): ErlTerm => ({ t: 'atom', v });
export const int = (v: number | bigint): ErlTerm => ({ t: 'int', v: BigInt(v) });
export const bin = (v: Uint8Array | string): ErlTerm => ({
  t: 'bin',
  v: typeof v === 'string' ? Buffer.from(v, 'utf8') : v,
});
export const tuple = (...v: ErlTerm[]): ErlTerm => ({ t: 'tuple', v });
export const list = (v: ErlTerm[]): ErlTerm => ({ t: 'list', v });

/**
 * Converts a JSON value the way jiffy decodes it. JSON.parse has already lost
 * the difference between `1` and `1.0`, so an integral number becomes an
 * Erlang integer (CouchDB would see a float for `1.0`): the only known case
 * where our revision ids differ from CouchDB's for the same edit.
 */
export function ejson(value: unknown): ErlTerm {
  if (value === null) return atom('null');
  if (value === true) return atom('true');
  if (value === false) return atom('false');
  if (typeof value === 'string') return bin(value);
  if (typeof value === 'number') {
    // A number beyond a double (1e400) parsed as Infinity: jiffy refuses such a body as invalid
    // JSON (chttpd:json_body/1, 400 "invalid UTF-8 JSON").
    if (!Number.isFinite(value)) throw new CouchError('invalid_json');
    return Number.isInteger(value) ? int(BigInt(value)) : { t: 'float', v: value };
  }
  if (Array.isArray(value)) return list(value.map(ejson));
  if (typeof value === 'object') {
    const props = Object.entries(value as Record<string, unknown>).map(([k, v]) => tuple(bin(k), ejson(v)));
    return tuple(list(props));
  }
  throw new TypeError(`cannot encode ${typeof value} as EJSON`);
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

class Out {
  #chunks: Buffer[] = [];
  bytes(b: Uint8Array): void {
    this.#chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  u8(...values: number[]): void {
    this.#chunks.push(Buffer.from(values));
  }
  u16(n: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    this.#chunks.push(b);
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.#chunks.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

function isByteList(items: ErlTerm[]): boolean {
  // OTP writes a list of small integers as STRING_EXT (u16 length).
  return (
    items.length > 0 && items.length <= 0xffff && items.every((i) => i.t === 'int' && i.v >= 0n && i.v <= 255n)
  );
}

function encodeInt(out: Out, v: bigint): void {
  if (v >= 0n && v <= 255n) {
    out.u8(97, Number(v));
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    const b = Buffer.alloc(5);
    b[0] = 98;
    b.writeInt32BE(Number(v), 1);
    out.bytes(b);
  } else {
    const sign = v < 0n ? 1 : 0;
    let mag = v < 0n ? -v : v;
    const digits: number[] = [];
    while (mag > 0n) {
      digits.push(Number(mag & 0xffn));
      mag >>= 8n;
    }
    if (digits.length > 255) throw new RangeError('integer too large for SMALL_BIG_EXT');
    out.u8(110, digits.length, sign, ...digits);
  }
}

function encode(out: Out, term: ErlTerm): void {
  switch (term.t) {
    case 'atom': {
      const name = Buffer.from(term.v, 'latin1');
      out.u8(100);
      out.u16(name.length);
      out.bytes(name);
      return;
    }
    case 'int':
      encodeInt(out, term.v);
      return;
    case 'float': {
      const b = Buffer.alloc(9);
      b[0] = 70;
      b.writeDoubleBE(term.v, 1);
      out.bytes(b);
      return;
    }
    case 'bin':
      out.u8(109);
      out.u32(term.v.byteLength);
      out.bytes(term.v);
      return;
    case 'tuple':
      if (term.v.length > 255) throw new RangeError('tuple too large for SMALL_TUPLE_EXT');
      out.u8(104, term.v.length);
      for (const item of term.v) encode(out, item);
      return;
    case 'list':
      if (term.v.length === 0) {
        out.u8(106);
      } else if (isByteList(term.v)) {
        out.u8(107);
        out.u16(term.v.length);
        out.bytes(Uint8Array.from(term.v, (i) => (i.t === 'int' ? Number(i.v) : 0)));
      } else {
        out.u8(108);
        out.u32(term.v.length);
        for (const item of term.v) encode(out, item);
        out.u8(106);
      }
      return;
  }
}

/** `term_to_binary(Term, [{minor_version, 1}])`. */
export function termToBinary(term: ErlTerm): Buffer {
  const out = new Out();
  out.u8(131);
  encode(out, term);
  return out.done();
}
