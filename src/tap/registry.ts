/**
 * The TAP connections of each bucket by name, and the registered clients' cursors: ep-engine's
 * TapConnMap (tapconnmap.cc) and its per-name checkpoint cursors.
 *
 * - A name is used by one live connection at a time; a new TAP_CONNECT with a name in use closes
 *   the older connection (TapConnMap::newProducer disconnects the existing one).
 * - A REGISTERED_CLIENT connection keeps a cursor per vbucket (the last seqno the client has: the
 *   last acknowledged message with SUPPORT_ACK, else the last one written) that outlives the
 *   connection; a reconnect with the same name resumes after it, until DEREGISTER_TAP_CLIENT
 *   (0x9e) removes it. ep-engine kept the cursor in memory only (tap_keepalive); Freshet also
 *   persists it in the bucket's side database `tap_cursors` when a connection ends and when it is
 *   deregistered, tagged with the bucket's uuid so a bucket recreated under the same name does
 *   not inherit it. While a connection is live, its in-memory position is the truth.
 */
import type { Bucket } from '../engine/bucket.js';
import { putSideDb, sideDb, type SideDb } from '../engine/side-db.js';

const NAMESPACE = 'tap_cursors';

export interface RegisteredTapConnection {
  readonly name: string;
  disconnect(reason: string): void;
}

/** A registered client's position: vbucket id -> last seqno the client has. */
export class TapCursor {
  readonly positions = new Map<number, number>();
  /** The connection currently serving it (null while the client is away). */
  attached: RegisteredTapConnection | null = null;
  updatedAt = Date.now();

  constructor(readonly name: string) {}

  advance(vbucket: number, seqno: number): void {
    if ((this.positions.get(vbucket) ?? 0) < seqno) this.positions.set(vbucket, seqno);
    this.updatedAt = Date.now();
  }
}

interface PersistedCursor {
  readonly bucketUuid: string;
  readonly positions: Array<[number, number]>;
}

interface BucketTap {
  readonly connections: Map<string, RegisteredTapConnection>;
  readonly cursors: Map<string, TapCursor>;
  readonly db: SideDb;
}

const BY_BUCKET = new WeakMap<Bucket, BucketTap>();

function isPersisted(v: unknown): v is PersistedCursor {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { bucketUuid?: unknown; positions?: unknown };
  return typeof o.bucketUuid === 'string' && Array.isArray(o.positions);
}

function stateOf(bucket: Bucket): BucketTap {
  let state = BY_BUCKET.get(bucket);
  if (state) return state;
  const db = sideDb(bucket, NAMESPACE);
  const cursors = new Map<string, TapCursor>();
  // Cursors written by earlier runs: loaded once per bucket, on the first TAP use.
  for (const { key, value } of db.getRange({})) {
    if (typeof key !== 'string' || !isPersisted(value) || value.bucketUuid !== bucket.uuid) continue;
    const cursor = new TapCursor(key);
    for (const [vb, seqno] of value.positions) if (Number.isInteger(vb) && Number.isInteger(seqno)) cursor.positions.set(vb, seqno);
    cursors.set(key, cursor);
  }
  state = { connections: new Map(), cursors, db };
  BY_BUCKET.set(bucket, state);
  return state;
}

/** Register a live connection under its name, closing whichever connection held it before. */
export function registerTapConnection(bucket: Bucket, conn: RegisteredTapConnection): void {
  const { connections } = stateOf(bucket);
  const previous = connections.get(conn.name);
  connections.set(conn.name, conn);
  if (previous && previous !== conn) previous.disconnect(`TAP connection name "${conn.name}" reused by a new connection`);
}

export function unregisterTapConnection(bucket: Bucket, conn: RegisteredTapConnection): void {
  const state = BY_BUCKET.get(bucket);
  if (state?.connections.get(conn.name) === conn) state.connections.delete(conn.name);
}

export function tapConnectionsOf<T extends RegisteredTapConnection>(bucket: Bucket, guard: (c: RegisteredTapConnection) => c is T): T[] {
  return [...(BY_BUCKET.get(bucket)?.connections.values() ?? [])].filter(guard);
}

/** The registered cursor `name`, if any (undefined: a first connection). */
export function findCursor(bucket: Bucket, name: string): TapCursor | undefined {
  return stateOf(bucket).cursors.get(name);
}

export function createCursor(bucket: Bucket, name: string): TapCursor {
  const { cursors } = stateOf(bucket);
  const cursor = cursors.get(name) ?? new TapCursor(name);
  cursors.set(name, cursor);
  return cursor;
}

export function cursorsOf(bucket: Bucket): TapCursor[] {
  return [...(BY_BUCKET.get(bucket)?.cursors.values() ?? [])];
}

/** Write the cursor to the side database (on disconnect); a failure is returned to log. */
export function persistCursor(bucket: Bucket, cursor: TapCursor): Promise<void> {
  const state = stateOf(bucket);
  if (state.cursors.get(cursor.name) !== cursor || bucket.isClosed) return Promise.resolve();
  const record: PersistedCursor = { bucketUuid: bucket.uuid, positions: [...cursor.positions] };
  return putSideDb(bucket, state.db, cursor.name, record);
}

/**
 * DEREGISTER_TAP_CLIENT: forget the cursor (memory and disk) and close a connection using it.
 * Returns whether there was one.
 */
export async function deregisterCursor(bucket: Bucket, name: string): Promise<boolean> {
  const state = stateOf(bucket);
  const cursor = state.cursors.get(name);
  const onDisk = state.db.get(name) !== undefined;
  state.cursors.delete(name);
  cursor?.attached?.disconnect(`TAP client "${name}" deregistered`);
  if (onDisk) await state.db.remove(name);
  return cursor !== undefined || onDisk;
}
