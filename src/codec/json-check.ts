/**
 * The one JSON admission check, shared by every face: valid UTF-8, valid JSON, and nesting no
 * deeper than a limit (default 100 levels).
 *
 * Why a depth limit: V8's JSON.stringify (and any recursive walk) overflows the stack on values a
 * few thousand levels deep, so one such document, once stored, made every response that carried
 * it fail as a whole. The KV face uses this check the way kv_engine sets the JSON datatype bit:
 * "We do not trust what the client sent - instead we check for ourselves"
 * (daemon/protocol/mcbp/steppable_command_context.cc setDatatypeJSONFromValue): a value that fails
 * is stored as raw bytes. The HTTP face answers 400 instead. CouchDB also refuses invalid UTF-8
 * in a JSON body (chttpd:json_body/1, "invalid UTF-8 JSON"), where Buffer#toString would silently
 * substitute U+FFFD.
 *
 * The depth scan is iterative (a counter, not recursion) and skips string contents, escapes
 * included, so `"[[["` counts nothing; it does not validate, JSON.parse does that afterwards.
 */

export const DEFAULT_MAX_JSON_DEPTH = 100;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of objects and arrays in JSON text (0 for a scalar), scanning at most until
 * it passes `limit` (then it returns `limit + 1`).
 */
export function jsonDepth(bytes: Uint8Array, limit = Number.MAX_SAFE_INTEGER): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
  return max;
}

// ignoreBOM keeps a leading U+FEFF in the text, so JSON.parse still rejects it as before.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of `bytes`, or null when they are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

export type JsonCheckFailure = 'utf8' | 'depth' | 'syntax';
export type JsonCheckResult = { ok: true; value: unknown } | { ok: false; failure: JsonCheckFailure };

/** Parse JSON bytes that pass the admission check (depth is checked before parsing). */
export function parseCheckedJson(bytes: Uint8Array, maxDepth: number): JsonCheckResult {
  if (jsonDepth(bytes, maxDepth) > maxDepth) return { ok: false, failure: 'depth' };
  const text = decodeUtf8Strict(bytes);
  if (text === null) return { ok: false, failure: 'utf8' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, failure: 'syntax' };
  }
}

/** Is `bytes` JSON the server accepts as such (the KV datatype JSON bit)? */
export function isAcceptedJson(bytes: Uint8Array, maxDepth: number): boolean {
  return parseCheckedJson(bytes, maxDepth).ok;
}
