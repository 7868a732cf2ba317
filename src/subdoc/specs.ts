/**
 * What each sub-document operation accepts, and the request checks kv_engine makes before it
 * touches the document (daemon/subdocument_traits.h, subdocument_validators.cc). A failed check
 * is the status of the whole command, never one spec's:
 *
 * - a value where none belongs, or none where one is needed, a flag the operation does not take,
 *   an empty path where one is needed, a path on a whole-document op: EINVAL;
 * - doc flags: one the opcode does not take (MKDOC on REPLACE, ...), ADD with MKDOC, ADD with a
 *   CAS, CREATE_AS_DELETED without ADD/MKDOC (or on a body path), REVIVE_DOCUMENT without
 *   ACCESS_DELETED, REPLICA_READ with ACCESS_DELETED: EINVAL;
 * - EXPAND_MACROS without XATTR_PATH: XATTR_INVALID_FLAG_COMBO; a bad X-Key: XATTR_EINVAL; a
 *   mutation of a `$` key: XATTR_CANT_MODIFY_VATTR; a value that is not a macro: XATTR_UNKNOWN_MACRO;
 * - multi-path: no spec or more than 16, a lookup opcode in a mutation (or the reverse), an unknown
 *   opcode, anything after a whole-document DELETE or a DELETE after a body spec: INVALID_COMBO;
 *   an xattr spec after a body spec: INVALID_XATTR_ORDER.
 */
import { Opcode } from '../codec/opcodes.js';
import { SubdocDocFlag, SubdocPathFlag } from '../codec/ops/subdoc.js';
import { SUBDOC_MULTI_MAX_PATHS } from '../codec/ops/subdoc-multi.js';
import { SubdocError } from './errors.js';
import { checkXattrKey, isVirtualXattr, Macro, xattrKeyOf } from './xattrs.js';

const { MkdirP, XattrPath, ExpandMacros } = SubdocPathFlag;
const { Mkdoc, Add, AccessDeleted, CreateAsDeleted, ReviveDocument, ReplicaRead } = SubdocDocFlag;

/** Whole-document spec opcodes inside multi-path commands (kv uses the plain GET/SET/DELETE codes). */
export const WholeDoc = { Get: Opcode.Get, Set: Opcode.Set, Delete: Opcode.Delete } as const;

interface Traits {
  readonly mutator: boolean;
  readonly flags: number;
  readonly value: boolean;
  /** 'no': a path is required; 'yes': may be empty; 'only': must be empty (whole document). */
  readonly emptyPath: 'no' | 'yes' | 'only';
  /** Only inside multi-path commands. */
  readonly multiOnly?: boolean;
  readonly mandatory?: number;
  /** The doc flags a mutation opcode takes (kv `valid_doc_flags`); anything else is EINVAL. */
  readonly docFlags?: number;
}

/** ReplicaRead: the lookup reads this node's replica of the vbucket (HELLO SubdocReplicaRead). */
const LOOKUP_DOC_FLAGS = AccessDeleted | ReplicaRead;
const MUTATION_DOC_FLAGS = Mkdoc | Add | AccessDeleted | CreateAsDeleted | ReviveDocument;
/**
 * Per-opcode doc flags of the mutations (daemon/subdocument_traits.h): DICT_ADD/UPSERT, the array
 * pushes, ARRAY_ADD_UNIQUE and COUNTER take all; REPLACE and ARRAY_INSERT never MKDOC (ARRAY_INSERT takes ADD and
 * CREATE_AS_DELETED, REPLACE only ADD); a path DELETE, the whole-document DELETE and
 * REPLACE_BODY_WITH_XATTR only ACCESS_DELETED and REVIVE_DOCUMENT; the whole-document SET only
 * MKDOC and ADD.
 */
const CREATING = MUTATION_DOC_FLAGS;
const ON_EXISTING = AccessDeleted | ReviveDocument;

