/**
 * Which database names may be created, shared by `PUT /{db}` (src/http) and a replication that
 * creates its target (`create_target`, the replicator's local peer).
 */
import { validateDbName } from '../couch/doc.js';
import { CouchError } from '../couch/errors.js';
import { bucketNameOf } from './keyspace.js';

const COUCH_DB_NAME = /^[a-z][a-z0-9_$()+/-]*$/;

/**
 * Names `PUT /{db}` may create: CouchDB's rule (`^[a-z][a-z0-9_$()+/-]*$`, couch_db.erl
 * validate_dbname/1), so no dots, which would read as a keyspace; plus CouchDB's system databases
 * (`[couchdb] system_dbs`), of which `_replicator` holds replication jobs
 * (couchdb/replicator-db.ts). The bucket is named by keyspace.ts `bucketNameOf` (`/` as `%2F`, ...)
 * and bucket names are at most 100 characters (engine.ts), CouchDB's limit being 238.
 */
const SYSTEM_DB_NAMES: ReadonlySet<string> = new Set(['_replicator', '_users', '_global_changes']);
const MAX_BUCKET_NAME = 100;

export function validateNewDbName(name: string): void {
  validateDbName(name);
  if (SYSTEM_DB_NAMES.has(name)) return;
  if (!COUCH_DB_NAME.test(name)) throw new CouchError('illegal_database_name', { params: { name } });
  if (bucketNameOf(name).length > MAX_BUCKET_NAME) {
    throw new CouchError('bad_request', { reason: `Database name is too long: ${MAX_BUCKET_NAME} characters at most, counting each of / + $ ( ) as 3` });
  }
}
