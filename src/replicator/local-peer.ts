/**
 * A local Freshet database as a replication peer: the `Peer` requests (couch-replication.md
 * §1.2) answered by the HTTP face's document store directly, in this process, without HTTP or
 * JSON on the wire. Source and target may each be local or remote, so push, pull and
 * local-to-local replications all run through the same replicator.
 *
 * What each request does here (and over HTTP):
 *   info              Db counts and `update_seq`                    (GET /{db})
 *   create            Engine.createBucket                           (PUT /{db})
 *   changes           local-changes.ts over the engine change order (_changes, all_docs)
 *   revsDiff          rev-tree-query revsDiff per document          (_revs_diff)
 *   fetch             open_revs + latest, `_revisions`, bytes       (_bulk_get / open_revs)
 *   write             writeDoc new_edits:false, attachment bytes    (_bulk_docs / multipart PUT)
 *   get/putLocal      the `couch_local` side database               (_local/{id})
 *   ensureFullCommit  nothing to do: acknowledged writes are synced  (_ensure_full_commit)
 *
 * Replication id: CouchDB 2.x hashed a local endpoint as `{local, DbName, UserCtx}`
 * (couch_replicator_ids.erl get_v4_endpoint/2), so the user the replication runs as is part of
 * the id, as the URL's user is for a remote endpoint.
 *
 * The name may be a keyspace (`bucket.scope.collection`, couchdb/keyspace.ts): the peer is then
 * that collection alone, its changes, documents and `_local` checkpoints. `authorize` is called before every use of
 * the database (and before creating it), so a replication started for a user stops being able to
 * touch a database that user lost access to.
 */
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import { isEngineError } from '../engine/errors.js';
import { CouchError, isCouchError } from '../couch/errors.js';
import { parsePartitionedOpt } from '../couchdb/partition.js';
import { parseDocument, type ParsedDoc } from '../couch/doc.js';
import { revsDiff } from '../couch/rev-tree-query.js';
import { Db } from '../couchdb/db.js';
import { bucketNameOf, lookupKeyspace } from '../couchdb/keyspace.js';
import { attachmentsWithData, docJson, storedAttachmentBytes, type DocOutOptions } from '../couchdb/doc-json.js';
import { openRevs } from '../couchdb/doc-revs.js';
import { loadDoc } from '../couchdb/doc-store.js';
import { orderedWriter } from '../couchdb/doc-write.js';
import { validateNewDbName } from '../couchdb/db-names.js';
import { updateLocal } from '../couchdb/local-docs.js';
import { toCouchError } from '../couchdb/errors.js';
import { toFetched } from './doc-fetch.js';
import { ReplicationError } from './errors.js';
import { LocalChanges } from './local-changes.js';
import { sharedDesignFunctions, type DesignFunctions } from '../design/design-docs.js';
import { docValidator, userCtxOf } from '../design/validate.js';
import type {
  ChangesSource, FetchedDoc, FetchRequest, FetchResult, LocalEndpointIdentity, Peer, PeerChangesOptions, PeerInfo, RevsDiffResult, WriteFailure,
} from './peer.js';

/** CouchDB's `#user_ctx{}`: who a replication runs as. */
export interface LocalUserCtx {
  name: string | null;
  roles: string[];
}

export type LocalAction = 'access' | 'create';

export interface LocalPeerOptions {
  /** Default: an anonymous server admin (`{name: null, roles: ['_admin']}`), the library's own rights. */
  userCtx?: LocalUserCtx;
  /**
   * Throws (a ReplicationError, REPLICATOR_UNAUTHORIZED/FORBIDDEN) when the user may not do
   * `action`; `db` is the database when it exists (its security object applies).
   */
  authorize?: (dbName: string, action: LocalAction, db?: Db) => void;
  /** Checks (and may rewrite: `_users` passwords) one document before it is written; throws a CouchError to refuse it. */
  guardWrite?: (db: Db, id: string, doc: ParsedDoc) => Promise<void> | undefined;
  /** vbuckets of a database `create()` makes (default 1024, as `PUT /{db}` without `q`). */
  numVBuckets?: number;
  /** The HTTP face's handle cache, when the peer runs inside a server. */
  dbHandle?: (bucket: Bucket, collectionId: number) => Db;
  /** Design functions (filters, validate_doc_update): the server's; default the process's shared one. */
  design?: DesignFunctions;
}

/** Something holding an engine: a FreshetServer, or the Engine itself. */
export type EngineHost = Engine | { readonly engine: Engine };

function engineOf(host: EngineHost): Engine {
  return 'engine' in host ? host.engine : host;
}

