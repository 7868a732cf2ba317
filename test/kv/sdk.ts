/**
 * Running the official, unmodified `couchbase` SDK against an in-process Freshet.
 *
 * Timeouts are short and every cluster is closed in `finally`: a protocol bug typically shows up
 * as an SDK operation that times out (couchbase-sdk-bootstrap.md §5), and callers also give each
 * test a `timeout`, so a hang fails the test instead of stalling the run.
 */
import couchbase, { type Cluster, type Collection } from 'couchbase';
import { ADMIN } from '../helpers/server.js';

export const SDK_TIMEOUTS = { kvTimeout: 2500, connectTimeout: 5000, bootstrapTimeout: 5000 } as const;
/** node:test per-test timeout for SDK tests. */
export const SDK_TEST_TIMEOUT = 60_000;

export interface SdkOptions {
  username?: string;
  password?: string;
  kvTimeout?: number;
}

export function connectSdk(port: number, opts: SdkOptions = {}): Promise<Cluster> {
  return couchbase.connect(`couchbase://127.0.0.1:${port}`, {
    username: opts.username ?? ADMIN.username,
    password: opts.password ?? ADMIN.password,
    timeouts: { ...SDK_TIMEOUTS, ...(opts.kvTimeout !== undefined ? { kvTimeout: opts.kvTimeout } : {}) },
  });
}

/** Connect, hand the bucket's default collection to `fn`, and always close the cluster. */
export async function withCollection<T>(
  port: number,
  bucket: string,
  fn: (collection: Collection, cluster: Cluster) => Promise<T>,
  opts: SdkOptions = {},
): Promise<T> {
  const cluster = await connectSdk(port, opts);
  try {
    return await fn(cluster.bucket(bucket).defaultCollection(), cluster);
  } finally {
    await cluster.close();
  }
}

/** The fields of an SDK mutation token (its toJSON shape; every field a decimal string). */
export interface TokenFields {
  bucket: string;
  vbucket: number;
  vbUuid: string;
  seqno: number;
}

export function tokenFields(token: unknown): TokenFields {
  if (typeof token !== 'object' || token === null || !('toJSON' in token) || typeof token.toJSON !== 'function') {
    throw new Error('not a mutation token');
  }
  const json: unknown = token.toJSON();
  if (typeof json !== 'object' || json === null) throw new Error('mutation token JSON is not an object');
  const field = (name: string): string => {
    const v: unknown = (json as Record<string, unknown>)[name];
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`mutation token has no ${name}`);
    return String(v);
  };
  return {
    bucket: field('bucket_name'),
    vbucket: Number(field('partition_id')),
    vbUuid: field('partition_uuid'),
    seqno: Number(field('sequence_number')),
  };
}
