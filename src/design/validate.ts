/**
 * validate_doc_update (couch_db.erl validate_doc_update/3, load_validation_funs/1;
 * couch_query_servers.erl validate_doc_update/6): every design document of the database that has
 * a `validate_doc_update` function votes on every write of a non-design, non-local document, in
 * `_id` order; the first refusal stops the write. The function gets `(newDoc, oldDoc, userCtx,
 * secObj)`; throwing `{forbidden: msg}` refuses with 403, `{unauthorized: msg}` with 401
 * (src/design/sandbox.ts maps the verdict).
 *
 * `docValidator` is built once per request (or per replication batch) and hands the write path
 * (src/couchdb/doc-write.ts `DocWriteOptions.validate`) a synchronous function: the design
 * documents are read and compiled here, up front; the compiled functions are cached by the
 * sandbox per design-document revision, so a changed design document takes effect on the next
 * request. A database without validation functions gets `undefined` and pays nothing per write.
 *
 * KV writes are outside CouchDB's API and are not validated (README). The `_users` rules are
 * native (src/couchdb/users-db.ts), and its `_design/_auth` is left out while it holds CouchDB's
 * own function.
 */
import type { DocValidator } from '../couchdb/doc-write.js';
import type { Db } from '../couchdb/db.js';
import { securityObject as storedSecurity } from '../couchdb/security.js';
import { isCouchError } from '../couch/errors.js';
import { isNativeAuthDesignDoc } from '../couchdb/users-auth-ddoc.js';
import { dbKeyOf, designDocIds, loadDesignDoc, type DesignFunctions } from './design-docs.js';
import type { UserCtx, ValidateFunction } from './sandbox.js';

/**
 * The database's security object as validate_doc_update and `req.secObj` see it: the stored
 * `_security` (src/couchdb/security.ts), or CouchDB 3's admin-only default when none was set.
 */
export function securityObject(db: Db): Record<string, unknown> {
  return { ...storedSecurity(db) };
}

/** The user context of a write (`{db, name, roles}`; server admins carry `_admin`). */
export function userCtxOf(db: Db, user: { name: string | null; roles: readonly string[] } | null): UserCtx {
  return { db: db.name, name: user?.name ?? null, roles: user ? [...user.roles] : [] };
}

/** The validator for writes to `db` by `userCtx`, or undefined when no design document validates. */
export async function docValidator(design: DesignFunctions, db: Db, userCtx: UserCtx): Promise<DocValidator | undefined> {
  const ddocs = designDocIds(db)
    .map((id) => loadDesignDoc(db, id))
    .filter((d) => d !== null && typeof d.validate_doc_update === 'string' && d.validate_doc_update !== '')
    // `_users/_design/_auth` with CouchDB's own function: its rules are applied natively (users-auth-ddoc.ts).
    .filter((d) => !isNativeAuthDesignDoc(db, d!));
  if (ddocs.length === 0) return undefined;
  const sandbox = await design.sandbox();
  const dbKey = dbKeyOf(db);
  // Compiled at the first document the request validates, before its write: a broken function
  // fails that write (400 compilation_error), while design-document writes, which no function
  // validates (couch_db validate_doc_update/3 only checks the writer is an admin), never compile
  // them, so an admin can always fix or delete the design document that holds a broken one.
  let fns: ValidateFunction[] | null = null;
  const secObj = securityObject(db);
  const stats = design.stats;
  return (newDoc, oldDoc) => {
    fns ??= ddocs.map((d) => sandbox.compile(d!, 'validate', ['validate_doc_update'], dbKey));
    for (const fn of fns) {
      stats.vduRuns++;
      try {
        fn.validate(newDoc, oldDoc, userCtx, secObj);
      } catch (err) {
        if (isCouchError(err) && err.error === 'forbidden') stats.vduForbidden++;
        else if (isCouchError(err) && err.error === 'unauthorized') stats.vduUnauthorized++;
        else stats.vduErrors++;
        throw err;
      }
    }
  };
}
