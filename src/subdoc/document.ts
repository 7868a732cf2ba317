/**
 * The document-level rules of a sub-document mutation (kv docs/SubDocument.md "Mutation
 * semantics", "Doc Flags"; subdocument.cc fetch/update): which version the specs run on, whether
 * the result is a tombstone, and the next version handed to the engine (engine/subdoc-write.ts).
 *
 * | doc flags          | no document / tombstone        | live document   |
 * |--------------------|--------------------------------|-----------------|
 * | none               | KEY_ENOENT                     | REPLACE         |
 * | MKDOC              | created (SET)                  | changed         |
 * | ADD                | created (a tombstone with      | KEY_EEXISTS     |
 * |                    | ACCESS_DELETED: KEY_EEXISTS)   |                 |
 *
 * ACCESS_DELETED makes a tombstone a document to work on (it stays deleted; REVIVE_DOCUMENT makes
 * it live again, and a live document with REVIVE is SubdocCanOnlyReviveDeletedDocuments).
 * CREATE_AS_DELETED creates a tombstone. A CAS must match the version worked on; with no such
 * version it is KEY_ENOENT.
 */
import { SubdocDocFlag } from '../codec/ops/subdoc.js';
import { stringify } from '../codec/json-tree.js';
import { DATATYPE_JSON, DATATYPE_RAW } from '../engine/types.js';
import type { Item } from '../engine/types.js';
import type { DocumentEdit } from '../engine/subdoc-write.js';
import { detectDatatype } from '../engine/mutations.js';
import { SubdocError } from './errors.js';
import type { MutationPlan } from './execute.js';
import { expandMacro } from './xattrs.js';

const { Mkdoc, Add, AccessDeleted, CreateAsDeleted, ReviveDocument } = SubdocDocFlag;

export interface Base {
  /** The version the specs run on; undefined when the document is being created. */
  readonly base: Item | undefined;
  /** Whether that version (or the one being created) is a tombstone after the mutation. */
  readonly deleted: boolean;
}

export function decideBase(current: Item | undefined, docFlags: number, cas: bigint): Base {
  const has = (f: number): boolean => (docFlags & f) !== 0;
  const live = current !== undefined && !current.deleted;
  let result: Base;
  if (live) {
    if (has(Add)) throw new SubdocError('KeyEexists', 'the document exists');
    if (has(ReviveDocument)) throw new SubdocError('SubdocCanOnlyReviveDeletedDocuments', 'only a deleted document can be revived');
    result = { base: current, deleted: false };
  } else if (current !== undefined && has(AccessDeleted)) {
    // ACCESS_DELETED fetches the tombstone, which exists for ADD (subdocument.cc subdoc_fetch:
    // an ADD that found a document is KEY_EEXISTS); transactions detect a tombstone that way.
    if (has(Add)) throw new SubdocError('KeyEexists', 'a tombstone exists (ACCESS_DELETED with ADD)');
    result = { base: current, deleted: !has(ReviveDocument) };
  } else if (has(Mkdoc) || has(Add)) {
    // A new version; a tombstone under it still gives the rev seqno (the engine's `current`).
    result = { base: undefined, deleted: has(CreateAsDeleted) };
  } else {
    throw new SubdocError('KeyEnoent', 'the document does not exist');
  }
  if (cas !== 0n) {
    if (!result.base) throw new SubdocError('KeyEnoent', 'no document to compare the CAS with');
    if (result.base.cas !== cas) throw new SubdocError('KeyEexists', 'CAS mismatch');
  }
  return result;
}

/** The engine's next version from a plan; macros are expanded once the write's CAS is known. */
export function planToEdit(plan: MutationPlan, maxJsonDepth: number): DocumentEdit {
  const datatype = plan.deleted ? DATATYPE_RAW : plan.bodyJson === true ? DATATYPE_JSON : detectDatatype(plan.body, maxJsonDepth);
  return {
    value: plan.body,
    datatype,
    deleted: plan.deleted,
    xattrs: (meta, value) => {
      if (plan.xattrs === null) return null;
      const resolve = plan.macros ? (name: string) => expandMacro(name, { cas: meta.cas, seqno: meta.seqno, body: value }) : undefined;
      return Buffer.from(stringify(plan.xattrs, resolve), 'utf8');
    },
  };
}
