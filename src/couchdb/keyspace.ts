/**
 * Database names to collections: every `bucket.scope.collection` keyspace is a CouchDB database,
 * as Sync Gateway and Couchbase Edge Server address collections (`/travel-sample.inventory.airport/
 * _changes`). Shared by the HTTP face (src/http/keyspace.ts) and the replicator's local peer, so a
 * name means the same thing whichever way it arrives.
 *
 * The forms, as Sync Gateway's handler reads them (rest/handler.go, keyspace handling):
 *   `b`        the bucket's `_default._default` collection;
 *   `b.s.c`    collection `c` of scope `s`;
 *   `b.c`      collection `c` of the bucket's only scope (Sync Gateway: "/db.collectionName/doc
 *              matches /db.scopeName.collectionName/doc because there's a single scope"); with
 *              several scopes the name is ambiguous and no keyspace, as there. So `b._default`
 *              is `b` while the bucket has only its `_default` scope.
 *
 * Bucket names may contain dots (scope and collection names never do, manifest.ts), so the
 * reading is decided by which bucket exists, in this order: the whole name; the name without its
 * last two dot-separated parts (`b.s.c`); without its last part (`b.c`). The first bucket found
 * decides; a missing scope or collection in it is then "keyspace not found", never a retry with
 * another split.
 *
 * CouchDB database names may hold `/ + $ ( )` (couch_db:validate_dbname/1,
 * `^[a-z][a-z0-9_$()+/-]*$`), bucket names may not (`[A-Za-z0-9_.%-]`, engine.ts) but may hold '%',
 * which no CouchDB name holds: so the bucket of database `a/b` is named `a%2Fb` (each of those
 * five characters as its uppercase percent escape), and a bucket name reads back as a database
 * name with those escapes decoded. Neither side holds '.', so keyspace dots are unaffected.
 */
import type { Bucket } from '../engine/bucket.js';
import { DEFAULT_NAME } from '../engine/manifest.js';

/** What a database name names. */
export type KeyspaceLookup =
  | { kind: 'ok'; bucket: Bucket; collectionId: number; name: string }
  /** No bucket under any reading; `bucketName` is the whole name (what access is checked on). */
  | { kind: 'no_bucket'; bucketName: string }
  /** The bucket exists, the scope or collection does not (or the 2-part form is ambiguous). */
  | { kind: 'no_keyspace'; bucket: Bucket; reason: string };

export interface BucketSource {
  bucket(name: string): Bucket | undefined;
}

const TO_BUCKET: Readonly<Record<string, string>> = { '/': '%2F', '+': '%2B', $: '%24', '(': '%28', ')': '%29' };
const FROM_BUCKET: Readonly<Record<string, string>> = { '%2F': '/', '%2B': '+', '%24': '$', '%28': '(', '%29': ')' };

/** The bucket name of a database name (see the header): `a/b+c` → `a%2Fb%2Bc`. */
export function bucketNameOf(dbName: string): string {
  return dbName.replace(/[/+$()]/g, (c) => TO_BUCKET[c]!);
}

/** The database name of a bucket: `a%2Fb` → `a/b`. */
export function dbNameOfBucket(bucketName: string): string {
  return bucketName.includes('%') ? bucketName.replace(/%(?:2F|2B|24|28|29)/g, (e) => FROM_BUCKET[e]!) : bucketName;
}

/** The canonical name of a collection's database: the bucket alone for its `_default._default`. */
export function keyspaceName(bucket: Bucket, collectionId: number): string {
  const name = dbNameOfBucket(bucket.name);
  if (collectionId === 0) return name;
  const path = bucket.manifest.pathOf(collectionId);
  return path ? `${name}.${path.scope}.${path.collection}` : `${name}.#${collectionId.toString(16)}`;
}

function lookupIn(bucket: Bucket, whole: string, scope: string | null, collection: string): KeyspaceLookup {
  const m = bucket.manifest;
  let scopeName = scope;
  if (scopeName === null) {
    if (m.scopes.length !== 1) return { kind: 'no_keyspace', bucket, reason: `keyspace ${whole} not found: ${bucket.name} has several scopes, name one (${bucket.name}.scope.${collection})` };
    scopeName = m.scopes[0]!.name;
  }
  const entry = m.collectionByPath(scopeName, collection);
  if (!entry) return { kind: 'no_keyspace', bucket, reason: `keyspace ${whole} not found` };
  return { kind: 'ok', bucket, collectionId: entry.id, name: keyspaceName(bucket, entry.id) };
}

/** Resolve a database name (see the header for the forms and the order of readings). */
export function lookupKeyspace(buckets: BucketSource, dbName: string): KeyspaceLookup {
  const name = bucketNameOf(dbName);
  const whole = buckets.bucket(name);
  if (whole) {
    if (!whole.manifest.hasCollection(0)) return { kind: 'no_keyspace', bucket: whole, reason: `keyspace ${dbName} not found: its ${DEFAULT_NAME} collection was dropped` };
    return { kind: 'ok', bucket: whole, collectionId: 0, name: keyspaceName(whole, 0) };
  }
  const parts = name.split('.');
  if (parts.length >= 3) {
    const b = buckets.bucket(parts.slice(0, -2).join('.'));
    if (b) return lookupIn(b, name, parts[parts.length - 2]!, parts[parts.length - 1]!);
  }
  if (parts.length >= 2) {
    const b = buckets.bucket(parts.slice(0, -1).join('.'));
    if (b) return lookupIn(b, name, null, parts[parts.length - 1]!);
  }
  return { kind: 'no_bucket', bucketName: name };
}

/** Whether a name is written as a keyspace of the default collection (`b._default._default`, `b._default`). */
export function defaultKeyspaceBucket(name: string): string | null {
  for (const suffix of [`.${DEFAULT_NAME}.${DEFAULT_NAME}`, `.${DEFAULT_NAME}`]) {
    if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  }
  return null;
}
