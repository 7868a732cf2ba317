/**
 * This server's databases as local replication endpoints of the face's ReplicatorManager: bare
 * database names in `_replicate` and `_replicator` documents open them directly (LocalPeer,
 * src/replicator/local-peer.ts, over the CouchDB layer), with the access of the requesting user
 * or of the document's `user_ctx`, checked as the HTTP face checks a request (db-access.ts): the
 * database's security object and the user's Couchbase roles, per document for writes.
 */
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import type { Db } from '../couchdb/db.js';
import type { DesignFunctions } from '../design/design-docs.js';
import type { ReplicatorManager } from '../replicator/manager.js';
import { ReplicationError } from '../replicator/errors.js';
import { LocalPeer, type LocalAction, type LocalUserCtx } from '../replicator/local-peer.js';
import { dbRights, guardDocWrite, type AccessHost, type AccessUser } from './db-access.js';

function accessUserOf(host: AccessHost, user: LocalUserCtx): AccessUser | null {
  if (user.name === null && !user.roles.includes('_admin')) return null;
  return { name: user.name, roles: user.roles, couchbase: user.name !== null && host.users.has(user.name) };
}

/**
 * A server admin may do anything; another user may read the databases they are a member or a
 * reader of (their writes are checked per document, `guardDocWrite`) but not create one
 * (`PUT /{db}` is for admins); anonymous users what a public database allows (401 otherwise).
 */
export function authorizeLocal(host: AccessHost, user: LocalUserCtx, dbName: string, action: LocalAction, db?: Db): void {
  if (user.roles.includes('_admin')) return;
  if (action === 'create') {
    if (user.name === null) throw new ReplicationError('UNAUTHORIZED', dbName, { status: 401, error: 'unauthorized', reason: 'You are not authorized to access this db.' });
    throw new ReplicationError('UNAUTHORIZED', dbName, { status: 401, error: 'unauthorized', reason: 'You are not a server admin.' });
  }
  const who = accessUserOf(host, user);
  const allowed = db !== undefined ? dbRights(host, who, db).read : who?.couchbase === true && host.users.canAccessBucket(who.name!, dbName);
  if (allowed) return;
  if (who === null) throw new ReplicationError('UNAUTHORIZED', dbName, { status: 401, error: 'unauthorized', reason: 'You are not authorized to access this db.' });
  throw new ReplicationError('FORBIDDEN', dbName, { status: 403, error: 'forbidden', reason: 'You are not allowed to access this db.' });
}

export interface LocalDatabasesHost {
  engine: Engine;
  manager: ReplicatorManager;
  /** The face's handle for a bucket's collection (shared with its routes). */
  db(bucket: Bucket, collectionId?: number): Db;
  access: AccessHost;
  /** The face's design functions (filters of a local source, validate_doc_update of a local target). */
  design: DesignFunctions;
}

/** Let the manager open this server's databases directly. */
export function useLocalDatabases(host: LocalDatabasesHost): void {
  host.manager.useLocalDatabases(
    (dbName, user) =>
      new LocalPeer(host.engine, dbName, {
        userCtx: user,
        dbHandle: (bucket, collectionId) => host.db(bucket, collectionId),
        authorize: (name, action, db) => authorizeLocal(host.access, user, name, action, db),
        guardWrite: (db, id, doc) => guardDocWrite(host.access, accessUserOf(host.access, user), db, id, doc),
        design: host.design,
      }),
  );
}


