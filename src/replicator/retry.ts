/**
 * The replicator's backoff policies, for retried requests and reconnecting feeds (the schedule
 * itself, `policyDelay`, and the abortable `sleep` live in src/common/backoff.ts).
 *
 * CouchDB's replicator waits 250 ms before the first retry and doubles the wait each time
 * (couch_replicator_httpc.erl, `retries_per_request` = 5, capped at 5 minutes); PouchDB's
 * default back-off starts with a random wait up to 2 s and roughly doubles it, capped at
 * 10 minutes (pouchdb-utils defaultBackOff.js; couch-replication.md §1.5). Freshet uses the
 * CouchDB schedule with a lower cap and a little jitter.
 */
import type { BackoffPolicy } from '../common/backoff.js';

export type { BackoffPolicy } from '../common/backoff.js';

export const DEFAULT_REQUEST_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, retries: 5, jitter: 0.1 };
export const DEFAULT_FEED_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, retries: Infinity, jitter: 0.1 };
