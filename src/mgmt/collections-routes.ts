/**
 * Scopes and collections over REST, as ns_server's menelaus_web_collections.erl serves them and
 * the SDKs' CollectionManager calls them (couchbase-cxx-client core/operations/management/
 * scope_*.cxx, collection_*.cxx):
 *
 *   GET    /pools/default/buckets/B/scopes                      the manifest (engine/manifest.ts JSON)
 *   POST   /pools/default/buckets/B/scopes                      name
 *   POST   /pools/default/buckets/B/scopes/S/collections        name, maxTTL, history
 *   PATCH  /pools/default/buckets/B/scopes/S/collections/C      maxTTL, history
 *   DELETE /pools/default/buckets/B/scopes/S[/collections/C]
 *
 * A change answers 200 `{"uid":"<hex manifest uid>"}` once the engine has committed it. Refusals
 * are ns_server's, and the SDKs tell them apart by their text ("Scope with name ", " already
 * exists", " is not found"), so the texts are kept to the letter:
 * - form validation (ns_server validator.erl): 400 `{"errors":{field: message}}`, one message per
 *   field, the first validator that fails: "The value must be supplied", "Name length (N) must be
 *   in the range from 1 to 251, inclusive", `Invalid value "x" : Can only contain ...`, "First
 *   character must not be _ or %", "The value must be an integer", "The value must be in range
 *   from 0 to 2147483647", "Unsupported key", "Key specified more than once";
 * - outcomes (`get_err_code_msg`): 400/404 `{"errors":{"_": message}}`: `Scope with name "s"
 *   already exists`, `Collection with name "c" in scope "s" already exists`, `... is not found`,
 *   "Deleting _default scope is not allowed", and 429 when the bucket's limit is reached.
 * - `history=true` is refused with 400 "Not allowed on this type of bucket", as ns_server does on a
 *   bucket that is not Magma; `history=false` is accepted.
 * - `maxTTL` is -1 to 2^31-1 (ns_server 7.6): 0, the default, lets the bucket's maxTTL apply, -1
 *   means the collection's documents never expire whatever the bucket's, and GET shows the value
 *   as set (the SDK's maxExpiry reads it back, -1 included).
 * - PATCH changes maxTTL (ns_server 7.6 `modify_collection`): writes from then on get the new
 *   limit, documents already written keep their expiry (kv_engine applies the collection maxTTL
 *   when a document is written). A PATCH that changes nothing answers the current uid.
 * - `POST .../scopes/@ensureManifest/UID` waits until the manifest uid reaches UID (hex): 200 and
 *   an empty body, 504 "timeout" after `timeout` ms (default 30000), 404 "bucket no longer exists",
 *   400 "Invalid UID" (handle_ensure_manifest). The manifest here is this node's own, so `nodes`
 *   may name this node only.
 * The bulk manifest update (`PUT .../scopes`) is not served: the SDK in devDependencies does not
 * use it.
 *
 * Permissions are checked before the bucket's existence (403 before 404), as for every bucket route.
 */
import { isEngineError } from '../engine/errors.js';
import type { Bucket } from '../engine/bucket.js';
import { COLLECTION_NO_EXPIRY, MAX_COLLECTIONS, MAX_SCOPES, type Manifest } from '../engine/manifest.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { mgmtPortOf } from '../topology/cluster-config.js';
import { RestError, fieldErrors, notFound, readForm, sendEmpty, sendJson, sendText } from './rest-io.js';
import { BUCKET_SETTINGS_READ, adminAccess, type Access, type RestContext, type RestRoute } from './rest-route.js';

const NAME_MAX = 251;
const MAX_TTL = 0x7fffffff;
/** ns_server 7.6 takes maxTTL -1, "never expire" (engine/manifest.ts COLLECTION_NO_EXPIRY). */
const MIN_TTL = COLLECTION_NO_EXPIRY;
/** What erlang:list_to_integer/1 accepts: an optional sign, '+' or '-', then digits. */
const ERLANG_INTEGER = /^[+-]?\d+$/;

