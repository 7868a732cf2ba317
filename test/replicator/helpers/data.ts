/**
 * Test data for replication tests, written over plain HTTP to any CouchDB-compatible database
 * (pouchdb-server, Freshet), and a snapshot of a database's revision trees to compare peers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

export interface Db {
  url: string;
  headers: Record<string, string>;
}

/** A database URL whose credentials (if any) become a Basic header for fetch. */
export function db(urlWithCreds: string): Db {
  const u = new URL(urlWithCreds);
  // Accept as CouchDB's clients send it: fetch's */* gets multipart for `open_revs` (chttpd_db).
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (u.username) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, ''), headers };
}

export async function call(d: Db, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${d.url}${path}`, { method, headers: d.headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

export async function ok(d: Db, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await call(d, method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

const hash = (s: string): string => createHash('md5').update(s).digest('hex');

/** `n` plain documents of about `size` bytes, written in chunks through `_bulk_docs`. */
export async function seedPlain(d: Db, n: number, opts: { prefix?: string; size?: number; start?: number } = {}): Promise<void> {
  const pad = 'x'.repeat(Math.max(0, (opts.size ?? 64) - 40));
  for (let i = 0; i < n; i += 1000) {
    const docs = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const k = (opts.start ?? 0) + j;
      docs.push({ _id: `${opts.prefix ?? 'doc'}-${String(k).padStart(6, '0')}`, n: k, even: k % 2 === 0, pad });
    }
    await ok(d, 'POST', '/_bulk_docs', { docs });
  }
}

/**
 * Conflicted documents, written with `new_edits:false` so the tree is known exactly:
 *   1-a ── 2-b ── 3-c          (winner)
 *     └── 2-d                  (conflict)
 *   1-e ── 2-f (deleted)       (second root, deleted leaf)
 */
export async function seedConflicts(d: Db, n: number): Promise<void> {
  const docs = [];
  for (let i = 0; i < n; i++) {
    const id = `conflict-${i}`;
    const h = (s: string): string => hash(`${id}:${s}`);
    docs.push({ _id: id, _rev: `3-${h('c')}`, _revisions: { start: 3, ids: [h('c'), h('b'), h('a')] }, side: 'main', i });
    docs.push({ _id: id, _rev: `2-${h('d')}`, _revisions: { start: 2, ids: [h('d'), h('a')] }, side: 'other', i });
    docs.push({ _id: id, _rev: `2-${h('f')}`, _revisions: { start: 2, ids: [h('f'), h('e')] }, _deleted: true });
  }
  await ok(d, 'POST', '/_bulk_docs', { docs, new_edits: false });
}

/** Documents created then deleted (tombstones), with interactive edits. */
export async function seedDeletions(d: Db, n: number): Promise<void> {
  const docs = Array.from({ length: n }, (_, i) => ({ _id: `deleted-${i}`, v: i }));
  const created = (await ok(d, 'POST', '/_bulk_docs', { docs })) as Array<{ id: string; rev: string }>;
  await ok(d, 'POST', '/_bulk_docs', { docs: created.map((r) => ({ _id: r.id, _rev: r.rev, _deleted: true })) });
}

export function attachmentBytes(i: number, size = 3000): Buffer {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

/** Documents with a binary attachment, then a second revision adding a text one (revpos 1 and 2). */
export async function seedAttachments(d: Db, n: number): Promise<void> {
  const docs = Array.from({ length: n }, (_, i) => ({
    _id: `att-${i}`,
    i,
    _attachments: { 'blob.bin': { content_type: 'application/octet-stream', data: attachmentBytes(i).toString('base64') } },
  }));
  const created = (await ok(d, 'POST', '/_bulk_docs', { docs })) as Array<{ id: string; rev: string }>;
  const updates = [];
  for (const [i, r] of created.entries()) {
    const cur = (await ok(d, 'GET', `/${encodeURIComponent(r.id)}`)) as Record<string, unknown>;
    const atts = cur._attachments as Record<string, unknown>;
    updates.push({ ...cur, i2: i, _attachments: { ...atts, 'note.txt': { content_type: 'text/plain', data: Buffer.from(`note ${i}`).toString('base64') } } });
  }
  await ok(d, 'POST', '/_bulk_docs', { docs: updates });
}

export interface Leaf {
  rev: string;
  deleted: boolean;
  revisions: unknown;
}

/** Every document's leaves from `_changes?style=all_docs`, as `id → sorted revs`. */
export async function leafMap(d: Db): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const body = (await ok(d, 'GET', '/_changes?style=all_docs')) as { results: Array<{ id: string; changes: Array<{ rev: string }> }> };
  for (const row of body.results) out.set(row.id, row.changes.map((c) => c.rev).sort());
  return out;
}

/** Full rev trees (every leaf with its `_revisions` path) of some documents. */
export async function trees(d: Db, ids: readonly string[]): Promise<Map<string, Leaf[]>> {
  const out = new Map<string, Leaf[]>();
  for (const id of ids) {
    const r = await call(d, 'GET', `/${encodeURIComponent(id)}?open_revs=all&revs=true`);
    assert.equal(r.status, 200, `open_revs ${id}`);
    const leaves = (r.json as Array<{ ok?: Record<string, unknown> }>)
      .filter((e) => e.ok)
      .map((e) => ({ rev: String(e.ok!._rev), deleted: e.ok!._deleted === true, revisions: e.ok!._revisions }))
      .sort((a, b) => a.rev.localeCompare(b.rev));
    out.set(id, leaves);
  }
  return out;
}

export async function attachment(d: Db, id: string, name: string): Promise<Buffer> {
  const res = await fetch(`${d.url}/${encodeURIComponent(id)}/${encodeURIComponent(name)}`, { headers: { authorization: d.headers.authorization ?? '' } });
  assert.equal(res.status, 200, `attachment ${id}/${name}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Whether two databases hold the same leaves for every document, whatever their `_changes` order:
 * a replication target numbers documents in the order it received them, which batches written
 * concurrently (bulk writes, documents with attachments) may change.
 */
export async function sameLeaves(a: Db, b: Db): Promise<boolean> {
  const [la, lb] = await Promise.all([leafMap(a), leafMap(b)]);
  if (la.size !== lb.size) return false;
  for (const [id, revs] of la) if (JSON.stringify(lb.get(id)) !== JSON.stringify(revs)) return false;
  return true;
}

/** Asserts that two databases hold the same leaves for every document, and the same trees for `ids`. */
export async function assertSameDatabases(a: Db, b: Db, ids: readonly string[]): Promise<void> {
  const [la, lb] = await Promise.all([leafMap(a), leafMap(b)]);
  assert.equal(lb.size, la.size, 'same number of documents');
  for (const [id, revs] of la) assert.deepEqual(lb.get(id), revs, `leaves of ${id}`);
  const [ta, tb] = await Promise.all([trees(a, ids), trees(b, ids)]);
  assert.deepEqual(tb, ta);
}
