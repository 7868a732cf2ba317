/**
 * `_local/` documents' storage (CouchDB api/local.rst; couch-replication.md §1.4, §3.7):
 * replication checkpoints. No revision tree: `_rev` is `0-N`, N counting updates, and a delete
 * answers `0-0`. They live in the database's `couch_local` side database (db.ts; one per keyspace,
 * side-store.ts), so they are
 * never in `_changes`, `_all_docs` or DCP, and never replicated.
 *
 * A stale or missing `_rev` on an existing document is a 409, as PouchDB and pouchdb-server do
 * (CouchDB does not check; PouchDB's and CouchDB's replicators both cope with either, re-reading
 * on conflict). Updates run inside one LMDB write transaction, so two racing PUTs cannot both win.
 * The routes are src/http/local-docs.ts; the replicator's local peer writes checkpoints here too.
 */
import { CouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import { diskTooFull } from './disk-monitor.js';

export const LOCAL_PREFIX = '_local/';

export interface LocalRecord {
  rev: number;
  body: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readLocal(db: Db, id: string): LocalRecord | undefined {
  const v = db.local.get(id);
  return isObject(v) && typeof v.rev === 'number' && isObject(v.body) ? (v as unknown as LocalRecord) : undefined;
}

export function localJson(id: string, rec: LocalRecord): Record<string, unknown> {
  return { _id: LOCAL_PREFIX + id, _rev: `0-${rec.rev}`, ...rec.body };
}

/** The N of a `0-N` rev (CouchDB also accepts a bare number). */
function localRevNumber(rev: unknown): number {
  if (typeof rev !== 'string') throw new CouchError('invalid_rev_format');
  const m = /^(?:0-)?(\d+)$/.exec(rev);
  if (!m) throw new CouchError('invalid_rev_format');
  return Number(m[1]);
}

/** Ids of the local documents in key order (reverse when `descending`), lazily. */
export function* localIds(db: Db, descending: boolean): Iterable<string> {
  yield* db.local.keys(descending);
}

/** Write (or delete, with `body` null) a local doc inside one write transaction. */
export async function updateLocal(db: Db, id: string, givenRev: string | undefined, body: Record<string, unknown> | null): Promise<number> {
  // couch_db:update_docs/4 refuses interactive `_local` writes too while `[disk_monitor]` blocks them.
  if (db.interactiveWritesBlocked()) throw diskTooFull();
  return db.local.transaction(() => {
    const current = readLocal(db, id);
    const given = givenRev === undefined ? undefined : localRevNumber(givenRev);
    if (current ? given !== current.rev : given !== undefined && given !== 0) throw new CouchError('conflict');
    if (body === null) {
      if (!current) throw new CouchError('not_found');
      db.local.removeSync(id);
      return 0;
    }
    const rev = (current?.rev ?? 0) + 1;
    db.local.putSync(id, { rev, body } satisfies LocalRecord);
    return rev;
  });
}
