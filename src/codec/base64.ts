/**
 * Base64 as the servers Freshet follows decode it: the standard alphabet (RFC 4648 §4), ASCII
 * whitespace anywhere, and either the complete padding or none; anything else is invalid rather
 * than skipped as Node's decoder skips it. CouchDB refuses such an attachment (couch_att
 * `from_json/2`, `base64:decode/1`); kv_engine's `cb::base64::decode` (simdutf's forgiving
 * base64) refuses such a range scan key (couch/attachments.ts, codec/ops/range-scan.ts).
 */

/** Base64 alphabet (RFC 4648 §4, standard, not URL-safe): 1 for each of A-Z a-z 0-9 + /. */
const ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[c.charCodeAt(0)] = 1;
const PAD = 0x3d; // '='

function isBase64Space(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Whether `text` is strict base64: the standard alphabet, whitespace (space, tab, CR, LF)
 * anywhere, and at the end either the complete padding (`==` after 2 trailing symbols, `=`
 * after 3) or none. One pass over the char codes, no regex: a backtracking pattern over a
 * multi-megabyte attachment overflows V8's regexp stack ("Maximum call stack size exceeded").
 */
export function isBase64(text: string): boolean {
  let symbols = 0;
  let pads = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128 && ALPHABET[code] === 1) {
      if (pads > 0) return false;
      symbols++;
    } else if (code === PAD) {
      if (++pads > 2) return false;
    } else if (!isBase64Space(code)) {
      return false;
    }
  }
  const tail = symbols % 4;
  if (tail === 1) return false;
  return pads === 0 || pads === 4 - tail;
}

/**
 * Strict base64 (see isBase64) to bytes, or null when invalid. Node's decoder skips the
 * whitespace itself, so the (possibly 27 MB) string is not copied first.
 */
export function decodeBase64(text: string): Buffer | null {
  return isBase64(text) ? Buffer.from(text, 'base64') : null;
}
