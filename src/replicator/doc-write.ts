/**
 * Writing replicated revisions to an HTTP target (couch-replication.md §1.2 step 9, §3.4):
 *
 * - Documents without attachment bytes: one `POST /{db}/_bulk_docs` with
 *   `{"new_edits":false,"docs":[…]}` and `X-Couch-Full-Commit: false`. CouchDB answers 201 with
 *   only the failures (normally `[]`), or 417 with per-doc errors; a 413 splits the batch in two
 *   and retries each half, as couch_replicator_worker.erl does.
 * - Documents with attachment bytes: `PUT /{db}/{id}?new_edits=false` as `multipart/related`, the
 *   JSON first with `"follows": true` stubs, then the bytes (couch_httpd_multipart.erl layout,
 *   built by src/couch/multipart-build.ts). 401/403/413/415 for one document are that document's
 *   failure, not the batch's.
 * - Attachments read still gzip-compressed (`encoding: gzip`) go as they are, `Content-Encoding:
 *   gzip` parts, to a target that stores them so (CouchDB, Freshet: couch_att follow_from_json
 *   keeps the encoding), known by its welcome (`GET /` has `couchdb`); any other target
 *   (pouchdb-server would store the gzip bytes as the attachment) gets them decoded.
 */
import { inflateAttachment } from '../couch/att-encoding.js';
import { buildRelated } from '../couch/multipart-build.js';
import { encodeDocId, jsonOf, type DbClient } from './http-client.js';
import { isReplicationError, ReplicationError } from './errors.js';
import { mapLimit } from './doc-fetch.js';
import type { FetchedDoc, WriteFailure } from './peer.js';

/** Statuses that fail one document and let the replication go on (handle_doc_write_error). */
const PER_DOC_STATUS: Readonly<Record<number, string>> = {
  401: 'unauthorized',
  403: 'forbidden',
  413: 'too_large',
  415: 'unsupported_media_type',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class HttpDocWriter {
  /** Whether the target keeps gzip-encoded attachments (see the header); asked once. */
  private encodedTarget: Promise<boolean> | undefined;

  constructor(
    private readonly client: DbClient,
    private readonly concurrency = 4,
  ) {}

  /**
   * The target server's welcome (`GET /` above the database) names CouchDB. Asked once and shared
   * by every batch, so not tied to one batch's signal; a failed ask counts as false for the batch
   * at hand only, and the next batch asks again.
   */
  private takesEncoded(): Promise<boolean> {
    const path = this.client.url.pathname.replace(/\/+$/, '');
    const root = path.slice(0, path.lastIndexOf('/') + 1) || '/';
    this.encodedTarget ??= this.client
      .request({ method: 'GET', serverPath: root, retry: false })
      .then((res) => {
        const welcome = jsonOf(res);
        return isObject(welcome) && 'couchdb' in welcome;
      })
      .catch(() => {
        this.encodedTarget = undefined;
        return false;
      });
    return this.encodedTarget;
  }

  /**
   * The document with its gzip attachments decoded, for a target that takes identity bytes only;
   * large ones on zlib's thread pool (att-encoding.ts inflateAttachment), so that a big attachment
   * does not hold the event loop.
   */
  private async decoded(doc: FetchedDoc): Promise<FetchedDoc> {
    if (!doc.attachments.some((a) => a.encoding !== undefined)) return doc;
    const atts: Record<string, unknown> = { ...(isObject(doc.doc._attachments) ? doc.doc._attachments : {}) };
    const attachments = [];
    for (const a of doc.attachments) {
      if (a.encoding === undefined) {
        attachments.push(a);
        continue;
      }
      const { encoding: _e, encoded_length: _l, digest: _d, ...meta } = isObject(atts[a.name]) ? (atts[a.name] as Record<string, unknown>) : {};
      const data = await inflateAttachment(a.name, a.data, typeof meta.length === 'number' ? meta.length : 0);
      atts[a.name] = { ...meta, length: data.length };
      attachments.push({ name: a.name, contentType: a.contentType, data });
    }
    return { ...doc, doc: { ...doc.doc, _attachments: atts }, attachments };
  }

  async write(docs: readonly FetchedDoc[], signal?: AbortSignal): Promise<WriteFailure[]> {
    const plain = docs.filter((d) => d.attachments.length === 0);
    const withBytes = docs.filter((d) => d.attachments.length > 0);
    const failures: WriteFailure[] = [];
    if (plain.length > 0) failures.push(...(await this.bulkDocs(plain, signal)));
    const encoded = withBytes.some((d) => d.attachments.some((a) => a.encoding !== undefined)) && (await this.takesEncoded());
    const single = await mapLimit(withBytes, this.concurrency, async (d) => this.putMultipart(encoded ? d : await this.decoded(d), signal));
    for (const f of single) if (f) failures.push(f);
    return failures;
  }

  private async bulkDocs(docs: readonly FetchedDoc[], signal?: AbortSignal): Promise<WriteFailure[]> {
    const res = await this.client.request({
      method: 'POST',
      path: '_bulk_docs',
      json: { new_edits: false, docs: docs.map((d) => d.doc) },
      headers: { 'x-couch-full-commit': 'false' },
      expect: [200, 201, 202, 413, 417],
      ...(signal ? { signal } : {}),
    });
    if (res.status === 413) {
      if (docs.length === 1) return [{ id: docs[0]!.id, rev: docs[0]!.rev, error: 'too_large', reason: 'request entity too large' }];
      const half = Math.ceil(docs.length / 2);
      return [...(await this.bulkDocs(docs.slice(0, half), signal)), ...(await this.bulkDocs(docs.slice(half), signal))];
    }
    const body = res.body.length === 0 ? [] : jsonOf(res);
    if (!Array.isArray(body)) throw new ReplicationError('BAD_RESPONSE', '_bulk_docs: expected an array', { status: res.status });
    const failures: WriteFailure[] = [];
    for (const entry of body) {
      if (!isObject(entry) || typeof entry.error !== 'string') continue;
      failures.push({
        id: typeof entry.id === 'string' ? entry.id : '',
        ...(typeof entry.rev === 'string' ? { rev: entry.rev } : {}),
        error: entry.error,
        // As sent: a string, or the object a validate_doc_update threw.
        reason: entry.reason ?? '',
      });
    }
    return failures;
  }

  private async putMultipart(doc: FetchedDoc, signal?: AbortSignal): Promise<WriteFailure | null> {
    const atts = isObject(doc.doc._attachments) ? doc.doc._attachments : {};
    // Parts must follow the `_attachments` order of the JSON (couch_doc.erl matches by order).
    const ordered = Object.keys(atts)
      .map((name) => doc.attachments.find((a) => a.name === name))
      .filter((a) => a !== undefined);
    const mp = buildRelated(
      JSON.stringify(doc.doc),
      ordered.map((a) => ({ name: a.name, contentType: a.contentType, data: a.data, ...(a.encoding ? { encoding: a.encoding } : {}) })),
    );
    try {
      await this.client.request({
        method: 'PUT',
        path: encodeDocId(doc.id),
        query: { new_edits: false },
        body: Buffer.concat(mp.chunks, mp.length),
        contentType: mp.contentType,
        ...(signal ? { signal } : {}),
      });
      return null;
    } catch (err) {
      const status = isReplicationError(err) ? err.status : undefined;
      const error = status === undefined ? undefined : PER_DOC_STATUS[status];
      if (error === undefined || !isReplicationError(err)) throw err;
      return { id: doc.id, rev: doc.rev, error: err.context.error ?? error, reason: err.context.reasonValue ?? err.context.reason ?? err.message };
    }
  }
}
