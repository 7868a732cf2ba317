/**
 * This server's databases as local replication endpoints of the face's ReplicatorManager: bare
 * database names in `_replicate` and `_replicator` documents open them directly (LocalPeer,
 * src/replicator/local-peer.ts, over the CouchDB layer), with the access of the requesting user
 * or of the document's `user_ctx`, checked as the HTTP face checks a request (auth.ts).
 */
import type { Bucket } from '../engine/bucket.js';
import type { Engine } from '../engine/engine.js';
import type { UserRegistry } from '../auth/credentials.js';
import type { Db } from '../couchdb/db.js';
import type { DesignFunctions } from '../design/design-docs.js';
import type { ReplicatorManager } from '../replicator/manager.js';
import { ReplicationError } from '../replicator/errors.js';
import { LocalPeer, type LocalAction, type LocalUserCtx } from '../replicator/local-peer.js';

/**
 * A server admin may do anything; another user may use the databases the registry grants them
 * (403 otherwise) but not create one (`PUT /{db}` is for admins); anonymous users nothing (401).
 */
export function authorizeLocal(users: () => Pick<UserRegistry, 'canAccessBucket'>, user: LocalUserCtx, dbName: string, action: LocalAction): void {
  if (user.roles.includes('_admin')) return;
  if (user.name === null) {
    throw new ReplicationError('UNAUTHORIZED', dbName, { status: 401, error: 'unauthorized', reason: 'You are not authorized to access this db.' });
  }
  if (action === 'create') {
    throw new ReplicationError('UNAUTHORIZED', dbName, { status: 401, error: 'unauthorized', reason: 'You are not a server admin.' });
  }
  if (!users().canAccessBucket(user.name, dbName)) {
    throw new ReplicationError('FORBIDDEN', dbName, { status: 403, error: 'forbidden', reason: 'You are not allowed to access this db.' });
  }
}

export interface LocalDatabasesHost {
  engine: Engine;
  manager: ReplicatorManager;
  /** The face's handle for a bucket's collection (shared with its routes). */
  db(bucket: Bucket, collectionId?: number): Db;
  users: Pick<UserRegistry, 'canAccessBucket'>;
  /** The face's design functions (filters of a local source, validate_doc_update of a local target). */
  design: DesignFunctions;
}

/** Let the manager open this server's databases directly. */
export function useLocalDatabases(host: LocalDatabasesHost): void {
  const users = (): Pick<UserRegistry, 'canAccessBucket'> => host.users;
  host.manager.useLocalDatabases(
    (dbName, user) =>
      new LocalPeer(host.engine, dbName, {
        userCtx: user,
        dbHandle: (bucket, collectionId) => host.db(bucket, collectionId),
        authorize: (name, action) => authorizeLocal(users, user, name, action),
        design: host.design,
      }),
  );
}
