/**
 * Reading missing revisions from an HTTP source (couch-replication.md §1.2 step 8, §3.9):
 *
 * 1. `POST /{db}/_bulk_get?revs=true&latest=true&attachments=true` with
 *    `{"docs":[{"id","rev","atts_since":[…]}]}`. CouchDB's replicator asks `attachments=false` and
 *    re-reads docs with attachments one by one; asking for the bytes at once saves those round
 *    trips, and `atts_since` (the target's `possible_ancestors`) keeps unchanged attachments as
 *    stubs where the server honours it (pouchdb-server ignores it and sends everything). The
 *    request takes `multipart/mixed` only: CouchDB 3 and Freshet then answer multipart
 *    (chttpd_db bulk_get_ret_multipart) with each attachment as stored, gzip-compressed ones
 *    still compressed (`encoding` in the JSON), as CouchDB's replicator reads them with
 *    `att_encoding_info`; servers without it (pouchdb-server) answer JSON, base64 identity data.
 * 2. When `_bulk_get` is refused (4xx, 501: an old or minimal server, e.g. pouchdb-express-router),
 *    fall back for good to `GET /{db}/{id}?revs=true&latest=true&open_revs=[…]&atts_since=[…]`
 *    with `Accept: multipart/mixed`, parsing either multipart (CouchDB) or a JSON array
 *    (PouchDB-based servers answer JSON whatever the Accept says).
 *
 * Attachment data is turned into Buffers (`follows: true` in the JSON). A stub newer than what the
 * target has (its `revpos` is above every `atts_since` generation) would make the target fail with
 * `412 missing_stub`, so its bytes are fetched raw with `GET /{db}/{id}/{name}?rev=` as PouchDB does.
 */
import { parseBulkGetMultipart, parseOpenRevsMixed } from '../couch/multipart.js';
import { encodeDocId, headerValue, jsonOf, type DbClient } from './http-client.js';
import { ReplicationError } from './errors.js';
import type { AttachmentData, FetchedDoc, FetchRequest, FetchResult } from './peer.js';

const BULK_GET_REFUSED = [400, 404, 405, 406, 415, 501] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function revGeneration(rev: string): number {
  return Number.parseInt(rev, 10) || 0;
}

