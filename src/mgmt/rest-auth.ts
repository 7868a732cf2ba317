/**
 * Who is calling, and may they? HTTP Basic on every request (go-couchbase sends it on each /pools
 * call, dcp.md §4.3), checked against the same user registry as SASL on the KV port.
 *
 * Order of checks, as ns_server's `perform_action` / `check_uuid` / `check_bucket_uuid`
 * (menelaus_web.erl):
 * 1. credentials: missing, malformed or wrong -> 401 with the Basic challenge;
 * 2. permission -> 403 with the permission the caller lacks;
 * 3. `uuid` query parameter, when given, must be the cluster uuid -> else 404
 *    "Cluster uuid does not match the requested.";
 * 4. for bucket routes: the bucket must exist -> else 404 "Requested resource not found.", and a
 *    `bucket_uuid` query parameter must match it -> else 404 "Bucket uuid does not match the
 *    requested.". cbdatasource passes both parameters back verbatim from the previous document.
 * A 401 carries the Basic challenge, except to a caller sending `invalid-auth-response: on`, as
 * ns_server's `require_auth` does for its own UI: browsers show their login dialog on a challenge
 * even to a script's request, and the console (console-routes.ts) asks for the password itself.
 * The password check of step 1 goes through the shared failed-login throttle
 * (src/auth/throttle.ts): a throttled address gets its 401 after a delay.
 */
import type { IncomingMessage } from 'node:http';
import { parseBasicAuth, type BasicCredentials } from '../auth/basic.js';
import { isAuthError } from '../auth/errors.js';
import type { UserRegistry } from '../auth/credentials.js';
import { clientAddress, type AuthThrottle } from '../auth/throttle.js';
import type { Engine } from '../engine/engine.js';
import { AUTH_REALM, RestError, forbidden, notFound } from './rest-io.js';
import type { Access, Principal } from './rest-route.js';

export function challenge(req?: IncomingMessage): RestError {
  if (req?.headers['invalid-auth-response'] === 'on') return new RestError(401, undefined);
  return new RestError(401, undefined, { 'WWW-Authenticate': AUTH_REALM });
}

/** The caller, or a 401 to send. */
export async function authenticate(users: UserRegistry, throttle: AuthThrottle, req: IncomingMessage): Promise<Principal> {
  let creds: BasicCredentials | undefined;
  try {
    creds = parseBasicAuth(req.headers.authorization);
  } catch (err) {
    if (isAuthError(err)) throw challenge(req);
    throw err;
  }
  if (creds === undefined) throw challenge(req);
  const { user, password } = creds;
  const address = clientAddress(req.socket.remoteAddress);
  if (!(await throttle.check(address, user, 'rest', () => users.verifyAsync(user, password)))) throw challenge(req);
  return { name: creds.user, isAdmin: users.isAdmin(creds.user) };
}

/** Permission check (step 2); throws the 403 reply. */
export function authorize(
  users: UserRegistry,
  principal: Principal,
  access: Access,
  params: Readonly<Record<string, string>>,
): void {
  switch (access.kind) {
    case 'public':
    case 'signedIn':
      return;
    case 'pools':
      if (!principal.isAdmin && users.grantsOf(principal.name).length === 0) throw forbidden(access.permission);
      return;
    case 'bucket': {
      const bucket = params.bucket ?? '';
      const allowed = access.need === 'full' ? users.canAccessBucket(principal.name, bucket) : users.hasBucketRole(principal.name, bucket);
      if (!allowed) throw forbidden(access.permission(bucket));
      return;
    }
    case 'admin':
      if (!principal.isAdmin) throw forbidden(access.permission(params));
      return;
  }
}

/** Steps 3 and 4. */
export function checkUuids(engine: Engine, access: Access, params: Readonly<Record<string, string>>, query: URLSearchParams): void {
  const uuid = query.get('uuid');
  if (uuid !== null && uuid !== engine.uuid) throw notFound('Cluster uuid does not match the requested.\r\n');
  if (access.kind !== 'bucket') return;
  const bucket = engine.bucket(params.bucket ?? '');
  if (bucket === undefined) throw notFound();
  const bucketUuid = query.get('bucket_uuid');
  if (bucketUuid !== null && bucketUuid !== bucket.uuid) throw notFound('Bucket uuid does not match the requested.\r\n');
}
