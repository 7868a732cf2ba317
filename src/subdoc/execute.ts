/**
 * Running checked specs (specs.ts) against one version of a document: lookups answer a status and
 * a value per spec; mutations build the next version (body, xattrs, deleted) or stop at the first
 * failing spec (`SpecFailure`), leaving nothing changed (kv docs/SubDocument.md
 * "CMD_MULTI_MUTATION": all or none).
 *
 * Each body spec parses the body the one before left: a body that is not JSON is DOC_NOTJSON, one
 * nested deeper than 32 levels DOC_E2DEEP, both per spec; a mutation edits the body's text where
 * its path lands (splice.ts), as subjson does, so the untouched bytes stay as they were. A
 * tombstone's empty body reads as `{}`.
 * A new document starts as `{}`, or `[]` when the first spec addresses an array root (docs
 * "Creating missing documents"); created by xattr specs alone, its body is `{}`. Xattr specs work
 * on the document's xattrs as one object whose members are the X-Keys; system keys (`_...`) need
 * the system-xattr privilege, without which every xattr spec of the request fails with EACCESS.
 */
import { Opcode } from '../codec/opcodes.js';
import { Status } from '../codec/status.js';
import { SubdocDocFlag, SubdocPathFlag } from '../codec/ops/subdoc.js';
import { DATATYPE_JSON } from '../engine/types.js';
import type { Item } from '../engine/types.js';
import { SpecFailure, SubdocError, isSubdocError } from './errors.js';

export { SpecFailure };
import { JsonDepthError, JsonSyntaxError, parseJson, parseJsonList, sourceText, stringify, type JObject, type JVal } from '../codec/json-tree.js';
import * as ops from './ops.js';
import { locate, spliceBody } from './splice.js';
import { parsePath, type PathComponent } from './path.js';
import { WholeDoc, isXattrSpec, type Spec } from './specs.js';
import { isSystemXattr, isVirtualXattr, macroValue, parseXattrs, virtualXattrs, xattrKeyOf, type VattrContext } from './xattrs.js';

export interface XattrAccess {
  readonly systemRead: boolean;
  readonly systemWrite: boolean;
  readonly userRead: boolean;
  readonly userWrite: boolean;
}

export interface ExecContext {
  readonly vbucketUuid: number;
  readonly hlcNow: bigint;
  readonly access: XattrAccess;
}

