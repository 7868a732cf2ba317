/**
 * Extended attributes as sub-document paths see them (kv_engine docs/ExtendedAttributes.md,
 * xattr/key_validator.cc, daemon/subdocument_context.cc):
 *
 * - With XATTR_PATH the first path component is the xattr key (X-Key): 1 to 15 bytes, no
 *   backtick escaping, not starting with punctuation other than `_` (system xattrs) or `$`
 *   (virtual xattrs) nor with a control character; otherwise XATTR_EINVAL.
 * - Virtual xattrs are read-only views built per request: `$document` (the document's metadata,
 *   with CAS/seqno/vbucket_uuid as "0x" + 16 hex digits, `get_document_vattr`), `$XTOC` (the
 *   xattr keys the caller may see) and `$vbucket` (the vbucket's hybrid clock). Any other `$` key
 *   is XATTR_UNKNOWN_VATTR.
 * - Macros (EXPAND_MACROS): `"${Mutation.CAS}"` becomes the new mutation's CAS as "0x" + the hex
 *   of its *byte-swapped* (htonll) value, `"${Mutation.seqno}"` the new seqno and
 *   `"${Mutation.value_crc32c}"` the CRC32-C of the new body ("0x" + 8 hex digits), as
 *   `pre_link_document` writes them; `"${$document...}"` expands to a field of the document's
 *   metadata before the mutation (SubdocDocumentMacroSupport).
 */
import { crc32c } from '../codec/crc32c.js';
import { DATATYPE_JSON } from '../engine/types.js';
import type { Item } from '../engine/types.js';
import { SubdocError } from './errors.js';
import { JNum, MacroRef, parseJson, type JObject, type JVal } from '../codec/json-tree.js';
import { lookup } from './ops.js';
import { parsePath } from './path.js';

/** SUBDOC_MAX_XATTR_LENGTH; a key must be shorter (key_validator.cc: `dot >= 16` is invalid). */
export const MAX_XATTR_KEY_BYTES = 15;

export const Macro = {
  Cas: '${Mutation.CAS}',
  Seqno: '${Mutation.seqno}',
  ValueCrc32c: '${Mutation.value_crc32c}',
} as const;

