/**
 * `_users/_design/_auth`: the design document CouchDB keeps in its authentication database, whose
 * `validate_doc_update` is couch_js_functions.hrl's `AUTH_DB_DOC_VALIDATE_FUNCTION` (text below,
 * as apache/couchdb's current 3.x source has it). chttpd_auth_cache:ensure_auth_ddoc_exists/2
 * writes it when the database has none, and puts the function back when an admin changed it
 * (couch_auth_cache:auth_design_doc/1: `_id`, `language: "javascript"`, the function).
 *
 * Freshet applies those rules natively (users-db.ts validateUserDoc, with password hashing), so
 * the document is there to be read, replicated and listed as CouchDB's is, and is not run: the
 * validators of design documents (src/design/validate.ts) leave out a `_users/_design/_auth` whose
 * function is exactly this text, so the rules are not applied twice. A changed function is run
 * like any other validate_doc_update (until the next start puts the original back, as CouchDB's
 * auth cache does when its listener starts).
 */
import { parseDocument } from '../couch/doc.js';
import { isCouchError } from '../couch/errors.js';
import type { Db } from './db.js';
import { writeDoc } from './doc-write.js';
import { loadDoc } from './doc-store.js';
import { isUsersDb } from './users-db.js';

export const AUTH_DDOC_ID = '_design/_auth';

export const AUTH_DB_DOC_VALIDATE_FUNCTION = `
    function(newDoc, oldDoc, userCtx, secObj) {
        if (newDoc._deleted === true) {
            // allow deletes by admins and matching users
            // without checking the other fields
            if ((userCtx.roles.indexOf('_admin') !== -1) ||
                (userCtx.name == oldDoc.name)) {
                return;
            } else {
                throw({forbidden: 'Only admins may delete other user docs.'});
            }
        }

        if (newDoc.type !== 'user') {
            throw({forbidden : 'doc.type must be user'});
        } // we only allow user docs for now

        if (!newDoc.name) {
            throw({forbidden: 'doc.name is required'});
        }

        if (!newDoc.roles) {
            throw({forbidden: 'doc.roles must exist'});
        }

        if (!isArray(newDoc.roles)) {
            throw({forbidden: 'doc.roles must be an array'});
        }

        for (var idx = 0; idx < newDoc.roles.length; idx++) {
            if (typeof newDoc.roles[idx] !== 'string') {
                throw({forbidden: 'doc.roles can only contain strings'});
            }
        }

        if (newDoc._id !== ('org.couchdb.user:' + newDoc.name)) {
            throw({
                forbidden: 'Doc ID must be of the form org.couchdb.user:name'
            });
        }

        if (oldDoc) { // validate all updates
            if (oldDoc.name !== newDoc.name) {
                throw({forbidden: 'Usernames can not be changed.'});
            }
        }

        if (newDoc.password_sha && !newDoc.salt) {
            throw({
                forbidden: 'Users with password_sha must have a salt.' +
                    'See /_utils/script/couch.js for example code.'
            });
        }

        var available_schemes = ["simple", "pbkdf2", "simple+pbkdf2"];
        if (newDoc.password_scheme
                && available_schemes.indexOf(newDoc.password_scheme) == -1) {
            throw({
                forbidden: 'Password scheme \`' + newDoc.password_scheme
                    + '\` not supported.'
            });
        }

        if (newDoc.password_scheme === "pbkdf2") {
            if (typeof(newDoc.iterations) !== "number") {
               throw({forbidden: "iterations must be a number."});
            }
            if (typeof(newDoc.derived_key) !== "string") {
               throw({forbidden: "derived_key must be a string."});
            }
        }

        var is_server_or_database_admin = function(userCtx, secObj) {
            // see if the user is a server admin
            if(userCtx.roles.indexOf('_admin') !== -1) {
                return true; // a server admin
            }

            // see if the user a database admin specified by name
            if(secObj && secObj.admins && secObj.admins.names) {
                if(secObj.admins.names.indexOf(userCtx.name) !== -1) {
                    return true; // database admin
                }
            }

            // see if the user a database admin specified by role
            if(secObj && secObj.admins && secObj.admins.roles) {
                var db_roles = secObj.admins.roles;
                for(var idx = 0; idx < userCtx.roles.length; idx++) {
                    var user_role = userCtx.roles[idx];
                    if(db_roles.indexOf(user_role) !== -1) {
                        return true; // role matches!
                    }
                }
            }

            return false; // default to no admin
        }

        if (!is_server_or_database_admin(userCtx, secObj)) {
            if (oldDoc) { // validate non-admin updates
                if (userCtx.name !== newDoc.name) {
                    throw({
                        forbidden: 'You may only update your own user document.'
                    });
                }
                // validate role updates
                var oldRoles = (oldDoc.roles || []).sort();
                var newRoles = newDoc.roles.sort();

                if (oldRoles.length !== newRoles.length) {
                    throw({forbidden: 'Only _admin may edit roles'});
                }

                for (var i = 0; i < oldRoles.length; i++) {
                    if (oldRoles[i] !== newRoles[i]) {
                        throw({forbidden: 'Only _admin may edit roles'});
                    }
                }
            } else if (newDoc.roles.length > 0) {
                throw({forbidden: 'Only _admin may set roles'});
            }
        }

        // no system roles in users db
        for (var i = 0; i < newDoc.roles.length; i++) {
            if (newDoc.roles[i] !== '_metrics') {
              if (newDoc.roles[i][0] === '_') {
                  throw({
                      forbidden:
                      'No system roles (starting with underscore) in users db.'
                  });
              }
            }
        }

        // no system names as names
        if (newDoc.name[0] === '_') {
            throw({forbidden: 'Username may not start with underscore.'});
        }

        var badUserNameChars = [':'];

        for (var i = 0; i < badUserNameChars.length; i++) {
            if (newDoc.name.indexOf(badUserNameChars[i]) >= 0) {
                throw({forbidden: 'Character \`' + badUserNameChars[i] +
                        '\` is not allowed in usernames.'});
            }
        }
    }
`;

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
