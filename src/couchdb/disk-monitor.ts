/**
 * `[disk_monitor]`, CouchDB 3.4's reaction to a filling disk (couch/src/couch_disk_monitor.erl,
 * docs config/disk-monitor.rst). Off unless `enable = true`; then the percentage of the data
 * directory's filesystem in use (CouchDB's database_dir and view_index_dir, one directory here)
 * is compared with `>` against three thresholds, each read at the moment of the check:
 *
 * - `interactive_database_writes_threshold` (90): above it, interactive document writes
 *   (couch_db:update_docs/4 with interactive_edit: PUT, POST, DELETE, COPY, `_bulk_docs`,
 *   attachments, `_local` documents, update functions) fail with 507 `insufficent_storage`
 *   "database_dir is too full", each document of a `_bulk_docs` as its own row. Replicated
 *   writes (`new_edits=false`) and database deletion still go through.
 * - `interactive_view_indexing_threshold` (90): above it, a view query that would bring a stale
 *   index up to date fails with 507 "not enough room to update index"
 *   (couch_mrview_util:get_view_index_state/5); an index already up to date answers, and so does
 *   any index with `stale=ok` / `update=false`.
 * - `background_view_indexing_threshold` (80): CouchDB's ken stops starting background index
 *   builds above it. Freshet builds indexes only when queried (no background indexer runs after a
 *   design document is written), so there is nothing for it to stop: the key is kept, unused.
 *
 * So `0` blocks as soon as anything is used, and `100` never. The percentage is `df`'s (what
 * CouchDB's disksup reports): used blocks over used plus those available to unprivileged users,
 * rounded up. It is read with statfs when a check needs it and at most once a minute (disksup
 * refreshes on its own interval); a failed read leaves the last value (0 at first, as
 * couch_disk_monitor starts).
 */
import { statfsSync } from 'node:fs';
import { CouchError } from '../couch/errors.js';
import type { CouchConfig } from './config.js';

const SECTION = 'disk_monitor';
const REFRESH_MS = 60_000;

/** The statfs fields the percentage needs. */
export interface FsStats {
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
}

/** couch_db:update_docs/4's answer to an interactive edit while interactive writes are blocked. */
export function diskTooFull(): CouchError {
  return new CouchError('disk_too_full', { params: { detail: 'database_dir is too full' } });
}

/** fabric_view_map's answer to a query that would update an index while indexing is blocked. */
export function indexTooFull(): CouchError {
  return new CouchError('disk_too_full', { params: { detail: 'not enough room to update index' } });
}

export class DiskMonitor {
  #percentUsed = 0;
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: CouchConfig,
    private readonly dir: string,
    private readonly now: () => number = Date.now,
    private readonly statfs: (dir: string) => FsStats = (dir) => statfsSync(dir),
  ) {}

  /** config:get_boolean("disk_monitor", "enable", false). */
  get enabled(): boolean {
    return this.config.get(SECTION, 'enable') === 'true';
  }

  /** The percentage of the data directory's filesystem in use, as `df` shows it. */
  percentUsed(): number {
    const now = this.now();
    if (now - this.#readAt >= REFRESH_MS) {
      this.#readAt = now;
      try {
        const { blocks, bfree, bavail } = this.statfs(this.dir);
        const used = blocks - bfree;
        this.#percentUsed = used + bavail > 0 ? Math.ceil((used * 100) / (used + bavail)) : 0;
      } catch {
        // Keep the last reading: the next check, a minute on, tries again.
      }
    }
    return this.#percentUsed;
  }

  blockInteractiveDatabaseWrites(): boolean {
    return this.#above('interactive_database_writes_threshold', 90);
  }

  blockInteractiveViewIndexing(): boolean {
    return this.#above('interactive_view_indexing_threshold', 90);
  }

  #above(key: string, fallback: number): boolean {
    return this.enabled && this.percentUsed() > this.config.int(SECTION, key, fallback);
  }
}
