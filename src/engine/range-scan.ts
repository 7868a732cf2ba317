/**
 * The keys a KV range scan visits in one vbucket (kv_engine docs/range_scans/range_scan_create.md;
 * the KV face's RANGE_SCAN_* commands, kv/commands/range-scan.ts): a collection's keys between a
 * start and an end key (each inclusive unless asked otherwise) in byte order, or a seeded random
 * sample of them.
 *
 * kv_engine scans a disk snapshot of the vbucket's by-key index. Freshet takes the keys from the
 * key directory when the scan is created (every current key of the vbucket, tombstones included:
 * a vbucket holds about 1/1024 of the bucket, so this is one pass over that share), and the scan
 * reads each document when it reaches it, skipping one deleted or expired by then. So the keys are
 * a snapshot; the documents are as of the read.
 */
import { bucketCore, type Bucket } from './bucket.js';
import { collectionPrefix, COLLECTION_MARK } from './dir-keys.js';
import { mulberry32 } from '../common/prng.js';

export interface KeyRange {
  readonly start: Buffer;
  readonly end: Buffer;
  readonly exclStart: boolean;
  readonly exclEnd: boolean;
}

/** The latin1 keys (a character a byte) of `collection` in vbucket `vb`, unordered. */
function collectionKeys(bucket: Bucket, vb: number, collection: number): string[] {
  const prefix = collectionPrefix(collection);
  const out: string[] = [];
  for (const k of bucketCore(bucket).vbucketKeys(vb)) {
    if (collection === 0 ? k.charCodeAt(0) === COLLECTION_MARK : !k.startsWith(prefix)) continue;
    out.push(collection === 0 ? k : k.slice(prefix.length));
  }
  return out;
}

/** Latin1 strings compare by code unit, which is byte order here. */
const byBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The keys of `collection` in vbucket `vb` within `range`, in byte order, as latin1 strings (a
 * character a byte: `Buffer.from(k, 'latin1')` gives the key), about a third of a Buffer's memory
 * for a scan that keeps them until its last continue.
 */
export function keysInRange(bucket: Bucket, vb: number, collection: number, range: KeyRange): string[] {
  const start = range.start.toString('latin1');
  const end = range.end.toString('latin1');
  return collectionKeys(bucket, vb, collection)
    .filter((k) => {
      const s = byBytes(k, start);
      const e = byBytes(k, end);
      return (range.exclStart ? s > 0 : s >= 0) && (range.exclEnd ? e < 0 : e <= 0);
    })
    .sort(byBytes);
}

/**
 * `samples` keys of `collection` in vbucket `vb` picked at random by `seed` (all of them when there
 * are no more), in byte order, as kv_engine returns a sample; latin1 strings as `keysInRange`.
 */
export function sampleKeys(bucket: Bucket, vb: number, collection: number, samples: number, seed: number): string[] {
  const keys = collectionKeys(bucket, vb, collection).sort(byBytes);
  if (keys.length > samples) {
    // A partial Fisher-Yates shuffle over the sorted keys, seeded by the low 32 bits of the
    // client's 64-bit seed: the same seed, the same sample.
    const random = mulberry32(seed);
    for (let i = 0; i < samples; i++) {
      const j = i + Math.floor(random() * (keys.length - i));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    keys.length = samples;
    keys.sort(byBytes);
  }
  return keys;
}
