/**
 * One batch of changes from source to target (couch-replication.md §1.2 steps 7-9):
 * `_revs_diff` on the target, read the missing leaves from the source with their `_revisions`
 * (so the target grows the same tree), write them with `new_edits: false`.
 *
 * Every leaf listed by `style=all_docs` is asked about, so conflicts and deleted leaves travel
 * like any revision and the rev trees end up identical. Per-document permission failures (401/403,
 * and 413/415 for one document, couch_replicator_worker.erl handle_doc_write_error) are counted in
 * `doc_write_failures` and skipped; any other per-document error fails the batch, and with it the
 * job, which then restarts from its last checkpoint.
 */
import type { ChangeRow } from './changes-parse.js';
import { ReplicationError } from './errors.js';
import { reasonText, type FetchedDoc, type FetchRequest, type Peer, type RevsDiffResult, type WriteFailure } from './peer.js';
import type { ReplicationStats } from './stats.js';

const SKIPPED_ERRORS: ReadonlySet<string> = new Set(['unauthorized', 'forbidden', 'too_large', 'unsupported_media_type']);

export interface BatchContext {
  source: Peer;
  target: Peer;
  stats: ReplicationStats;
  signal?: AbortSignal;
  /**
   * Skip `_revs_diff` and treat every leaf as missing: set while filling a target that was empty
   * at the start, where the answer is known (CouchDB's replicator also drops `_revs_diff` when
   * nearly everything turns out missing). Writes with `new_edits:false` are idempotent, so a
   * revision the target got meanwhile is merely written twice.
   */
  skipRevsDiff?: boolean;
  /** Called for each document skipped on a per-document error (PouchDB's `denied` event). */
  onDenied?: (failure: WriteFailure) => void;
}

/** `{id: [revs]}` for `_revs_diff`, merging rows of one id (a feed may repeat a document). */
export function revsToCheck(rows: readonly ChangeRow[]): Record<string, string[]> {
  const revs: Record<string, string[]> = {};
  for (const row of rows) {
    if (row.changes.length === 0) continue;
    const list = (revs[row.id] ??= []);
    for (const c of row.changes) if (!list.includes(c.rev)) list.push(c.rev);
  }
  return revs;
}

/**
 * A first revision that came with the feed (`include_docs`) needs no `_bulk_get`: its history is
 * itself (`_revisions: {start: 1, ids: [hash]}`). Only for a single live leaf without
 * attachments, where the winning body is that leaf and complete (a deleted body is cut to its
 * `_id`/`_rev` by `include_docs`, attachments come as stubs).
 */
function fromFeed(row: ChangeRow): FetchedDoc | null {
  const doc = row.doc;
  const rev = row.changes[0]?.rev;
  if (!doc || row.changes.length !== 1 || row.deleted || rev === undefined || !rev.startsWith('1-')) return null;
  if (doc._rev !== rev || doc._id !== row.id || doc._attachments !== undefined || doc._deleted === true) return null;
  return { id: row.id, rev, doc: { ...doc, _revisions: { start: 1, ids: [rev.slice(2)] } }, attachments: [] };
}

export async function replicateBatch(rows: readonly ChangeRow[], ctx: BatchContext): Promise<void> {
  const { source, target, stats } = ctx;
  const revs = revsToCheck(rows);
  const ids = Object.keys(revs);
  if (ids.length === 0) return;
  stats.missing_checked += ids.reduce((n, id) => n + revs[id]!.length, 0);
  const diff: Record<string, RevsDiffResult> = ctx.skipRevsDiff
    ? Object.fromEntries(ids.map((id) => [id, { missing: revs[id]! }]))
    : await target.revsDiff(revs);
  const requests: FetchRequest[] = [];
  const docs: FetchedDoc[] = [];
  const bodies = new Map<string, FetchedDoc>();
  if (ctx.skipRevsDiff) {
    for (const row of rows) {
      const d = fromFeed(row);
      if (d) bodies.set(d.id, d);
    }
  }
  for (const [id, entry] of Object.entries(diff)) {
    // Only what was asked about: a target naming other documents (or revisions) in its answer
    // would otherwise pull them past a filter or `doc_ids` (couch_replicator_worker asks
    // `_revs_diff` about the batch's own id/revs and fetches its answer's missing revs).
    const asked = Object.hasOwn(revs, id) ? revs[id]! : [];
    const missing = entry.missing.filter((rev) => asked.includes(rev));
    if (missing.length === 0) continue;
    stats.missing_found += missing.length;
    const known = bodies.get(id);
    if (known && missing.length === 1 && missing[0] === known.rev) {
      docs.push(known);
      continue;
    }
    for (const rev of missing) requests.push({ id, rev, attsSince: entry.possible_ancestors ?? [] });
  }

  const fetched = requests.length === 0 ? [] : await source.fetch(requests, ctx.signal);
  const requestedIds = new Set(requests.map((r) => r.id));
  const seen = new Set<string>();
  for (const result of fetched) {
    if ('ok' in result) {
      // A body that is not one of the documents asked for (another `_id`, or none, or no
      // `_rev`) is a broken source: written, it would be data nobody replicated. The batch fails
      // (retriable), as couch_doc:from_json_obj / the worker's id match fail CouchDB's.
      if (!requestedIds.has(result.ok.id) || result.ok.id === '' || !/^\d+-./.test(result.ok.rev)) {
        throw new ReplicationError('BAD_RESPONSE', `the source answered ${JSON.stringify(result.ok.id)} ${JSON.stringify(result.ok.rev)}, which was not asked for`, { docId: result.ok.id });
      }
      // `latest=true` can answer two requested revs with the same newer leaf: write it once.
      const key = `${result.ok.id}\u0000${result.ok.rev}`;
      if (seen.has(key)) continue;
      seen.add(key);
      docs.push(result.ok);
    } else if ('error' in result) {
      const { id, rev, error, reason } = result.error;
      if (!SKIPPED_ERRORS.has(error)) {
        throw new ReplicationError('BAD_RESPONSE', `reading ${id} ${rev}: ${error} ${reason}`, { docId: id, error, reason });
      }
      stats.doc_write_failures++;
      ctx.onDenied?.({ id, rev, error, reason });
    }
    // `missing`: the revision left the source after `_changes` listed it (compaction); a newer
    // change of that document comes later in the feed.
  }
  stats.docs_read += docs.length;
  if (docs.length === 0) return;

  const failures = await target.write(docs, ctx.signal);
  for (const f of failures) {
    if (!SKIPPED_ERRORS.has(f.error)) {
      const reason = reasonText(f.reason);
      throw new ReplicationError('WRITE_FAILED', `${f.id}: ${f.error} ${reason}`, { docId: f.id, error: f.error, reason });
    }
    ctx.onDenied?.(f);
  }
  stats.doc_write_failures += failures.length;
  stats.docs_written += docs.length - failures.length;
}
