/**
 * Keys of the in-memory key directory and the by-id index (bucket-core.ts, id-index.ts).
 *
 * A default-collection key is the latin1 string of its bytes, as before collections existed, so
 * the default collection costs nothing extra. A key of another collection is prefixed with
 * U+0100, the collection id in hex and ':'. Latin1 strings never hold a character above U+00FF,
 * so the prefix cannot collide with a default key, all default keys sort before every other
 * collection's, and the keys of one collection form one contiguous range (the prefix ends in ':',
 * which no hex digit is), which is what a collection's `_all_docs` pages through.
 */

/** The character code that starts a non-default collection's key (key-seqnos.ts stores it as a flag). */
export const COLLECTION_MARK = 0x100;
const MARK = String.fromCharCode(COLLECTION_MARK);
/** Sorts after every default-collection key and before no other collection's. */
export const DEFAULT_END = MARK;

export function collectionPrefix(collection: number): string {
  return collection === 0 ? '' : `${MARK}${collection.toString(16)}:`;
}

export function dirKey(collection: number, key: Buffer): string {
  return collection === 0 ? key.toString('latin1') : collectionPrefix(collection) + key.toString('latin1');
}

/** The collection and the latin1 key of a directory key. */
export function parseDirKey(k: string): { collection: number; key: string } {
  if (k.charCodeAt(0) !== 0x100) return { collection: 0, key: k };
  const colon = k.indexOf(':');
  return { collection: parseInt(k.slice(1, colon), 16), key: k.slice(colon + 1) };
}

/** The half-open range [start, end) of a collection's directory keys. */
export function collectionRange(collection: number): { start: string; end: string } {
  if (collection === 0) return { start: '', end: DEFAULT_END };
  const p = collectionPrefix(collection);
  return { start: p, end: `${p.slice(0, -1)};` };
}
