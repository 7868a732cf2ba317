/**
 * One document write, as PUT, POST, DELETE, `_bulk_docs`, multipart PUT and attachment PUT all do
 * it. The body is parsed by couch/doc.ts parseDocument; then:
 *
 * 1. the bytes of inline and `follows` attachments are stored by digest (att-store.ts) before
 *    anything references them, gzip-compressed when their type is compressible (att-encoding.ts);
 * 2. in one turn: load the tree, resolve `stub` attachments against the parent revision
 *    (couch/attachments.ts resolveAttachments: `412 missing_stub`), apply the interactive
 *    (couch/edit.ts applyInteractiveEdit) or replicated (`new_edits: false`,
 *    applyReplicatedEdit) rules, and store (doc-store.ts).
 *
 * The parent of an interactive edit is the `_rev` named (or the winning tombstone when a deleted
 * document is re-created); of a replicated one, the nearest stored ancestor of the new revision
 * (couch_db.erl make_first_doc_on_disk/4).
 *
 * `validate` (validate_doc_update, built per request by src/design/validate.ts) runs in the same
 * turn, before the store, with the arguments couch_db.erl prep_and_validate_update gives it: the
 * edit as sent (`_rev` the parent, `_revisions`, attachment stubs) and the parent revision's
 * document, or null for a new document; for a replicated edit the new revision and its nearest
 * stored ancestor. Design documents are not validated (CouchDB checks only that an admin writes them).
 */
import { checkAttachmentSize, checkRevisionSize, prepareAttachments, resolveAttachments, type AttachmentMeta, type IncomingAttachment } from '../couch/attachments.js';
import { buildDocResponse, docRev, isDesignId, type ParsedDoc } from '../couch/doc.js';
import { designFieldsError, designReduceError } from '../couch/design-fields.js';
import { attachmentsToJson } from '../couch/attachments.js';
import { isDeleted, revisionsFor } from '../couch/rev-tree-query.js';
import type { Revisions } from '../couch/rev-tree.js';
import { docJson } from './doc-json.js';
import { CouchError } from '../couch/errors.js';
import { applyInteractiveEdit, applyReplicatedEdit, previousStoredRev } from '../couch/edit.js';
import { parseRev } from '../couch/rev.js';
import { MAX_VALUE_BYTES } from '../engine/limits.js';
import { putAttachmentData } from './att-store.js';
import type { Db } from './db.js';
import { updateDoc, type DocState } from './doc-store.js';
import { designPartitionError, validatePartitionedDocId } from './partition.js';
import { diskTooFull } from './disk-monitor.js';
import { notePartitionWrite, partitionFull } from './partition-size.js';
import { storedDocBytes } from './doc-sizes.js';

export interface DocWriteOptions {
  newEdits: boolean;
  /** Bytes of `follows: true` attachments (multipart/related), by name. */
  followsData?: ReadonlyMap<string, Buffer>;
  /** The database's `_revs_limit`, when the caller already read it (a batch reads it once). */
  revsLimit?: number;
  /** validate_doc_update (see the header); throws to refuse the write. */
  validate?: DocValidator;
}

/** validate_doc_update as a write calls it: throw (a CouchError 401/403/500) to refuse. */
export type DocValidator = (newDoc: Record<string, unknown>, oldDoc: Record<string, unknown> | null) => void;

/** The edit as validate_doc_update sees it (couch_doc:to_json_obj(Doc, [revs]), attachments as stubs). */
function editJson(id: string, rev: string | null, revisions: Revisions | null, doc: ParsedDoc, atts: readonly AttachmentMeta[]): Record<string, unknown> {
  const out = buildDocResponse({
    id,
    rev: rev ?? '',
    body: doc.body,
    deleted: doc.deleted,
    ...(revisions ? { revisions } : {}),
    ...(atts.length > 0 ? { attachments: attachmentsToJson(atts, { attachments: false, follows: false }, () => Buffer.alloc(0)) } : {}),
  });
  if (rev === null) delete out._rev;
  return out;
}

