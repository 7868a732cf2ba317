/**
 * JSON with update sequences kept exactly as the peer sent them.
 *
 * Sequences are opaque tokens (couch_replicator echoes them back untouched): strings from CouchDB
 * 2+ and Sync Gateway, numbers from CouchDB 1.x, PouchDB and pouchdb-server. A number above 2^53
 * does not survive JSON.parse (12345678901234567891 becomes ...7000), and a checkpoint or a
 * `since=` built from the rounded value points somewhere else: jiffy (CouchDB's JSON) keeps such
 * integers exact. Node 20 has neither JSON.parse source access nor JSON.rawJSON, so:
 *
 * - `parseJson`: an integer literal too big for a double is wrapped (before parsing) in a marker
 *   string; under a seq key (SEQ_KEYS) it becomes a `BigSeq` holding the literal, anywhere else a
 *   plain number as JSON.parse would give (document bodies keep their usual JS meaning).
 *   Texts without a run of 16 digits, almost all, go straight to JSON.parse.
 * - `stringifyJson`: JSON.stringify that writes a `BigSeq` back as its literal, unquoted.
 * - a `BigSeq` serialised by plain JSON.stringify (views, a local database) is its literal as a
 *   string: exact, only the JSON type differs, and `since=` sends strings raw, so it still resumes.
 */
import { randomBytes } from 'node:crypto';

/** A numeric seq too large for a double, as the literal the peer sent. */
export class BigSeq {
  constructor(readonly raw: string) {}

  toJSON(): string {
    return this.raw;
  }

  toString(): string {
    return this.raw;
  }
}

/** Keys whose value is an update sequence (changes rows, checkpoint documents, db info). */
export const SEQ_KEYS: ReadonlySet<string> = new Set([
  'seq',
  'last_seq',
  'since',
  'since_seq',
  'source_last_seq',
  'start_last_seq',
  'end_last_seq',
  'recorded_seq',
  'update_seq',
  'committed_update_seq',
  'checkpointed_source_seq',
  'through_seq',
]);

const MARK = `\u0000freshet-big-${randomBytes(6).toString('hex')}:`;
const MARK_JSON = JSON.stringify(MARK).slice(1, -1); // as JSON.stringify writes it
const HAS_LONG_DIGITS = /\d{16}/;
const MARKED = new RegExp(`"${MARK_JSON.replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g');

/** Wrap every integer literal a double cannot hold in a marker string (outside strings only). */
function markBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      // a string: skip to its closing quote
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i += 2;
        else if (c === 0x22) break;
        else i++;
      }
      i++;
    } else if (ch === 0x2d || (ch >= 0x30 && ch <= 0x39)) {
      const start = i;
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) i++;
        else break;
      }
      const tok = text.slice(start, i);
      if (/^-?\d{16,}$/.test(tok) && !Number.isSafeInteger(Number(tok))) {
        out += text.slice(last, start) + JSON.stringify(MARK + tok);
        last = i;
      }
    } else i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** JSON.parse, except that big integer seqs stay exact (`BigSeq`). Throws SyntaxError like it. */
export function parseJson(text: string): unknown {
  if (!HAS_LONG_DIGITS.test(text)) return JSON.parse(text);
  const marked = markBigIntegers(text);
  if (marked === text) return JSON.parse(text);
  return JSON.parse(marked, (key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(MARK)) return value;
    const literal = value.slice(MARK.length);
    return SEQ_KEYS.has(key) ? new BigSeq(literal) : Number(literal);
  });
}

/** JSON.stringify, writing each `BigSeq` as the bare number it was. */
export function stringifyJson(value: unknown): string {
  let found = false;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    if (original instanceof BigSeq) {
      found = true;
      return MARK + original.raw;
    }
    return v;
  });
  return found ? text.replace(MARKED, '$1') : text;
}
