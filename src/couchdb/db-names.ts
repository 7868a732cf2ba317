/**
 * Which database names may be created, shared by `PUT /{db}` (src/http) and a replication that
 * creates its target (`create_target`, the replicator's local peer).
 */
import { validateDbName } from '../couch/doc.js';
import { CouchError } from '../couch/errors.js';

/**
 * Names `PUT /{db}` may create: CouchDB's rule (`^[a-z][a-z0-9_$()+/-]*$`) restricted to what a
 * bucket name may hold (no `$()+/`), and no dots, which would read as a keyspace; plus CouchDB's
 * system databases (couch_db.erl validate_dbname/1, `[couchdb] system_dbs`), of which
 * `_replicator` holds replication jobs (couchdb/replicator-db.ts). The `prefix/_replicator` form is not
 * possible: bucket names hold no '/'.
 */
const DB_NAME = /^[a-z][a-z0-9_-]{0,99}$/;
const SYSTEM_DB_NAMES: ReadonlySet<string> = new Set(['_replicator', '_users', '_global_changes']);

export function validateNewDbName(name: string): void {
  validateDbName(name);
  if (!DB_NAME.test(name) && !SYSTEM_DB_NAMES.has(name)) throw new CouchError('illegal_database_name', { params: { name } });
}
