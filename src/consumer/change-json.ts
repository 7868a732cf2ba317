/**
 * One JSON object per change, as `freshet tail` prints them (one per line):
 *
 *   {"type":"mutation","key":"k1","vbucket":12,"seqno":3,"revSeqno":1,"cas":"1700000000000000000",
 *    "flags":0,"expiry":0,"deleted":false,"datatype":1,"value":{"n":1}}
 *   {"type":"deletion","key":"k1","vbucket":12,"seqno":4,...,"deleted":true,"value":null}
 *   {"type":"rollback","vbucket":12,"seqno":2,"vbUuid":123456789}
 *
 * A collection-aware stream (`freshet tail --collection S.C` / `--scope S`) adds the names after
 * the key, and prints collection and scope creates and drops (one per vbucket, as kv sends them):
 *
 *   {"type":"mutation","key":"k1","scope":"inventory","collection":"airport","vbucket":12,...}
 *   {"type":"collection","action":"create","scope":"inventory","collection":"airport",
 *    "collectionId":8,"scopeId":8,"manifestUid":2,"vbucket":12,"seqno":5}
 *   {"type":"scope","action":"drop","scope":"inventory","scopeId":8,"manifestUid":4,"vbucket":12,"seqno":9}
 *
 * - `cas` is a decimal string: 64-bit values are not exact as JSON numbers in most readers.
 * - `value`: the parsed document when it is JSON (datatype bit 0x01, or bytes that parse as a JSON
 *   object or array); otherwise a UTF-8 string when the bytes are valid UTF-8, with
 *   `"valueEncoding":"utf8"`; otherwise base64 with `"valueEncoding":"base64"`. Snappy-compressed
 *   or xattr-carrying values are never produced for this client (it negotiates neither), so the
 *   bytes are the document. Deletions, expirations and keys-only runs print `"value":null`.
 * - `key`: UTF-8 when valid (Couchbase keys are UTF-8), else base64 with `"keyEncoding":"base64"`.
 * - `expiry` is absolute epoch seconds (0 = never); `flags` the opaque item flags.
 */
import { hasJson } from '../codec/index.js';
import type { ChangeEvent } from './change-events.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(b: Buffer): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

function valueFields(value: Buffer, datatype: number): Record<string, unknown> {
  if (value.length === 0) return { value: null };
  const text = validUtf8(value);
  if (text !== undefined) {
    const first = text.trimStart()[0];
    if (hasJson(datatype) || first === '{' || first === '[') {
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        // flagged JSON but not parseable: fall through to a string
      }
    }
    return { value: text, valueEncoding: 'utf8' };
  }
  return { value: value.toString('base64'), valueEncoding: 'base64' };
}

/**
 * The JSON object for one change (not yet stringified). `names`: print the scope and collection of
 * items (a collection-aware stream); without it the line is the legacy one.
 */
export function changeToJson(e: ChangeEvent, keysOnly = false, names = false): Record<string, unknown> {
  if (e.type === 'rollback') return { type: 'rollback', vbucket: e.vbucket, seqno: e.seqno, vbUuid: e.vbUuid };
  if (e.type === 'collection') {
    const { type, action, scope, collection, collectionId, scopeId, manifestUid, maxTTL, vbucket, seqno } = e;
    return { type, action, scope, collection, collectionId, scopeId, manifestUid, ...(maxTTL !== undefined ? { maxTTL } : {}), vbucket, seqno };
  }
  if (e.type === 'scope') {
    const { type, action, scope, scopeId, manifestUid, vbucket, seqno } = e;
    return { type, action, scope, scopeId, manifestUid, vbucket, seqno };
  }
  const key = validUtf8(e.key);
  const base: Record<string, unknown> = {
    type: e.type,
    key: key ?? e.key.toString('base64'),
    ...(key === undefined ? { keyEncoding: 'base64' } : {}),
    ...(names ? { scope: e.scope, collection: e.collection } : {}),
    vbucket: e.vbucket,
    seqno: e.seqno,
    revSeqno: e.revSeqno,
    cas: e.cas.toString(),
    flags: e.type === 'mutation' ? e.flags : 0,
    expiry: e.type === 'mutation' ? e.expiry : 0,
    deleted: e.type !== 'mutation',
    datatype: e.datatype,
  };
  if (e.type !== 'mutation' || keysOnly) return { ...base, value: null };
  return { ...base, ...valueFields(e.value, e.datatype) };
}

export function changeToJsonLine(e: ChangeEvent, keysOnly = false, names = false): string {
  return `${JSON.stringify(changeToJson(e, keysOnly, names))}\n`;
}