/** The xattr key a path starts with: up to the first '.' or '['. */
export function xattrKeyOf(path: string): string {
  const m = /^[^.[]*/.exec(path);
  return m ? m[0] : '';
}

/**
 * kv `is_valid_xattr_key` (xattr/key_validator.cc): XATTR_EINVAL for an empty key, one of 16
 * bytes or more, a lone `_` or `$`, one starting with punctuation (other than `_` and `$`) or a
 * control character, and a NUL anywhere in the path. Other characters, control ones included,
 * are allowed after the first.
 */
export function checkXattrKey(key: string, path = key): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0 || bytes > MAX_XATTR_KEY_BYTES) throw new SubdocError('XattrEinval', `xattr key must be 1 to ${MAX_XATTR_KEY_BYTES} bytes`);
  const first = key[0]!;
  const special = first === '_' || first === '$';
  if (special && bytes === 1) throw new SubdocError('XattrEinval', `xattr key '${first}' needs a name after it`);
  // eslint-disable-next-line no-control-regex
  if (!special && /[\u0000-\u001f\u007f!-/:-@[-`{-~]/.test(first)) throw new SubdocError('XattrEinval', `xattr key may not start with '${first}'`);
  if (path.includes('\u0000')) throw new SubdocError('XattrEinval', 'xattr path holds a NUL');
}

export const isSystemXattr = (key: string): boolean => key.startsWith('_');
export const isVirtualXattr = (key: string): boolean => key.startsWith('$');

/** Stored xattrs (a JSON object's bytes, Item.xattrs) as an ordered map. */
export function parseXattrs(raw: Buffer | null): JObject {
  if (raw === null || raw.length === 0) return new Map();
  const v = parseJson(raw.toString('utf8'), -64);
  return v instanceof Map ? v : new Map();
}

const hex64 = (n: bigint | number): string => `0x${BigInt(n).toString(16).padStart(16, '0')}`;
const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** `${Mutation.CAS}`'s text: the CAS byte-swapped (kv writes htonll(cas)), in hex. */
export function casMacroValue(cas: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(cas);
  return hex64(b.readBigUInt64LE());
}

/** Decode a `${Mutation.CAS}` value back to the CAS (what Sync Gateway does with it). */
export function casFromMacroValue(text: string): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(text));
  return b.readBigUInt64BE();
}

export interface MacroValues {
  readonly cas: bigint;
  readonly seqno: number;
  readonly body: Buffer;
}

/** JSON text a `MacroRef` resolves to once the write's CAS and seqno are known. */
export function expandMacro(name: string, v: MacroValues): string {
  if (name === Macro.Cas) return JSON.stringify(casMacroValue(v.cas));
  if (name === Macro.Seqno) return JSON.stringify(hex64(v.seqno));
  if (name === Macro.ValueCrc32c) return JSON.stringify(hex32(crc32c(v.body)));
  throw new SubdocError('SubdocXattrUnknownMacro', `unknown macro ${name}`);
}

/** kv datatype names for `$document.datatype` (mcbp::datatype::to_string). */
function datatypeNames(item: Item): string[] {
  const names: string[] = [];
  if ((item.datatype & DATATYPE_JSON) !== 0) names.push('json');
  if (item.xattrs !== null && parseXattrs(item.xattrs).size > 0) names.push('xattr');
  return names.length === 0 ? ['raw'] : names;
}

/** The `$document` virtual xattr of a stored version. */
export function documentVattr(item: Item, vbucketUuid: number): JObject {
  return new Map<string, JVal>([
    ['CAS', hex64(item.cas)],
    ['vbucket_uuid', hex64(vbucketUuid)],
    ['seqno', hex64(item.seqno)],
    ['revid', String(item.revSeqno)],
    ['exptime', new JNum(String(item.expiry))],
    ['value_bytes', new JNum(String(item.value.length))],
    ['datatype', datatypeNames(item)],
    ['deleted', item.deleted],
    ['flags', new JNum(String(item.flags >>> 0))],
    ['last_modified', String(item.cas / 1_000_000_000n)],
    ['value_crc32c', hex32(crc32c(item.value))],
  ]);
}

export interface VattrContext {
  readonly item: Item;
  readonly vbucketUuid: number;
  /** Now, in nanoseconds of the bucket's hybrid clock. */
  readonly hlcNow: bigint;
  /** May the caller see system xattrs (for `$XTOC`)? */
  readonly systemRead: boolean;
}

/** The virtual xattr named `key` as a one-member object, so a path resolves against it. */
export function virtualXattrs(key: string, ctx: VattrContext): JObject {
  if (key === '$document') return new Map([[key, documentVattr(ctx.item, ctx.vbucketUuid)]]);
  if (key === '$XTOC') {
    const keys = [...parseXattrs(ctx.item.xattrs).keys()].filter((k) => ctx.systemRead || !isSystemXattr(k));
    return new Map([[key, keys]]);
  }
  if (key === '$vbucket') {
    const hlc = new Map<string, JVal>([['now', String(ctx.hlcNow / 1_000_000_000n)], ['mode', 'real']]);
    return new Map([[key, new Map<string, JVal>([['HLC', hlc]])]]);
  }
  throw new SubdocError('SubdocXattrUnknownVattr', `unknown virtual xattr ${key}`);
}

/**
 * The value of an EXPAND_MACROS spec: a mutation macro (resolved at commit), or a `$document`
 * macro resolved now from the version being changed. Anything else is XATTR_UNKNOWN_MACRO, as
 * kv's validator (`validate_macro`) answers.
 */
export function macroValue(text: string, ctx: { item: Item | undefined; vbucketUuid: number }): JVal {
  const trimmed = text.trim();
  let name: unknown;
  try {
    name = JSON.parse(trimmed);
  } catch {
    throw new SubdocError('SubdocXattrUnknownMacro', 'EXPAND_MACROS needs a macro as the value');
  }
  if (name === Macro.Cas || name === Macro.Seqno || name === Macro.ValueCrc32c) return new MacroRef(name);
  if (typeof name === 'string' && name.startsWith('${$document') && name.endsWith('}')) {
    const path = name.slice(2, -1);
    if (!ctx.item) throw new SubdocError('SubdocXattrUnknownVattrMacro', `${name}: no document to read`);
    try {
      return lookup(new Map([['$document', documentVattr(ctx.item, ctx.vbucketUuid)]]), parsePath(path));
    } catch {
      throw new SubdocError('SubdocXattrUnknownVattrMacro', `unknown macro ${name}`);
    }
  }
  throw new SubdocError('SubdocXattrUnknownMacro', `unknown macro ${trimmed}`);
}
