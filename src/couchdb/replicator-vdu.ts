/**
 * The `_replicator` database's validation, applied natively as the `_users` rules are
 * (users-db.ts): CouchDB installs `_design/_replicator` with a validate_doc_update
 * (couch_replicator_js_functions.hrl REP_DB_DOC_VALIDATE_FUN) that answers 403 `forbidden` for a
 * job document it could never run (no source, `continuous: "yes"`, `doc_ids` not an array...)
 * and, for a non-admin, for a `user_ctx` naming someone else or a role the writer lacks: without
 * it a user allowed to write `_replicator` could run a replication as an administrator.
 *
 * Not checked, as in CouchDB: deletions by admins, documents already in the `failed` state, and
 * the replicator's own state writes (replicator-db.ts writes those without this guard).
 */
import { CouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import type { CouchUserCtx } from './security.js';
import { REPLICATOR_DB } from './replicator-db.js';

export function isReplicatorDb(db: Db): boolean {
  return db.collectionId === 0 && db.bucket.name === REPLICATOR_DB;
}

function deny(detail: string): never {
  throw new CouchError('forbidden', { params: { detail } });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function validateEndpoint(endpoint: unknown, field: string): void {
  // JS `typeof` lets arrays through as objects; their `url` is then missing.
  if (typeof endpoint !== 'string' && (typeof endpoint !== 'object' || endpoint === null)) {
    deny(`The \`${field}' property must exist and be either a string or an object.`);
  }
  if (typeof endpoint !== 'object') return;
  const e = endpoint as Record<string, unknown>;
  if (typeof e.url !== 'string' || e.url === '') deny(`The url property must exist in the \`${field}' field and must be a non-empty string.`);
  if (e.auth !== undefined && (typeof e.auth !== 'object' || e.auth === null)) deny(`\`${field}.auth' must be a non-null object.`);
  if (e.headers !== undefined && (typeof e.headers !== 'object' || e.headers === null)) deny(`\`${field}.headers' must be a non-null object.`);
}

/**
 * Throws 403 `forbidden` with CouchDB's reason when `newDoc` may not be written. `oldDoc` is the
 * current winner's body (for deletions), `admin` whether the writer administers the database.
 */
export function validateReplicatorDoc(newDoc: Record<string, unknown>, oldDoc: Record<string, unknown> | null, user: CouchUserCtx, admin: boolean): void {
  if (user.roles.includes('_replicator')) return;
  if (newDoc._replication_state === 'failed') return;
  if (newDoc._deleted === true) {
    if (admin) return;
    const owner = oldDoc !== null && isObject(oldDoc.user_ctx) ? oldDoc.user_ctx.name : undefined;
    if (owner === undefined || owner !== user.name) deny('Replication documents can only be deleted by admins or by the users who created them.');
    return;
  }
  validateEndpoint(newDoc.source, 'source');
  validateEndpoint(newDoc.target, 'target');
  if (newDoc.create_target !== undefined && typeof newDoc.create_target !== 'boolean') deny("The `create_target' field must be a boolean.");
  if (newDoc.continuous !== undefined && typeof newDoc.continuous !== 'boolean') deny("The `continuous' field must be a boolean.");
  if (newDoc.doc_ids !== undefined && !Array.isArray(newDoc.doc_ids)) deny("The `doc_ids' field must be an array of strings.");
  if (newDoc.selector !== undefined && (typeof newDoc.selector !== 'object')) deny("The `selector' field must be an object.");
  if (newDoc.filter !== undefined && (typeof newDoc.filter !== 'string' || newDoc.filter === '')) deny("The `filter' field must be a non-empty string.");
  if (newDoc.doc_ids !== undefined && newDoc.selector !== undefined) deny("`doc_ids' field is incompatible with `selector'.");
  if ((newDoc.doc_ids !== undefined || newDoc.selector !== undefined) && newDoc.filter !== undefined) {
    deny("`filter' field is incompatible with `selector' and `doc_ids'.");
  }
  if (newDoc.query_params !== undefined && (typeof newDoc.query_params !== 'object' || newDoc.query_params === null)) {
    deny("The `query_params' field must be an object.");
  }
  const ctx = newDoc.user_ctx;
  // JS truthiness: `user_ctx: ""`, `0`, `false` or `null` count as absent.
  if (ctx === undefined || ctx === null || ctx === '' || ctx === 0 || ctx === false) {
    if (!admin) deny("The `user_ctx' property is missing (it is optional for admins only).");
    return;
  }
  if (typeof ctx !== 'object') deny("The `user_ctx' property must be a non-null object.");
  const c = ctx as Record<string, unknown>;
  if (!(c.name === null || c.name === undefined || (typeof c.name === 'string' && c.name.length > 0))) {
    deny("The `user_ctx.name' property must be a non-empty string or null.");
  }
  if (!admin && c.name !== user.name) deny("The given `user_ctx.name' is not valid");
  if (c.roles !== undefined && c.roles !== null && c.roles !== false && c.roles !== '' && c.roles !== 0 && !Array.isArray(c.roles)) {
    deny("The `user_ctx.roles' property must be an array of strings.");
  }
  if (!admin && Array.isArray(c.roles)) {
    for (const role of c.roles as unknown[]) {
      if (typeof role !== 'string' || role.length === 0) deny('Roles must be non-empty strings.');
      if (!user.roles.includes(role)) deny(`Invalid role (\`${role}') in the \`user_ctx'`);
    }
  }
}