/** A stored revision as validate_doc_update's `oldDoc`, or null. */
function storedJson(db: Db, state: DocState | null, rev: string | null): Record<string, unknown> | null {
  if (!state || rev === null) return null;
  const data = state.revData(rev);
  if (!data || data.opaque) return null;
  return docJson(db, state, rev, data, isDeleted(state.tree, rev) ?? false, { revs: true });
}

/**
 * Store the bytes of every attachment that carries data, before the revision exists, as CouchDB
 * flushes them before it computes the new rev (couch_db update_docs: doc_flush_atts, then
 * new_revs): compressed or not under the database's `[attachments]` settings
 * (couch/attachments.ts resolveAttachments, att-encoding.ts). The document comes back with those
 * entries as `stored` ones, so the write neither re-reads nor re-hashes them.
 */
async function prestoreAttachments(db: Db, doc: ParsedDoc, followsData?: ReadonlyMap<string, Buffer>): Promise<ParsedDoc> {
  const incoming = doc.attachments ?? [];
  const withData = incoming.filter((a) => a.kind === 'inline' || a.kind === 'follows');
  const opts = { docId: doc.id ?? '', newRevpos: null, parent: null, followsData, compression: db.attachmentCompression(), maxLength: MAX_VALUE_BYTES };
  const { attachments, data } = resolveAttachments(withData, { ...opts, prepared: await prepareAttachments(withData, opts) });
  // Refuse an oversized attachment before any of its bytes are stored.
  for (const meta of attachments) checkAttachmentSize(meta.name, meta.length, MAX_VALUE_BYTES);
  const byName = new Map<string, IncomingAttachment>();
  for (const meta of attachments) {
    await putAttachmentData(db, data.get(meta.name)!, meta.digest);
    byName.set(meta.name, { kind: 'stored', name: meta.name, contentType: meta.contentType, meta });
  }
  return { ...doc, attachments: incoming.map((a) => byName.get(a.name) ?? a) };
}

function parentAtts(state: DocState | null, rev: string | null): AttachmentMeta[] | null {
  if (!state || rev === null) return null;
  return state.revData(rev)?.atts ?? null;
}

function digestsOf(atts: readonly AttachmentMeta[]): Array<{ name: string; contentType: string; digest: string }> {
  return atts.map((a) => ({ name: a.name, contentType: a.contentType, digest: a.digest }));
}

