/**
 * Bucket flush (Couchbase's `POST /pools/default/buckets/NAME/controller/doFlush`, allowed when
 * the bucket's `flushEnabled` is on; mgmt/bucket-routes.ts): every document of every collection
 * of the bucket is deleted, locked ones included.
 *
 * Couchbase resets each vbucket instead (ns_server flushes through kv_engine, which drops the
 * data and its seqnos). Here a flush is ordinary deletions, each with its seqno: a DCP stream or a
 * `_changes` feed sees every document go, and no consumer has to roll back. Writes that arrive
 * while a flush runs may survive it, as they may in Couchbase.
 *
 * The keys of each active vbucket are taken from the key directory at the start; a key already
 * deleted, or written away by then, is skipped. Deletions go in batches of `BATCH` so that a
 * bucket whose writes wait for the disk (`durabilityMinLevel`) shares fsyncs; a batch refused for
 * a full dirty backlog (TMPFAIL) is retried after a pause.
 */
import { bucketCore, type Bucket } from './bucket.js';
import { parseDirKey } from './dir-keys.js';
import { isEngineError } from './errors.js';
import { releaseAllLocks } from './locks.js';

const BATCH = 1024;
const TMPFAIL_PAUSE_MS = 50;

export interface FlushResult {
  /** Documents deleted. */
  deleted: number;
  /** Keys that were already deleted (tombstones) or gone by the time the flush reached them. */
  skipped: number;
}

type Outcome = 'deleted' | 'skipped' | 'tmpfail';

async function deleteOne(bucket: Bucket, vb: number, k: string): Promise<Outcome> {
  const { collection, key } = parseDirKey(k);
  try {
    await bucket.collection(collection).delete(Buffer.from(key, 'latin1'), {}, vb);
    return 'deleted';
  } catch (err) {
    if (isEngineError(err, 'ETMPFAIL')) return 'tmpfail';
    // Already a tombstone, or its collection dropped meanwhile: nothing left to delete.
    if (isEngineError(err, 'KEY_ENOENT') || isEngineError(err, 'UNKNOWN_COLLECTION')) return 'skipped';
    throw err;
  }
}

export async function flushBucket(bucket: Bucket): Promise<FlushResult> {
  const core = bucketCore(bucket);
  const result: FlushResult = { deleted: 0, skipped: 0 };
  releaseAllLocks(core);
  for (let vb = 0; vb < bucket.numVBuckets; vb++) {
    if (bucket.vbucketState(vb) !== 'active') continue;
    const keys = [...core.vbucketKeys(vb)];
    let next = 0;
    let retry: string[] = [];
    while (retry.length > 0 || next < keys.length) {
      // A batch refused for the backlog goes again, after a pause, before the next keys.
      const batch = retry.length > 0 ? retry : keys.slice(next, (next += BATCH));
      const outcomes = await Promise.all(batch.map((k) => deleteOne(bucket, vb, k)));
      retry = [];
      outcomes.forEach((o, i) => {
        if (o === 'tmpfail') retry.push(batch[i]!);
        else result[o]++;
      });
      if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, TMPFAIL_PAUSE_MS));
    }
  }
  return result;
}