export const TRAITS: ReadonlyMap<number, Traits> = new Map<number, Traits>([
  [WholeDoc.Get, { mutator: false, flags: 0, value: false, emptyPath: 'only', multiOnly: true }],
  [WholeDoc.Set, { mutator: true, flags: 0, value: true, emptyPath: 'only', multiOnly: true, docFlags: Mkdoc | Add }],
  [WholeDoc.Delete, { mutator: true, flags: 0, value: false, emptyPath: 'only', multiOnly: true, docFlags: ON_EXISTING }],
  [Opcode.SubdocGet, { mutator: false, flags: XattrPath, value: false, emptyPath: 'no' }],
  [Opcode.SubdocExists, { mutator: false, flags: XattrPath, value: false, emptyPath: 'no' }],
  [Opcode.SubdocGetCount, { mutator: false, flags: XattrPath, value: false, emptyPath: 'yes' }],
  [Opcode.SubdocDictAdd, { mutator: true, flags: MkdirP | XattrPath | ExpandMacros, value: true, emptyPath: 'no', docFlags: CREATING }],
  [Opcode.SubdocDictUpsert, { mutator: true, flags: MkdirP | XattrPath | ExpandMacros, value: true, emptyPath: 'no', docFlags: CREATING }],
  [Opcode.SubdocDelete, { mutator: true, flags: XattrPath, value: false, emptyPath: 'no', docFlags: ON_EXISTING }],
  [Opcode.SubdocReplace, { mutator: true, flags: XattrPath | ExpandMacros, value: true, emptyPath: 'no', docFlags: ON_EXISTING | Add }],
  [Opcode.SubdocArrayPushLast, { mutator: true, flags: MkdirP | XattrPath | ExpandMacros, value: true, emptyPath: 'yes', docFlags: CREATING }],
  [Opcode.SubdocArrayPushFirst, { mutator: true, flags: MkdirP | XattrPath | ExpandMacros, value: true, emptyPath: 'yes', docFlags: CREATING }],
  [Opcode.SubdocArrayInsert, { mutator: true, flags: XattrPath | ExpandMacros, value: true, emptyPath: 'no', docFlags: ON_EXISTING | Add | CreateAsDeleted }],
  [Opcode.SubdocArrayAddUnique, { mutator: true, flags: MkdirP | XattrPath, value: true, emptyPath: 'yes', docFlags: CREATING }],
  [Opcode.SubdocCounter, { mutator: true, flags: MkdirP | XattrPath, value: true, emptyPath: 'no', docFlags: CREATING }],
  [Opcode.SubdocReplaceBodyWithXattr, { mutator: true, flags: XattrPath, value: false, emptyPath: 'no', mandatory: XattrPath, docFlags: ON_EXISTING }],
]);

export interface Spec {
  readonly opcode: number;
  readonly flags: number;
  readonly path: string;
  readonly value: Buffer;
}

export const isXattrSpec = (s: Spec): boolean => (s.flags & XattrPath) !== 0;
export const isWholeDocSpec = (s: Spec): boolean => s.opcode === WholeDoc.Get || s.opcode === WholeDoc.Set || s.opcode === WholeDoc.Delete;

const einval = (why: string): SubdocError => new SubdocError('Einval', why);

/** Checks on the doc flags and CAS of a command (shared by single and multi-path forms). */
export function checkDocFlags(docFlags: number, mutator: boolean, cas: bigint): void {
  const valid = mutator ? MUTATION_DOC_FLAGS : LOOKUP_DOC_FLAGS;
  if ((docFlags & ~valid) !== 0) throw einval(`doc flags 0x${docFlags.toString(16)} not valid here`);
  if ((docFlags & Add) !== 0 && (docFlags & Mkdoc) !== 0) throw einval('ADD and MKDOC cannot be combined');
  if ((docFlags & Add) !== 0 && cas !== 0n) throw einval('a request with the ADD doc flag must have CAS 0');
  if ((docFlags & CreateAsDeleted) !== 0 && (docFlags & (Add | Mkdoc)) === 0) throw einval('CREATE_AS_DELETED needs ADD or MKDOC');
  // subdocument_validators.cc: "Can't access deleted documents on replicas".
  if ((docFlags & ReplicaRead) !== 0 && (docFlags & AccessDeleted) !== 0) throw einval('REPLICA_READ cannot be combined with ACCESS_DELETED');
  if ((docFlags & ReviveDocument) !== 0) {
    if ((docFlags & AccessDeleted) === 0) throw einval('REVIVE_DOCUMENT needs ACCESS_DELETED');
    if ((docFlags & CreateAsDeleted) !== 0) throw einval('REVIVE_DOCUMENT cannot be used with CREATE_AS_DELETED');
  }
}