export interface SpecResult {
  readonly status: number;
  readonly value: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** A document body as JSON, or the per-spec error it is. */
function parseBody(item: Pick<Item, 'value' | 'datatype' | 'deleted'> | undefined): JVal {
  if (!item || (item.deleted && item.value.length === 0)) return new Map();
  if ((item.datatype & DATATYPE_JSON) === 0) throw new SubdocError('SubdocDocNotJson', 'the document is not JSON');
  try {
    return parseJson(item.value.toString('utf8'));
  } catch (err) {
    if (err instanceof JsonDepthError) throw new SubdocError('SubdocDocE2deep', 'the document is too deep to parse');
    if (err instanceof JsonSyntaxError) throw new SubdocError('SubdocDocNotJson', 'the document is not JSON');
    throw err;
  }
}

function checkXattrAccess(key: string, access: XattrAccess, write: boolean): void {
  const system = isSystemXattr(key);
  const ok = write ? (system ? access.systemWrite : access.userWrite) : system ? access.systemRead : access.userRead;
  if (!ok) throw new SubdocError('Eaccess', `no privilege to ${write ? 'write' : 'read'} ${system ? 'system' : 'user'} xattr ${key}`);
}

/**
 * kv checks the system-xattr privilege once for the request (subdocument.cc
 * `validate_xattr_privilege`): a system xattr the caller may not use fails every xattr spec with
 * EACCESS, the virtual ones included; body specs go on.
 */
function xattrsDenied(specs: readonly Spec[], allowed: boolean): boolean {
  if (allowed) return false;
  return specs.some((s) => isXattrSpec(s) && isSystemXattr(xattrKeyOf(s.path)));
}

/** Run lookups on `item`; every spec gets a result (kv MULTI_LOOKUP semantics). */
export function runLookups(item: Item, specs: readonly Spec[], ctx: ExecContext): SpecResult[] {
  let body: JVal | undefined;
  let xattrs: JObject | undefined;
  const vctx: VattrContext = { item, vbucketUuid: ctx.vbucketUuid, hlcNow: ctx.hlcNow, systemRead: ctx.access.systemRead };
  const denied = xattrsDenied(specs, ctx.access.systemRead);
  return specs.map((spec) => {
    try {
      if (denied && isXattrSpec(spec)) throw new SubdocError('Eaccess', 'no privilege to read the system xattrs');
      // An empty body (a tombstone's) is a path that does not exist (subdocument.cc
      // `subdoc_operate_wholedoc`).
      if (spec.opcode === WholeDoc.Get) {
        if (item.value.length === 0) throw new SubdocError('SubdocPathEnoent', 'the document has no body');
        return { status: Status.Success, value: item.value };
      }
      let root: JVal;
      if (isXattrSpec(spec)) {
        const key = xattrKeyOf(spec.path);
        if (isVirtualXattr(key)) root = virtualXattrs(key, vctx);
        else {
          checkXattrAccess(key, ctx.access, false);
          root = xattrs ??= parseXattrs(item.xattrs);
        }
      } else {
        root = body ??= parseBody(item);
      }
      const path = parsePath(spec.path);
      if (spec.opcode === Opcode.SubdocGetCount) return { status: Status.Success, value: Buffer.from(String(ops.count(root, path))) };
      const v = ops.lookup(root, path);
      if (spec.opcode === Opcode.SubdocExists) return { status: Status.Success, value: EMPTY };
      // The value's bytes as the document holds them (subjson answers the matched text).
      return { status: Status.Success, value: Buffer.from(sourceText(v)) };
    } catch (err) {
      if (isSubdocError(err)) return { status: err.status, value: EMPTY };
      throw err;
    }
  });
}

export interface MutationPlan {
  /** The next body; `bodyJson` says whether it came from JSON operations (datatype JSON). */
  readonly body: Buffer;
  readonly bodyJson: boolean | undefined;
  /** The next xattrs (with unresolved macros), null when there are none. */
  readonly xattrs: JObject | null;
  readonly deleted: boolean;
  readonly macros: boolean;
  /** Values returned by specs (COUNTER), by spec index. */
  readonly results: ReadonlyArray<{ index: number; value: Buffer }>;
}

export interface MutationInput {
  /** The version operated on (a tombstone with ACCESS_DELETED), undefined when creating. */
  readonly base: Item | undefined;
  /** The document is deleted after the mutation unless a whole-document SET or a revive says otherwise. */
  readonly deleted: boolean;
  readonly docFlags: number;
}

function specValue(spec: Spec, base: Item | undefined, ctx: ExecContext, list: boolean): JVal[] {
  if ((spec.flags & SubdocPathFlag.ExpandMacros) !== 0) return [macroValue(spec.value.toString('utf8'), { item: base, vbucketUuid: ctx.vbucketUuid })];
  const text = spec.value.toString('utf8');
  // Only whitespace is no value, though `[ ]` parses as an empty list (subjson `validate`).
  if (/^[ \t\n\r]*$/.test(text)) throw new SubdocError('SubdocValueCantinsert', 'the value holds no JSON');
  try {
    return list ? parseJsonList(text) : [parseJson(text)];
  } catch (err) {
    if (err instanceof JsonDepthError) throw new SubdocError('SubdocValueEtoodeep', 'the value is too deep');
    if (err instanceof JsonSyntaxError) throw new SubdocError('SubdocValueCantinsert', 'the value is not valid JSON');
    throw err;
  }
}

/** Apply one JSON operation to `root`; the COUNTER result, if any. */
function applyOp(root: JVal, spec: Spec, path: PathComponent[], mkdir: boolean, base: Item | undefined, ctx: ExecContext): Buffer | undefined {
  const one = (): JVal => specValue(spec, base, ctx, false)[0]!;
  switch (spec.opcode) {
    case Opcode.SubdocDictAdd:
      return ops.dictSet(root, path, one(), mkdir, true), undefined;
    case Opcode.SubdocDictUpsert:
      return ops.dictSet(root, path, one(), mkdir, false), undefined;
    case Opcode.SubdocDelete:
      return ops.remove(root, path), undefined;
    case Opcode.SubdocReplace:
      return ops.replace(root, path, one()), undefined;
    case Opcode.SubdocArrayPushLast:
    case Opcode.SubdocArrayPushFirst:
      return ops.arrayPush(root, path, specValue(spec, base, ctx, true), mkdir, spec.opcode === Opcode.SubdocArrayPushFirst), undefined;
    case Opcode.SubdocArrayInsert:
      return ops.arrayInsert(root, path, specValue(spec, base, ctx, true)), undefined;
    case Opcode.SubdocArrayAddUnique:
      return ops.arrayAddUnique(root, path, specValue(spec, base, ctx, true), mkdir), undefined;
    case Opcode.SubdocCounter: {
      const delta = ops.parseDelta(spec.value.toString('latin1'));
      return Buffer.from(ops.counter(root, path, delta, mkdir).toString());
    }
    default:
      throw new SubdocError('SubdocInvalidCombo', `opcode 0x${spec.opcode.toString(16)} is not a mutation`);
  }
}

/**
 * The root of a new document: kv picks it from the request's first spec, xattr ones included
 * (subdocument.cc `create_multi_path_context`, subjson `Util::get_root_type`): `[]` when that
 * spec addresses an array root, else `{}`, which a document created by xattr specs alone keeps.
 */
function newRoot(specs: readonly Spec[]): JVal {
  const first = specs[0];
  if (!first || isXattrSpec(first)) return new Map();
  const arrayOp = first.opcode === Opcode.SubdocArrayPushLast || first.opcode === Opcode.SubdocArrayPushFirst || first.opcode === Opcode.SubdocArrayAddUnique;
  return first.path.startsWith('[') || (arrayOp && first.path.length === 0) ? [] : new Map();
}

/**
 * The text body specs start from: the stored body (DOC_NOTJSON unless its datatype is JSON), the
 * body a spec set, or a new root. Each spec parses it (applyBodySpec).
 */
function bodyText(base: Item | undefined, rawBody: Buffer, changed: boolean, specs: readonly Spec[]): string {
  if (!changed && base) {
    if (base.deleted && base.value.length === 0) return '{}';
    if ((base.datatype & DATATYPE_JSON) === 0) throw new SubdocError('SubdocDocNotJson', 'the document is not JSON');
    return base.value.toString('utf8');
  }
  if (rawBody.length === 0) return stringify(newRoot(specs));
  return rawBody.toString('utf8');
}

/**
 * One body spec on the document text: the tree operation decides the outcome, the text is edited
 * where the path landed (splice.ts), so the rest of the document keeps its bytes.
 */
function applyBodySpec(text: string, spec: Spec, path: PathComponent[], mkdir: boolean, base: Item | undefined, ctx: ExecContext): { text: string; out: Buffer | undefined } {
  const root = parseBody({ value: Buffer.from(text), datatype: DATATYPE_JSON, deleted: false });
  const at = locate(root, spec.opcode === Opcode.SubdocArrayPushFirst ? [...path, { kind: 'index', index: 0 }] : path);
  const out = applyOp(root, spec, path, mkdir, base, ctx);
  const value = out ? out.toString() : spec.value.toString('utf8');
  return { text: spliceBody(text, spec.opcode, path, at, value), out };
}

/** Run mutations; throws SpecFailure for the first failing spec. */
export function runMutations(input: MutationInput, specs: readonly Spec[], ctx: ExecContext): MutationPlan {
  const { base, docFlags } = input;
  const impliedMkdir = (docFlags & (SubdocDocFlag.Mkdoc | SubdocDocFlag.Add)) !== 0;
  let xattrs: JObject | undefined;
  let body: string | undefined;
  let rawBody: Buffer = base?.value ?? EMPTY;
  let bodyJson: boolean | undefined;
  let bodyChanged = false;
  let deleted = input.deleted;
  let macros = false;
  const results: Array<{ index: number; value: Buffer }> = [];
  if (xattrsDenied(specs, ctx.access.systemWrite)) {
    throw new SpecFailure(specs.findIndex(isXattrSpec), new SubdocError('Eaccess', 'no privilege to write the system xattrs'));
  }
  specs.forEach((spec, index) => {
    try {
      if (spec.opcode === WholeDoc.Set) {
        rawBody = spec.value;
        body = undefined;
        bodyJson = undefined;
        bodyChanged = true;
        return;
      }
      if (spec.opcode === WholeDoc.Delete) {
        deleted = true;
        return;
      }
      const mkdir = impliedMkdir || (spec.flags & SubdocPathFlag.MkdirP) !== 0;
      const path = parsePath(spec.path);
      let root: JVal;
      if (isXattrSpec(spec)) {
        checkXattrAccess(xattrKeyOf(spec.path), ctx.access, true);
        root = xattrs ??= parseXattrs(base?.xattrs ?? null);
        if ((spec.flags & SubdocPathFlag.ExpandMacros) !== 0) macros = true;
        if (spec.opcode === Opcode.SubdocReplaceBodyWithXattr) {
          rawBody = Buffer.from(stringify(ops.lookup(root, path)));
          body = undefined;
          bodyJson = true;
          bodyChanged = true;
          return;
        }
      } else {
        const next = applyBodySpec((body ??= bodyText(base, rawBody, bodyChanged, specs)), spec, path, mkdir, base, ctx);
        body = next.text;
        bodyChanged = true;
        bodyJson = true;
        if (next.out) results.push({ index, value: next.out });
        return;
      }
      const out = applyOp(root, spec, path, mkdir, base, ctx);
      if (out) results.push({ index, value: out });
    } catch (err) {
      if (isSubdocError(err)) throw new SpecFailure(index, err);
      throw err;
    }
  });
  if (body !== undefined) rawBody = Buffer.from(body, 'utf8');
  else if (!base && !bodyChanged) {
    rawBody = Buffer.from(stringify(newRoot(specs)));
    bodyJson = true;
  }
  if (deleted) {
    // A whole-document DELETE keeps only the system xattrs (docs "CMD_DELETE"); a tombstone
    // written otherwise (ACCESS_DELETED, CREATE_AS_DELETED) keeps the xattrs the specs left, user
    // ones included: transactions stage an insert in the `txn` xattr of a tombstone (kv
    // subdocument.cc `do_xattr_delete_phase` prunes only for the DELETE spec).
    if (specs.some((s) => s.opcode === WholeDoc.Delete)) {
      xattrs ??= parseXattrs(base?.xattrs ?? null);
      for (const k of [...xattrs.keys()]) if (!isSystemXattr(k)) xattrs.delete(k);
    }
    // Without a whole-document delete, a body change on a document that stays deleted is refused
    // (REVIVE_DOCUMENT brings a tombstone back first), as the status of the whole command, not of
    // a spec (kv subdocument.cc subdoc_update: "A deleted document can't have a value").
    if (bodyChanged && !specs.some((s) => s.opcode === WholeDoc.Delete)) {
      throw new SubdocError('SubdocDeletedDocumentCantHaveValue', 'a deleted document cannot have a body');
    }
    rawBody = EMPTY;
    bodyJson = false;
  }
  const finalXattrs = xattrs ?? parseXattrs(base?.xattrs ?? null);
  return { body: rawBody, bodyJson, xattrs: finalXattrs.size === 0 ? null : finalXattrs, deleted, macros, results };
}