function localKey(id: string): string {
  return id.startsWith('_local/') ? id.slice('_local/'.length) : id;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class LocalPeer implements Peer {
  readonly label: string;
  readonly endpoint: LocalEndpointIdentity;
  private readonly engine: Engine;
  private handle: Db | undefined;
  private readonly user: LocalUserCtx;
  private readonly design: DesignFunctions;

  constructor(
    host: EngineHost,
    readonly dbName: string,
    private readonly opts: LocalPeerOptions = {},
  ) {
    this.engine = engineOf(host);
    this.label = dbName;
    const user = opts.userCtx ?? { name: null, roles: ['_admin'] };
    this.user = user;
    this.design = opts.design ?? sharedDesignFunctions();
    this.endpoint = { local: { dbName, userName: user.name, roles: [...user.roles] } };
  }

  /**
   * The database, after the access check (on its bucket); REPLICATOR_DB_NOT_FOUND when it does
   * not exist. `dbName` may be a `bucket.scope.collection` keyspace (couchdb/keyspace.ts).
   */
  private db(): Db {
    const found = lookupKeyspace(this.engine, this.dbName);
    if (found.kind !== 'ok') {
      this.opts.authorize?.(found.kind === 'no_bucket' ? found.bucketName : found.bucket.name, 'access');
      const reason = found.kind === 'no_keyspace' ? found.reason : 'Database does not exist.';
      throw new ReplicationError('DB_NOT_FOUND', this.dbName, { url: this.dbName, status: 404, error: 'not_found', reason });
    }
    const { bucket, collectionId } = found;
    if (this.handle?.bucket !== bucket || this.handle.collectionId !== collectionId) {
      this.handle = this.opts.dbHandle?.(bucket, collectionId) ?? new Db(bucket, collectionId);
    }
    this.opts.authorize?.(bucket.name, 'access', this.handle);
    return this.handle;
  }

  async info(): Promise<PeerInfo> {
    const db = this.db();
    return { dbName: db.name, updateSeq: db.updateSeq, instanceStartTime: '0', docCount: db.counts().docCount };
  }

  /**
   * Create the database when missing (`create_target`). A keyspace is never created: its bucket
   * and collection come from the management API, so a missing one is an error here.
   */
  async create(params: Readonly<Record<string, string>> = {}): Promise<boolean> {
    this.opts.authorize?.(this.dbName, 'create');
    const found = lookupKeyspace(this.engine, this.dbName);
    if (found.kind === 'ok') return false;
    if (found.kind === 'no_keyspace') {
      throw new ReplicationError('DB_NOT_FOUND', found.reason, { url: this.dbName, status: 404, error: 'not_found', reason: `${found.reason}; create collections with the management API` });
    }
    try {
      validateNewDbName(this.dbName);
    } catch (err) {
      const reason = isCouchError(err) ? err.reason : String(err);
      throw new ReplicationError('BAD_REQUEST', reason, { error: 'illegal_database_name', reason, status: 400 });
    }
    let partitioned: boolean;
    let q: number;
    try {
      partitioned = parsePartitionedOpt(params.partitioned ?? null, this.dbName);
      q = params.q === undefined ? this.opts.numVBuckets ?? 1024 : Number(params.q);
      if (!Number.isInteger(q) || q < 1 || q > 1024) throw new CouchError('bad_request', { reason: 'q must be an integer from 1 to 1024' });
    } catch (err) {
      const reason = isCouchError(err) ? err.reason : String(err);
      throw new ReplicationError('BAD_REQUEST', reason, { error: 'bad_request', reason, status: 400 });
    }
    try {
      const bucket = await this.engine.createBucket(bucketNameOf(this.dbName), { numVBuckets: q });
      if (partitioned) await (this.opts.dbHandle?.(bucket, 0) ?? new Db(bucket, 0)).markPartitioned();
      return true;
    } catch (err) {
      if (isEngineError(err, 'KEY_EEXISTS')) return false;
      throw err;
    }
  }

  changes(opts: PeerChangesOptions): ChangesSource {
    const db = this.db();
    return new LocalChanges(db, opts, { design: this.design, userCtx: userCtxOf(db, this.user) });
  }

  async revsDiff(revs: Record<string, string[]>): Promise<Record<string, RevsDiffResult>> {
    const db = this.db();
    const out: Record<string, RevsDiffResult> = {};
    for (const [id, list] of Object.entries(revs)) {
      const state = loadDoc(db, id, db.revsLimit);
      const diff = revsDiff(state?.tree ?? null, list);
      if (diff && diff.missing.length > 0) out[id] = diff;
    }
    return out;
  }

  /**
   * Each requested leaf (with `latest`, the leaves that descend from it) with its `_revisions`;
   * attachments newer than what the target has (`attsSince`) carry their bytes, older ones stay
   * stubs, as `GET ?open_revs&atts_since` answers.
   */
  async fetch(reqs: readonly FetchRequest[]): Promise<FetchResult[]> {
    const db = this.db();
    const out: FetchResult[] = [];
    for (const req of reqs) {
      try {
        const state = loadDoc(db, req.id, db.revsLimit);
        // The bytes as stored, compressed ones with their encoding, as a multipart open_revs sends them.
        const opts: DocOutOptions = { revs: true, attachments: true, attsSince: req.attsSince.length > 0 ? req.attsSince : null, follows: true, encodingInfo: true };
        for (const r of openRevs(state, [req.rev], true)) {
          if ('missing' in r || !state) {
            out.push({ missing: { id: req.id, rev: 'missing' in r ? r.missing : req.rev } });
            continue;
          }
          const json = docJson(db, state, r.ok.rev, r.ok.data, r.ok.deleted, opts);
          const bytes = new Map(attachmentsWithData(state, r.ok.rev, r.ok.data.atts, opts).map((m) => [m.name, storedAttachmentBytes(db, m)]));
          out.push({ ok: toFetched(json, bytes) });
        }
      } catch (err) {
        const e = toCouchError(err);
        out.push({ error: { id: req.id, rev: req.rev, error: e.error, reason: e.reason, status: e.status } });
      }
    }
    return out;
  }

  /**
   * `new_edits: false` writes, all started at once so the engine commits them together; a
   * document's failure (a bad body, a missing stub, a validate_doc_update refusal: 401/403, which
   * the replicator counts in `doc_write_failures`) is that document's, as in `_bulk_docs`.
   */
  async write(docs: readonly FetchedDoc[]): Promise<WriteFailure[]> {
    const db = this.db();
    const write = orderedWriter(db);
    const validate = await docValidator(this.design, db, userCtxOf(db, this.user));
    const results = await Promise.all(
      docs.map(async (d): Promise<WriteFailure | null> => {
        try {
          const parsed = parseDocument(d.doc);
          const followsData = d.attachments.length > 0 ? new Map(d.attachments.map((a) => [a.name, a.data])) : undefined;
          const guarded = this.opts.guardWrite?.(db, d.id, parsed);
          if (guarded) await guarded;
          await write(d.id, parsed, { newEdits: false, ...(followsData ? { followsData } : {}), ...(validate ? { validate } : {}) });
          return null;
        } catch (err) {
          // The error row `_bulk_docs` would answer (CouchError toJSON): a thrown object stays one.
          const { error, reason } = toCouchError(err).toJSON();
          return { id: d.id, rev: d.rev, error, reason };
        }
      }),
    );
    return results.filter((f) => f !== null);
  }

  async getLocal(id: string): Promise<Record<string, unknown> | null> {
    const rec = this.db().local.get(localKey(id));
    if (!isObject(rec) || typeof rec.rev !== 'number' || !isObject(rec.body)) return null;
    return { _id: `_local/${localKey(id)}`, _rev: `0-${rec.rev}`, ...rec.body };
  }

  async putLocal(id: string, body: Record<string, unknown>): Promise<string> {
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) if (!k.startsWith('_')) plain[k] = v;
    try {
      const rev = await updateLocal(this.db(), localKey(id), typeof body._rev === 'string' ? body._rev : undefined, plain);
      return `0-${rev}`;
    } catch (err) {
      if (!isCouchError(err)) throw err;
      // The checkpointer re-reads and retries on a 409, as it does over HTTP.
      throw new ReplicationError('HTTP', `${id}: ${err.error}`, { status: err.status, error: err.error, reason: err.reason, url: this.dbName });
    }
  }

  async readDoc(id: string): Promise<Record<string, unknown> | null> {
    const db = this.db();
    const state = loadDoc(db, id, db.revsLimit);
    if (!state || state.winner.deleted) return null;
    const data = state.revData(state.winner.rev);
    return data ? docJson(db, state, state.winner.rev, data, false) : null;
  }

  /** Acknowledged writes are already synced by the engine's group commit. */
  async ensureFullCommit(): Promise<string> {
    this.db();
    return '0';
  }

  async close(): Promise<void> {
    this.handle = undefined;
  }
}

/**
 * A database of a Freshet server (or engine) in this process, as a replication endpoint:
 * `replicate({ source: localDatabase(server, 'db'), target: 'http://host:5984/db' })`.
 */
export function localDatabase(host: EngineHost, dbName: string, opts: LocalPeerOptions = {}): LocalPeer {
  return new LocalPeer(host, dbName, opts);
}
