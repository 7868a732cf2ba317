/**
 * The one version string of Freshet, read from package.json at run time (so `npm version` is the
 * only place to change it), and the versions of the products whose protocols it speaks.
 *
 * Clients enable features from the version a server reports, so each face reports the
 * compatible product version first and ours beside it:
 * - KV `VERSION` / `stats version` and the cluster manager's `implementationVersion` carry
 *   `7.6.0-freshet-X.Y.Z`: couchbase-cli and the SDKs read only the leading `major.minor.patch`
 *   (ns_server's own strings are `7.6.0-2176-enterprise`), and `clusterCompatibility` is derived
 *   from major.minor (src/mgmt/pools.ts);
 * - CouchDB `GET /` keeps `"version": "3.3.3"` (PouchDB and the replicators test it) and names
 *   Freshet in `vendor` and a `freshet` field; the `Server` header says both.
 *
 * The relative path holds from src/common/ (tsx) and from dist/common/ (the package).
 */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
if (typeof pkg.version !== 'string') throw new Error('package.json has no version');

/** Freshet's own version (package.json). */
export const FRESHET_VERSION: string = pkg.version;

/** The Couchbase Server version whose KV and cluster-manager behaviour Freshet follows. */
export const COUCHBASE_COMPAT_VERSION = '7.6.0';

/** The CouchDB version whose HTTP API Freshet follows. */
export const COUCHDB_COMPAT_VERSION = '3.3.3';

/** KV `VERSION` and REST `implementationVersion`: `7.6.0-freshet-0.2.0`. */
export const COUCHBASE_VERSION_STRING = `${COUCHBASE_COMPAT_VERSION}-freshet-${FRESHET_VERSION}`;

/**
 * The CouchDB face's `Server` header: CouchDB's product token first, as CouchDB writes it
 * (`CouchDB/3.3.3 (Erlang OTP/25)`, and COUCHDB-379's test checks that it starts with `CouchDB`),
 * then Freshet's own in the comment.
 */
export const HTTP_SERVER_HEADER = `CouchDB/${COUCHDB_COMPAT_VERSION} (Freshet/${FRESHET_VERSION})`;
