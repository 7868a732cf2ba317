/**
 * What the replicator needs from each end of a replication: the replication protocol's requests
 * (couch-replication.md §1.2, §0.1) as one narrow interface. `HttpPeer` implements it over a
 * CouchDB-compatible URL; a local Freshet database can implement it over the engine's document
 * store without HTTP, and the replicator does not know the difference.
 *
 * Documents travel as JSON bodies with `_id`, `_rev`, `_revisions`, `_deleted` and
 * `_attachments`; attachment bytes travel beside them as Buffers (never base64 in memory), and the
 * `_attachments` entry of an attachment with bytes is marked `follows: true`. Stubs
 * (`stub: true`) are attachments the target already has from an ancestor revision.
 */
import type { ChangesBatch, ChangesFilter, FeedMode } from './follower.js';
import type { Seq } from './changes-parse.js';

export interface PeerInfo {
  dbName: string;
  updateSeq: Seq;
  /** Legacy, `"0"` on CouchDB 2+; compared around checkpoints (spec §1.2 step 10). */
  instanceStartTime: string;
  docCount?: number;
}

/**
 * How an endpoint enters CouchDB's v4 replication id (couch_replicator_ids.erl get_v4_endpoint):
 * the user, host, port (`'default'` for 80, 443, 5984), path and extra headers.
 */
export interface EndpointIdentity {
  user: string | undefined;
  host: string;
  port: number | 'default';
  path: string;
  headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * A database of this process's engine (local-peer.ts): CouchDB 2.x hashed such an endpoint as
 * `{local, DbName, UserCtx}` (get_v4_endpoint/2), the user context being who the replication
 * runs as.
 */
export interface LocalEndpointIdentity {
  local: { dbName: string; userName: string | null; roles: readonly string[] };
}

export interface PeerChangesOptions {
  since: Seq;
  feed: FeedMode;
  live: boolean;
  batchSize: number;
  style: 'all_docs' | 'main_only';
  filter?: ChangesFilter;
  /** Ask for the winning bodies (`include_docs=true`). */
  includeDocs?: boolean;
  heartbeatMs?: number;
  signal?: AbortSignal;
}

export interface ChangesSource extends AsyncIterable<ChangesBatch> {
  close(): Promise<void>;
}

/** `_revs_diff` answer for one document (ids with nothing missing are absent). */
export interface RevsDiffResult {
  missing: string[];
  possible_ancestors?: string[];
}

export interface FetchRequest {
  id: string;
  rev: string;
  /** Revisions the target has (`possible_ancestors`): attachments older than these stay stubs. */
  attsSince: string[];
}

export interface AttachmentData {
  name: string;
  contentType: string;
  data: Buffer;
  /** Set when `data` is still encoded (`gzip`), as CouchDB stores compressible types. */
  encoding?: string;
}

/** A revision read from the source, ready to be written to the target. */
export interface FetchedDoc {
  id: string;
  rev: string;
  doc: Record<string, unknown>;
  /** Bytes of the attachments marked `follows: true` in `doc._attachments`. */
  attachments: AttachmentData[];
}

export type FetchResult =
  | { ok: FetchedDoc }
  /** The revision is gone from the source (compacted or purged since `_changes`). */
  | { missing: { id: string; rev: string } }
  | { error: { id: string; rev: string; error: string; reason: string; status?: number } };

/**
 * A document the target refused, as a `_bulk_docs` error row: `reason` as CouchDB sends it, a
 * string or what a validate_doc_update threw (`{forbidden: {…}}` gives `reason: {…}`, chttpd
 * error_info/1), from an HTTP target and a local one alike.
 */
export interface WriteFailure {
  id: string;
  rev?: string;
  error: string;
  reason: unknown;
}

/** A failure's reason as log or message text (couch_replicator_worker formats it with `~s`). */
export function reasonText(reason: unknown): string {
  return typeof reason === 'string' ? reason : JSON.stringify(reason) ?? '';
}

export interface Peer {
  /** Printable name (URL without password). */
  readonly label: string;
  readonly endpoint: EndpointIdentity | LocalEndpointIdentity;
  /** `GET /{db}`; throws `REPLICATOR_DB_NOT_FOUND` when missing. */
  info(): Promise<PeerInfo>;
  /** `PUT /{db}` (with `params` as its query: `q`, `partitioned`); true when created, false when it existed (412). */
  create(params?: Readonly<Record<string, string>>): Promise<boolean>;
  changes(opts: PeerChangesOptions): ChangesSource;
  revsDiff(revs: Record<string, string[]>): Promise<Record<string, RevsDiffResult>>;
  /** Reads revisions with their `_revisions` history, in request order. */
  fetch(reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult[]>;
  /** `new_edits: false` writes; returns the documents that failed. */
  write(docs: readonly FetchedDoc[], signal?: AbortSignal): Promise<WriteFailure[]>;
  /** A `_local` document body, or null (`id` includes `_local/`). */
  getLocal(id: string): Promise<Record<string, unknown> | null>;
  /** Writes a `_local` document; returns its new `_rev`. Throws with status 409 on conflict. */
  putLocal(id: string, body: Record<string, unknown>): Promise<string>;
  /** A document by id (a design document holding a filter's code), or null. Optional. */
  readDoc?(id: string): Promise<Record<string, unknown> | null>;
  /** `_ensure_full_commit`; returns `instance_start_time`. */
  ensureFullCommit(): Promise<string>;
  close(): Promise<void>;
}
