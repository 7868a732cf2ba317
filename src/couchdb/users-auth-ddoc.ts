/**
 * `_users/_design/_auth`: the design document CouchDB keeps in its authentication database.
 * chttpd_auth_cache:ensure_auth_ddoc_exists/2 writes it when the database has none, and puts the
 * function back when an admin changed it (couch_auth_cache:auth_design_doc/1: `_id`,
 * `language: "javascript"`, `validate_doc_update`).
 *
 * Freshet applies the `_users` rules natively (users-db.ts validateUserDoc, with password
 * hashing), so this document is there to be read, replicated and listed as CouchDB's is, and is
 * not run: the design-document validators (src/design/validate.ts) leave out a
 * `_users/_design/_auth` whose function is exactly this text, so the rules are not applied twice.
 * The function is Freshet's own JavaScript for the same rules and refusal messages as
 * couch_js_functions.hrl's AUTH_DB_DOC_VALIDATE_FUNCTION (users_db_test, users_db_security_test
 * check those messages), so a copy of the document run elsewhere refuses what CouchDB's refuses.
 * A changed function is run like any other validate_doc_update, until the next start puts this
 * one back, as CouchDB's auth cache does when its listener starts.
 */
import { parseDocument } from '../couch/doc.js';
import { isCouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import { writeDoc } from './doc-write.js';
import { loadDoc } from './doc-store.js';
import { isUsersDb } from './users-db.js';

export const AUTH_DDOC_ID = '_design/_auth';

export const AUTH_DB_DOC_VALIDATE_FUNCTION = `function (newDoc, oldDoc, userCtx, secObj) {
  var deny = function (why) { throw({forbidden: why}); };
  var listed = function (list, x) { return Array.isArray(list) && list.indexOf(x) >= 0; };
  var serverAdmin = listed(userCtx.roles, '_admin');
  if (newDoc._deleted === true) {
    // A deletion is the user's own or a server admin's; its other fields are not checked.
    if (serverAdmin || userCtx.name == oldDoc.name) return;
    deny('Only admins may delete other user docs.');
  }
  if (newDoc.type !== 'user') deny('doc.type must be user');
  if (!newDoc.name) deny('doc.name is required');
  if (!newDoc.roles) deny('doc.roles must exist');
  if (!Array.isArray(newDoc.roles)) deny('doc.roles must be an array');
  newDoc.roles.forEach(function (r) { if (typeof r !== 'string') deny('doc.roles can only contain strings'); });
  if (newDoc._id !== 'org.couchdb.user:' + newDoc.name) deny('Doc ID must be of the form org.couchdb.user:name');
  if (oldDoc && oldDoc.name !== newDoc.name) deny('Usernames can not be changed.');
  if (newDoc.password_sha && !newDoc.salt) {
    deny('Users with password_sha must have a salt.See /_utils/script/couch.js for example code.');
  }
  var scheme = newDoc.password_scheme;
  if (scheme && ['simple', 'pbkdf2', 'simple+pbkdf2'].indexOf(scheme) < 0) deny('Password scheme \`' + scheme + '\` not supported.');
  if (scheme === 'pbkdf2' && typeof newDoc.iterations !== 'number') deny('iterations must be a number.');
  if (scheme === 'pbkdf2' && typeof newDoc.derived_key !== 'string') deny('derived_key must be a string.');
  // A server admin, or an admin of this database by name or role, may set anything else.
  var admins = (secObj && secObj.admins) || {};
  var dbAdmin = listed(admins.names, userCtx.name) ||
    userCtx.roles.some(function (r) { return listed(admins.roles, r); });
  if (!serverAdmin && !dbAdmin) {
    if (!oldDoc && newDoc.roles.length > 0) deny('Only _admin may set roles');
    if (oldDoc && userCtx.name !== newDoc.name) deny('You may only update your own user document.');
    var before = (oldDoc && oldDoc.roles || []).slice().sort();
    var after = newDoc.roles.slice().sort();
    if (oldDoc && (before.length !== after.length || before.some(function (r, i) { return r !== after[i]; }))) {
      deny('Only _admin may edit roles');
    }
  }
  newDoc.roles.forEach(function (r) {
    if (r !== '_metrics' && r.charAt(0) === '_') deny('No system roles (starting with underscore) in users db.');
  });
  if (newDoc.name.charAt(0) === '_') deny('Username may not start with underscore.');
  if (newDoc.name.indexOf(':') >= 0) deny('Character \`:\` is not allowed in usernames.');
}`;

/** Whether a design document of `db` is the `_users` auth document with CouchDB's own function, which the native rules stand for. */
export function isNativeAuthDesignDoc(db: Db, ddoc: { _id?: unknown; validate_doc_update?: unknown }): boolean {
  return isUsersDb(db) && ddoc._id === AUTH_DDOC_ID && ddoc.validate_doc_update === AUTH_DB_DOC_VALIDATE_FUNCTION;
}

/**
 * chttpd_auth_cache:ensure_auth_ddoc_exists/2 for the `_users` database `db`: write the design
 * document when there is none (or it was deleted), or put the function back into the one there.
 * A concurrent writer's conflict is ignored, as update_doc_ignoring_conflict does.
 */
export async function ensureAuthDesignDoc(db: Db): Promise<void> {
  const state = loadDoc(db, AUTH_DDOC_ID, db.revsLimit);
  const live = state && !state.winner.deleted ? state : null;
  const body = live?.revData(live.winner.rev)?.body;
  if (live && (body === undefined || body.validate_doc_update === AUTH_DB_DOC_VALIDATE_FUNCTION)) return;
  const doc = live && body
    ? { ...body, _id: AUTH_DDOC_ID, _rev: live.winner.rev, validate_doc_update: AUTH_DB_DOC_VALIDATE_FUNCTION }
    : { _id: AUTH_DDOC_ID, language: 'javascript', validate_doc_update: AUTH_DB_DOC_VALIDATE_FUNCTION };
  try {
    await writeDoc(db, AUTH_DDOC_ID, parseDocument(doc), { newEdits: true });
  } catch (err) {
    if (!isCouchError(err) || err.kind !== 'conflict') throw err;
  }
}