/** Write one document; resolves to the revision written (or already present, for replicated writes). */
export function writeDoc(db: Db, id: string, doc: ParsedDoc, opts: DocWriteOptions): Promise<string> {
  // couch_db:update_docs/4: interactive edits are refused while `[disk_monitor]` says the disk is
  // too full (disk-monitor.ts); replicated ones are not.
  if (opts.newEdits && db.interactiveWritesBlocked()) return Promise.reject(diskTooFull());
  db.stats.writes++; // CouchDB `database_writes`
  // A partitioned database takes `partition:rest` ids only (couch_db:validate_docid/2), whoever writes.
  if (db.partitioned) {
    try {
      validatePartitionedDocId(id);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  // No `async`: most writes carry no attachment data and go straight to the store (see updateDoc).
  if (doc.attachments?.some((a) => a.kind === 'inline' || a.kind === 'follows')) {
    return prestoreAttachments(db, doc, opts.followsData).then((stored) => storeWrite(db, id, stored, opts));
  }
  try {
    return storeWrite(db, id, doc, opts);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The size rule for a revision with attachments (couch/attachments.ts checkRevisionSize). Without
 * attachments the engine's own value check applies to the stored body. The body is serialised
 * without the attachment data (parseDocument took `_attachments` out of it).
 */
function checkSize(id: string, doc: ParsedDoc, atts: readonly AttachmentMeta[]): void {
  if (atts.length === 0) return;
  checkRevisionSize(id, Buffer.byteLength(JSON.stringify(doc.body)), atts, MAX_VALUE_BYTES);
}

function storeWrite(db: Db, id: string, doc: ParsedDoc, opts: DocWriteOptions): Promise<string> {
  if (!doc.deleted && isDesignId(id)) {
    // couch_db validate_doc_update → couch_mrview:validate/2 for every design document write.
    const why = designFieldsError(doc.body) ?? designPartitionError(doc.body, db.partitioned) ?? designReduceError(doc.body);
    if (why !== null) return Promise.reject(new CouchError('invalid_design_doc', { params: { detail: why } }));
  }
  const revsLimit = opts.revsLimit ?? db.revsLimit;
  const incoming = doc.attachments ?? [];
  // max_partition_size: checked before the write, for interactive edits that would grow a
  // document of a full partition (partition-size.ts).
  const full = db.partitioned && opts.newEdits && !doc.deleted && !isDesignId(id) && partitionFull(db, id, db.maxPartitionSize());
  let storedBefore = 0;
  const written = updateDoc(db, id, revsLimit, (state) => {
    storedBefore = db.partitioned && state && !state.winner.deleted ? storedDocBytes(state.item) : 0;
    if (opts.newEdits) {
      const rev = docRev(doc);
      // Only a stored leaf can be edited: anything else is the conflict CouchDB reports first.
      if (rev !== null && (!state || !state.revData(rev))) throw new CouchError('conflict');
      const parentRev = rev ?? (state && state.winner.deleted ? state.winner.rev : null);
      const newRevpos = (parentRev === null ? 0 : parseRev(parentRev).pos) + 1;
      const { attachments } = resolveAttachments(incoming, {
        docId: id,
        newRevpos,
        parent: parentAtts(state, parentRev),
      });
      checkSize(id, doc, attachments);
      if (full && jsonBytes(doc.body) > (state && !state.winner.deleted ? jsonBytes(state.revData(state.winner.rev)?.body ?? {}) : 0)) {
        throw new CouchError('partition_overflow', { params: { id } });
      }
      if (opts.validate && !id.startsWith('_design/')) {
        const sent = rev === null ? null : (state && revisionsFor(state.tree, rev)) ?? null;
        opts.validate(editJson(id, rev, sent, doc, attachments), rev === null ? null : storedJson(db, state, rev));
      }
      const edit = applyInteractiveEdit(state?.tree ?? null, {
        rev,
        deleted: doc.deleted,
        body: doc.body,
        attachmentsDigests: digestsOf(attachments),
        revsLimit,
      });
      return { next: { tree: edit.tree, rev: edit.rev, data: { body: doc.body, atts: attachments } }, result: edit.rev };
    }
    if (!doc.revisions) throw new CouchError('new_edits_needs_rev');
    const merged = applyReplicatedEdit(state?.tree ?? null, doc.revisions, doc.deleted, revsLimit);
    if (!merged.changed) return { next: null, result: merged.rev };
    const { attachments } = resolveAttachments(incoming, {
      docId: id,
      newRevpos: null,
      parent: parentAtts(state, previousStoredRev(merged.tree, merged.rev)),
    });
    checkSize(id, doc, attachments);
    if (opts.validate && !id.startsWith('_design/')) {
      opts.validate(editJson(id, merged.rev, doc.revisions, doc, attachments), storedJson(db, state, previousStoredRev(merged.tree, merged.rev)));
    }
    return { next: { tree: merged.tree, rev: merged.rev, data: { body: doc.body, atts: attachments } }, result: merged.rev };
  });
  if (!db.partitioned) return written;
  return written.then((rev) => {
    const item = db.docs.lookup(Buffer.from(id, 'utf8'));
    notePartitionWrite(db, id, (item && !item.deleted ? storedDocBytes(item) : 0) - storedBefore);
    return rev;
  });
}

function jsonBytes(body: unknown): number {
  return Buffer.byteLength(JSON.stringify(body));
}

/**
 * A writer for a batch of documents (`_bulk_docs`, a local replication peer): every write starts
 * at once, so the engine commits the batch in one synced transaction, except that writes of one
 * id apply in the order they were started (two edits of one document in a batch).
 */
export function orderedWriter(db: Db): (id: string, doc: ParsedDoc, opts: DocWriteOptions) => Promise<string> {
  const lastWrite = new Map<string, Promise<string>>();
  // One `_revs_limit` read (an LMDB get) per batch rather than per document.
  const revsLimit = db.revsLimit;
  return (id, doc, opts) => {
    const before = lastWrite.get(id);
    const start = (): Promise<string> => writeDoc(db, id, doc, { revsLimit, ...opts });
    const written = before ? before.then(start, start) : start();
    lastWrite.set(id, written);
    return written;
  };
}