/** Runs `fn` over `items` with at most `limit` at once, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

export class HttpDocFetcher {
  /** undefined until the first try; false after the server refused `_bulk_get`. */
  bulkGetSupported: boolean | undefined;
  /** Counters for `_active_tasks` (CouchDB's `bulk_get_docs` / `bulk_get_attempts`). */
  bulkGetDocs = 0;
  bulkGetAttempts = 0;

  constructor(
    private readonly client: DbClient,
    private readonly concurrency = 8,
  ) {}

  async fetch(reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult[]> {
    if (reqs.length === 0) return [];
    if (this.bulkGetSupported !== false) {
      const viaBulk = await this.bulkGet(reqs, signal);
      if (viaBulk) return viaBulk;
    }
    return this.openRevs(reqs, signal);
  }

  private async bulkGet(reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult[] | null> {
    this.bulkGetAttempts += reqs.length;
    const res = await this.client.request({
      method: 'POST',
      path: '_bulk_get',
      query: { revs: true, latest: true, attachments: true },
      json: { docs: reqs.map((r) => ({ id: r.id, rev: r.rev, atts_since: r.attsSince })) },
      accept: 'multipart/mixed',
      expect: [200, ...BULK_GET_REFUSED],
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) {
      this.bulkGetSupported = false;
      return null;
    }
    this.bulkGetSupported = true;
    const contentType = headerValue(res.headers, 'content-type') ?? '';
    const results = contentType.toLowerCase().startsWith('multipart/') ? this.fromBulkMultipart(res.body, contentType, reqs) : this.fromBulkJson(jsonOf(res), reqs);
    const out = await mapLimit(results, this.concurrency, (r) => this.completeStubs(r, reqs, signal));
    this.bulkGetDocs += out.filter((r) => 'ok' in r).length;
    return out;
  }

  /** A multipart answer: parts in request order, each naming its document (or its rev, when missing). */
  private fromBulkMultipart(body: Buffer, contentType: string, reqs: readonly FetchRequest[]): FetchResult[] {
    let parts: ReturnType<typeof parseBulkGetMultipart> = [];
    try {
      if (body.length > 0) parts = parseBulkGetMultipart(body, contentType);
    } catch (cause) {
      throw new ReplicationError('BAD_RESPONSE', `_bulk_get: ${cause instanceof Error ? cause.message : String(cause)}`, {}, cause);
    }
    const results: FetchResult[] = [];
    for (const part of parts) {
      if ('ok' in part) {
        results.push({ ok: toFetched(part.ok, part.followsData) });
        continue;
      }
      const rev = typeof part.error.rev === 'string' ? part.error.rev : undefined;
      const id = typeof part.error.id === 'string' ? part.error.id : reqs.find((r) => r.rev === rev)?.id;
      const req = reqs.find((r) => r.id === id && (rev === undefined || r.rev === rev)) ?? reqs.find((r) => r.id === id);
      if (req !== undefined) results.push(this.fromBulkEntry({ error: part.error }, req));
    }
    // A request no part answers (a part that could not be matched to it) is a missing revision,
    // as an empty `docs` is in the JSON form: reported, never silently passed over by the checkpoint.
    const answered = new Set(results.map((r) => ('ok' in r ? r.ok.id : 'missing' in r ? r.missing.id : r.error.id)));
    for (const req of reqs) if (!answered.has(req.id)) results.push({ missing: { id: req.id, rev: req.rev } });
    return results;
  }

  private fromBulkJson(body: unknown, reqs: readonly FetchRequest[]): FetchResult[] {
    if (!isObject(body) || !Array.isArray(body.results)) {
      throw new ReplicationError('BAD_RESPONSE', '_bulk_get: no results array');
    }
    const results: FetchResult[] = [];
    body.results.forEach((entry, i) => {
      const req = reqs[i];
      const docs = isObject(entry) && Array.isArray(entry.docs) ? entry.docs : [];
      if (req === undefined) return;
      if (docs.length === 0) results.push({ missing: { id: req.id, rev: req.rev } });
      for (const d of docs) results.push(this.fromBulkEntry(d, req));
    });
    return results;
  }

  private fromBulkEntry(entry: unknown, req: FetchRequest): FetchResult {
    if (isObject(entry) && isObject(entry.ok)) return { ok: toFetched(entry.ok, new Map()) };
    if (isObject(entry) && typeof entry.missing === 'string') return { missing: { id: req.id, rev: entry.missing } };
    const err = isObject(entry) && isObject(entry.error) ? entry.error : {};
    const error = typeof err.error === 'string' ? err.error : 'unknown_error';
    if (error === 'not_found') return { missing: { id: req.id, rev: req.rev } };
    return { error: { id: req.id, rev: req.rev, error, reason: typeof err.reason === 'string' ? err.reason : '' } };
  }

  /** One `GET ?open_revs` per document, several documents at once. */
  private async openRevs(reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult[]> {
    const byId = new Map<string, FetchRequest[]>();
    for (const r of reqs) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    const groups = await mapLimit([...byId.values()], this.concurrency, async (group) => {
      const id = group[0]!.id;
      const attsSince = [...new Set(group.flatMap((g) => g.attsSince))];
      const res = await this.client.request({
        method: 'GET',
        path: encodeDocId(id),
        query: {
          revs: true,
          latest: true,
          open_revs: JSON.stringify(group.map((g) => g.rev)),
          ...(attsSince.length > 0 ? { atts_since: JSON.stringify(attsSince), attachments: true } : { attachments: true }),
        },
        accept: 'multipart/mixed, application/json',
        ...(signal ? { signal } : {}),
      });
      const parsed = this.parseOpenRevs(res.body, headerValue(res.headers, 'content-type') ?? '', id);
      return Promise.all(parsed.map((r) => this.completeStubs(r, group, signal)));
    });
    return groups.flat();
  }

  private parseOpenRevs(body: Buffer, contentType: string, id: string): FetchResult[] {
    if (contentType.toLowerCase().startsWith('multipart/')) {
      return parseOpenRevsMixed(body, contentType).map((part): FetchResult =>
        'missing' in part ? { missing: { id, rev: part.missing } } : { ok: toFetched(part.ok, part.followsData) },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new ReplicationError('BAD_RESPONSE', 'open_revs: invalid JSON', {}, cause);
    }
    if (!Array.isArray(json)) throw new ReplicationError('BAD_RESPONSE', 'open_revs: not an array');
    return json.map((entry): FetchResult => {
      if (isObject(entry) && isObject(entry.ok)) return { ok: toFetched(entry.ok, new Map()) };
      const rev = isObject(entry) && typeof entry.missing === 'string' ? entry.missing : '';
      return { missing: { id, rev } };
    });
  }

  /** Fetches the bytes of stubs the target cannot have (see the header comment). */
  private async completeStubs(result: FetchResult, reqs: readonly FetchRequest[], signal?: AbortSignal): Promise<FetchResult> {
    if (!('ok' in result)) return result;
    const fetched = result.ok;
    const atts = fetched.doc._attachments;
    if (!isObject(atts)) return result;
    const since = reqs.filter((r) => r.id === fetched.id).flatMap((r) => r.attsSince);
    const known = since.length === 0 ? 0 : Math.max(...since.map(revGeneration));
    for (const [name, meta] of Object.entries(atts)) {
      if (!isObject(meta) || meta.stub !== true) continue;
      const revpos = typeof meta.revpos === 'number' ? meta.revpos : Infinity;
      if (revpos <= known) continue;
      const res = await this.client.request({
        method: 'GET',
        path: `${encodeDocId(fetched.id)}/${name.split('/').map(encodeURIComponent).join('/')}`,
        query: { rev: fetched.rev },
        accept: '*/*',
        ...(signal ? { signal } : {}),
      });
      const contentType = typeof meta.content_type === 'string' ? meta.content_type : 'application/octet-stream';
      atts[name] = followsMeta(meta, res.body.length);
      fetched.attachments.push({ name, contentType, data: res.body });
    }
    return result;
  }
}

/** `_attachments` metadata for bytes sent beside the JSON (identity encoding). */
function followsMeta(meta: Record<string, unknown>, length: number): Record<string, unknown> {
  const out: Record<string, unknown> = { follows: true, length };
  if (typeof meta.content_type === 'string') out.content_type = meta.content_type;
  if (typeof meta.revpos === 'number') out.revpos = meta.revpos;
  return out;
}

/**
 * A document body from the source into a `FetchedDoc`: inline base64 data and multipart parts
 * become Buffers. `digest`, `encoding` and `encoded_length` are dropped for attachments whose
 * bytes are sent, because the bytes are the decoded ones and the target computes its own digest.
 */
export function toFetched(doc: Record<string, unknown>, followsData: Map<string, Buffer>): FetchedDoc {
  const id = typeof doc._id === 'string' ? doc._id : '';
  const rev = typeof doc._rev === 'string' ? doc._rev : '';
  const attachments: AttachmentData[] = [];
  const atts = doc._attachments;
  if (isObject(atts)) {
    for (const [name, meta] of Object.entries(atts)) {
      if (!isObject(meta)) continue;
      const contentType = typeof meta.content_type === 'string' ? meta.content_type : 'application/octet-stream';
      if (typeof meta.data === 'string') {
        const data = Buffer.from(meta.data, 'base64');
        atts[name] = followsMeta(meta, data.length);
        attachments.push({ name, contentType, data });
        continue;
      }
      const data = meta.follows === true ? followsData.get(name) : undefined;
      if (data === undefined) continue;
      // Multipart parts carry the stored bytes: still gzip when `encoding` says so
      // (couch_doc.erl doc_to_multi_part_stream with att_encoding_info); passed on as they are.
      const encoding = typeof meta.encoding === 'string' && meta.encoding !== 'identity' ? meta.encoding : undefined;
      if (encoding === undefined) {
        atts[name] = followsMeta(meta, data.length);
        attachments.push({ name, contentType, data });
      } else {
        const length = typeof meta.length === 'number' ? meta.length : data.length;
        atts[name] = { ...followsMeta(meta, length), encoding, encoded_length: data.length };
        attachments.push({ name, contentType, data, encoding });
      }
    }
  }
  return { id, rev, doc, attachments };
}