/** Erlang's `~p` of a string, how ns_server quotes names in its messages. */
function quoted(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function globalError(status: number, message: string): RestError {
  return new RestError(status, { errors: { _: message } });
}

/** ns_server validator.erl semantics over a form: the first failing check per field is kept. */
class FormCheck {
  readonly errors: Record<string, string> = {};
  readonly #touched = new Set<string>();

  constructor(readonly form: URLSearchParams) {}

  /** The field's value while it has no error yet (later checks skip a failed field). */
  value(field: string): string | null {
    this.#touched.add(field);
    return Object.hasOwn(this.errors, field) ? null : this.form.get(field);
  }

  fail(field: string, message: string): void {
    if (!Object.hasOwn(this.errors, field)) this.errors[field] = message;
  }

  /** `validator:unsupported` and `no_duplicate_keys`, then throw what was found. */
  finish(opts: { noDuplicates?: boolean } = {}): void {
    const seen = new Set<string>();
    for (const key of this.form.keys()) {
      if (opts.noDuplicates === true && seen.has(key)) this.fail(key, 'Key specified more than once');
      seen.add(key);
      if (!this.#touched.has(key)) this.fail(key, 'Unsupported key');
    }
    if (Object.keys(this.errors).length > 0) throw fieldErrors(this.errors);
  }
}

/** `scope_validators`: required, 1-251 characters of [0-9A-Za-z_%-], not starting with _ or %. */
function checkName(c: FormCheck): void {
  const name = c.value('name');
  const length = name === null ? 0 : [...name].length;
  if (name === null) c.fail('name', 'The value must be supplied');
  else if (length < 1 || length > NAME_MAX) c.fail('name', `Name length (${length}) must be in the range from 1 to ${NAME_MAX}, inclusive`);
  else if (!/^[0-9A-Za-z_%-]+$/.test(name)) {
    c.fail('name', `Invalid value ${quoted(name)} : Can only contain characters A-Z, a-z, 0-9 and the following symbols _ - %`);
  } else if (name.startsWith('_') || name.startsWith('%')) c.fail('name', 'First character must not be _ or %');
}

/** `collection_modifiable_validators`: history (a boolean, true refused here) and maxTTL. */
function checkCollectionSettings(c: FormCheck): { maxTTL: number | undefined } {
  const history = c.value('history');
  if (history !== null && history !== 'true' && history !== 'false') {
    c.fail('history', 'The value must be one of the following: [true,false]');
  } else if (history === 'true') {
    // ns_server history_validator: a web_exception, answered as text before any other check.
    throw new RestError(400, 'Not allowed on this type of bucket');
  }
  let maxTTL: number | undefined;
  const raw = c.value('maxTTL');
  if (raw !== null) {
    // validator:integer is erlang:list_to_integer, which takes a sign, '+' included.
    if (!ERLANG_INTEGER.test(raw)) c.fail('maxTTL', 'The value must be an integer');
    else if (Number(raw) < MIN_TTL || Number(raw) > MAX_TTL) c.fail('maxTTL', `The value must be in range from ${MIN_TTL} to ${MAX_TTL}`);
    else maxTTL = Number(raw);
  }
  return { maxTTL };
}

/** The route's bucket; 404 "Requested resource not found." as for every bucket route. */
function routeBucket(rc: RestContext): Bucket {
  const bucket = rc.server.engine.bucket(rc.params.bucket ?? '');
  if (bucket === undefined) throw notFound();
  return bucket;
}

/** An engine refusal as ns_server words it; `scope`/`collection` as the request named them. */
function engineRefusal(err: unknown, scope: string, collection?: string): unknown {
  if (isEngineError(err, 'SCOPE_EXISTS')) return globalError(400, `Scope with name ${quoted(scope)} already exists`);
  if (isEngineError(err, 'COLLECTION_EXISTS')) {
    return globalError(400, `Collection with name ${quoted(collection ?? '')} in scope ${quoted(scope)} already exists`);
  }
  if (isEngineError(err, 'UNKNOWN_SCOPE')) return globalError(404, `Scope with name ${quoted(scope)} is not found`);
  if (isEngineError(err, 'UNKNOWN_COLLECTION')) {
    return globalError(404, `Collection with name ${quoted(collection ?? '')} in scope ${quoted(scope)} is not found`);
  }
  if (isEngineError(err, 'LIMIT')) {
    return collection === undefined
      ? globalError(429, `Maximum number of scopes (${MAX_SCOPES}) for this bucket has been reached`)
      : globalError(429, `Maximum number of collections (${MAX_COLLECTIONS}) for this bucket has been reached`);
  }
  if (isEngineError(err, 'EINVAL')) return globalError(400, err.message);
  return err;
}

async function change(rc: RestContext, apply: () => Promise<Manifest>, scope: string, collection?: string): Promise<void> {
  let manifest: Manifest;
  try {
    manifest = await apply();
  } catch (err) {
    throw engineRefusal(err, scope, collection);
  }
  sendJson(rc.res, 200, { uid: manifest.uid.toString(16) });
}

/**
 * The manifest as ns_server 7.6 answers it over REST (collections.erl
 * `manifest_json_for_rest_response`): each collection with the properties ns_server stores for
 * it, so `maxTTL` is always there (0, "use the bucket's", when none was given: `add_collection`
 * adds ?USE_BUCKET_MAXTTL) and every collection but `_default` has `history` (false: only a Magma
 * bucket retains history). KV's GET_COLLECTIONS_MANIFEST keeps kv_engine's shorter form.
 */
function restManifest(manifest: Manifest): unknown {
  const hex = (n: number): string => n.toString(16);
  return {
    uid: hex(manifest.uid),
    scopes: manifest.scopes.map((scope) => ({
      name: scope.name,
      uid: hex(scope.id),
      collections: manifest.collectionsOf(scope.id).map((c) => ({
        name: c.name,
        uid: hex(c.id),
        // As set: -1 is "never expire" (what the SDK reads back as maxExpiry -1), 0 the bucket's.
        maxTTL: c.maxTTL,
        ...(c.id === 0 ? {} : { history: false }),
      })),
    })),
  };
}

function getScopes(rc: RestContext): void {
  sendJson(rc.res, 200, restManifest(routeBucket(rc).manifest));
}

async function postScope(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  const c = new FormCheck(await readForm(rc.req));
  checkName(c);
  c.finish();
  const name = c.form.get('name')!;
  await change(rc, () => bucket.createScope(name), name);
}

async function postCollection(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  const scope = rc.params.scope ?? '';
  const c = new FormCheck(await readForm(rc.req));
  const { maxTTL } = checkCollectionSettings(c);
  checkName(c);
  c.finish({ noDuplicates: true });
  const name = c.form.get('name')!;
  await change(rc, () => bucket.createCollection(scope, name, maxTTL === undefined ? {} : { maxTTL }), scope, name);
}

async function patchCollection(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  const scope = rc.params.scope ?? '';
  const name = rc.params.collection ?? '';
  const c = new FormCheck(await readForm(rc.req));
  const { maxTTL } = checkCollectionSettings(c);
  c.finish({ noDuplicates: true });
  await change(rc, () => bucket.modifyCollection(scope, name, maxTTL === undefined ? {} : { maxTTL }), scope, name);
}

async function deleteScope(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  const scope = rc.params.scope ?? '';
  if (scope === '_default') throw globalError(400, 'Deleting _default scope is not allowed');
  await change(rc, () => bucket.dropScope(scope), scope);
}

async function deleteCollection(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  const scope = rc.params.scope ?? '';
  const name = rc.params.collection ?? '';
  await change(rc, () => bucket.dropCollection(scope, name), scope, name);
}

const ENSURE_TIMEOUT_MAX = 300000;
const ENSURE_POLL_MS = 50;

/** `nodes_validator`: each `host:port` must be a node of the bucket; here, this node's REST port. */
function unknownNodes(rc: RestContext, list: string): string[] {
  const here = rc.topology.nodes()[rc.topology.thisNode];
  const port = String(here === undefined ? (rc.req.socket.localPort ?? '') : mgmtPortOf(here));
  // ns_server folds the list into its "bad" accumulator, so they come out last first.
  return list
    .split(',')
    .filter((hostPort) => {
      const at = hostPort.lastIndexOf(':');
      return at <= 0 || hostPort.slice(at + 1) !== port;
    })
    .reverse();
}

async function ensureManifest(rc: RestContext): Promise<void> {
  const bucket = routeBucket(rc);
  // convert_uid: list_to_integer(Uid, 16), before the form is read; negative or not hex is 400.
  const raw = rc.params.uid ?? '';
  if (!/^\+?[0-9a-fA-F]+$/.test(raw)) throw new RestError(400, 'Invalid UID');
  const target = parseInt(raw, 16);
  const c = new FormCheck(await readForm(rc.req));
  let timeout = 30000;
  const rawTimeout = c.value('timeout');
  if (rawTimeout !== null) {
    if (!ERLANG_INTEGER.test(rawTimeout)) c.fail('timeout', 'The value must be an integer');
    else if (Number(rawTimeout) < 0 || Number(rawTimeout) > ENSURE_TIMEOUT_MAX) c.fail('timeout', `The value must be in range from 0 to ${ENSURE_TIMEOUT_MAX}`);
    else timeout = Number(rawTimeout);
  }
  const nodes = c.value('nodes');
  if (nodes !== null) {
    const bad = unknownNodes(rc, nodes);
    if (bad.length > 0) c.fail('nodes', `Invalid nodes : ${bad.join(',')}`);
  }
  c.finish();
  const deadline = Date.now() + timeout;
  for (;;) {
    if (rc.server.engine.bucket(bucket.name) !== bucket) return sendText(rc.res, 404, 'bucket no longer exists');
    if (bucket.manifest.uid >= target) return sendEmpty(rc.res, 200);
    if (Date.now() >= deadline) return sendText(rc.res, 504, 'timeout');
    await sleep(Math.min(ENSURE_POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

/** ns_server's permission names: `{[{collection,[B,any,any]}, collections], read}` and the write ones. */
const READ: Access = { kind: 'bucket', need: 'full', permission: (b) => `cluster.collection[${b}:.:.].collections!read` };
const BUCKET_WRITE = adminAccess((p) => `cluster.bucket[${p.bucket ?? ''}].collections!write`);
const SCOPE_WRITE = adminAccess((p) => `cluster.scope[${p.bucket ?? ''}:${p.scope ?? ''}].collections!write`);

const SCOPES = '/pools/default/buckets/:bucket/scopes';
const COLLECTIONS = `${SCOPES}/:scope/collections`;

export const COLLECTIONS_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: SCOPES, access: READ, handler: getScopes },
  { method: 'POST', path: SCOPES, access: BUCKET_WRITE, handler: postScope },
  { method: 'POST', path: `${SCOPES}/@ensureManifest/:uid`, access: BUCKET_SETTINGS_READ, handler: ensureManifest },
  { method: 'DELETE', path: `${SCOPES}/:scope`, access: SCOPE_WRITE, handler: deleteScope },
  { method: 'POST', path: COLLECTIONS, access: SCOPE_WRITE, handler: postCollection },
  { method: 'PATCH', path: `${COLLECTIONS}/:collection`, access: SCOPE_WRITE, handler: patchCollection },
  { method: 'DELETE', path: `${COLLECTIONS}/:collection`, access: SCOPE_WRITE, handler: deleteCollection },
];