/** One spec's checks; `multi` for a spec inside MULTI_LOOKUP/MULTI_MUTATION. */
export function checkSpec(spec: Spec, mutator: boolean, multi: boolean, docFlags: number, xattrEnabled: boolean): void {
  const t = TRAITS.get(spec.opcode);
  if (!t || (t.multiOnly && !multi)) throw new SubdocError('SubdocInvalidCombo', `opcode 0x${spec.opcode.toString(16)} is not a sub-document operation`);
  if (t.mutator !== mutator) throw new SubdocError('SubdocInvalidCombo', mutator ? 'lookup opcodes are not allowed in a mutation' : 'mutation opcodes are not allowed in a lookup');
  if (t.value && spec.value.length === 0) throw einval('the operation needs a value');
  if (!t.value && spec.value.length !== 0) throw einval('the operation takes no value');
  if ((spec.flags & ~t.flags) !== 0) throw einval(`path flags 0x${spec.flags.toString(16)} not valid for this operation`);
  if ((spec.flags & (t.mandatory ?? 0)) !== (t.mandatory ?? 0)) throw einval('a mandatory path flag is missing');
  if (t.docFlags !== undefined && (docFlags & ~t.docFlags) !== 0) throw einval(`doc flags 0x${docFlags.toString(16)} not valid for opcode 0x${spec.opcode.toString(16)}`);
  if (t.emptyPath === 'only' && spec.path.length > 0) throw einval('a whole-document operation takes no path');
  const xattr = isXattrSpec(spec);
  if (!multi && (docFlags & CreateAsDeleted) !== 0 && !xattr) throw einval('CREATE_AS_DELETED does not support a body path');
  if (!xattr) {
    if ((spec.flags & ExpandMacros) !== 0) throw new SubdocError('SubdocXattrInvalidFlagCombo', 'EXPAND_MACROS needs XATTR_PATH');
  } else {
    if (!xattrEnabled) throw new SubdocError('NotSupported', 'the connection did not negotiate XATTR');
    const key = xattrKeyOf(spec.path);
    checkXattrKey(key, spec.path);
    if (isVirtualXattr(key) && mutator) throw new SubdocError('SubdocXattrCantModifyVattr', `${key} is read-only`);
    if ((spec.flags & ExpandMacros) !== 0) checkMacro(spec.value.toString('utf8'));
  }
  if (t.emptyPath === 'no' && spec.path.length === 0 && !(multi && xattr)) throw einval('the operation needs a path');
}

/** kv `validate_macro`: one of the mutation macros, or a `${$document...}` one. */
function checkMacro(value: string): void {
  const known = [Macro.Cas, Macro.Seqno, Macro.ValueCrc32c].map((m) => JSON.stringify(m));
  if (known.includes(value)) return;
  if (value.startsWith('"${$document') && value.endsWith('}"')) return;
  throw new SubdocError('SubdocXattrUnknownMacro', `unknown macro ${value}`);
}

/** The multi-path command's checks over its list of specs. */
export function checkMultiSpecs(specs: readonly Spec[], mutator: boolean, docFlags: number, xattrEnabled: boolean, excess = false): void {
  if (specs.length === 0) throw new SubdocError('SubdocInvalidCombo', 'the request must hold at least one path');
  const tooMany = (): SubdocError => new SubdocError('SubdocInvalidCombo', `the request may hold at most ${SUBDOC_MULTI_MAX_PATHS} paths`);
  if (specs.length > SUBDOC_MULTI_MAX_PATHS) throw tooMany();
  let xattrsAllowed = true;
  let afterDelete = false;
  for (const spec of specs) {
    if (afterDelete) throw new SubdocError('SubdocInvalidCombo', 'nothing may follow a whole-document delete');
    checkSpec(spec, mutator, true, docFlags, xattrEnabled);
    const xattr = isXattrSpec(spec);
    // A whole-document DELETE must be the only spec on the body: after a body spec it is
    // INVALID_COMBO as anything after it is (subdocument_validators.cc `subdoc_multi_validator`).
    const deletesDoc = spec.opcode === WholeDoc.Delete && mutator;
    if (xattrsAllowed) xattrsAllowed = xattr;
    else if (xattr) throw new SubdocError('SubdocInvalidXattrOrder', 'xattr specs must come before body specs');
    else if (deletesDoc) throw new SubdocError('SubdocInvalidCombo', 'a whole-document delete cannot follow a body spec');
    if (deletesDoc) afterDelete = true;
  }
  // kv checks the first 16 specs, then refuses whatever follows them.
  if (excess) throw tooMany();
}
