/**
 * `npm run bench -- lmdb`: the storage ceiling under issue #16's write targets. LMDB alone (no
 * engine, no network), through Freshet's own store (store/lmdb-store.ts: the same environment
 * options and bucket databases) and index keys (store/keys.ts), doing what the flusher does for
 * each replacing write (engine/index-ops.ts): remove the key's old by-seq record and change-order
 * entry, put the new ones. Keys are drawn at random from the key space, as `bench kv` draws them,
 * over 1024 vbuckets; records are 170 bytes, a 100-byte document's.
 *
 * Each figure is one transaction size, written back to back (each transaction committed and on
 * disk before the next is queued, as a durable write waits):
 * - 128 and 256 writes a transaction: what `persistToMajority` SETs at 256 requests in flight
 *   can batch (the kv bench's target is 0.15x memcached, about 120-140k/s on this machine);
 * - 4,000 and 40,000: what a flusher behind plain SETs batches (target 0.5x memcached);
 * - at 128, without the by-seq removal, and then also into a single vbucket: what the index
 *   layout costs (each replacing write dirties pages at random places; a vbucket's appends go to
 *   its own part of the tree).
 *
 *   BENCH_LMDB_KEYS     key space (default 100,000), written before the figures
 *   BENCH_LMDB_SECONDS  seconds per figure (default 3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore, type BucketDbs } from '../src/store/lmdb-store.js';
import { changeRef, seqKey, u64Key } from '../src/store/keys.js';
import { fmt, line, rate } from './report.js';

const VBUCKETS = 1024;
const RECORD = Buffer.alloc(170, 0x61);

interface Variant {
  readonly label: string;
  readonly perTxn: number;
  /** Remove the old by-seq record (false: leave it, as a lazily cleaned index would). */
  readonly removeOld: boolean;
  /** Every key in vbucket 0 instead of its own. */
  readonly oneVBucket: boolean;
}

/** The key space's current versions: vbucket, seqno and change sequence per key. */
class Versions {
  readonly vb: Uint16Array;
  readonly seqno: Float64Array;
  readonly change: Float64Array;
  readonly high = new Float64Array(VBUCKETS);
  changeSeq = 0;
  constructor(readonly keys: number) {
    this.vb = new Uint16Array(keys);
    this.seqno = new Float64Array(keys);
    this.change = new Float64Array(keys);
  }
}

/** Queue one replacing write of key `k` (or its first write); the transaction's commit promise. */
function replace(dbs: BucketDbs, v: Versions, k: number, vb: number, removeOld: boolean): Promise<boolean> {
  if (v.seqno[k]! > 0) {
    if (removeOld) dbs.bySeq.remove(seqKey(v.vb[k]!, v.seqno[k]!));
    dbs.changes.remove(u64Key(v.change[k]!));
  }
  const seqno = ++v.high[vb]!;
  const change = ++v.changeSeq;
  v.vb[k] = vb;
  v.seqno[k] = seqno;
  v.change[k] = change;
  dbs.bySeq.put(seqKey(vb, seqno), RECORD);
  return dbs.changes.put(u64Key(change), changeRef(vb, seqno, 0));
}

export async function run(): Promise<void> {
  const keys = Number(process.env.BENCH_LMDB_KEYS ?? 100_000);
  const ms = Number(process.env.BENCH_LMDB_SECONDS ?? 3) * 1000;
  const variants: Variant[] = [
    { label: '128 writes a transaction', perTxn: 128, removeOld: true, oneVBucket: false },
    { label: '256 writes a transaction', perTxn: 256, removeOld: true, oneVBucket: false },
    { label: '4,000 writes a transaction', perTxn: 4_000, removeOld: true, oneVBucket: false },
    { label: '40,000 writes a transaction', perTxn: 40_000, removeOld: true, oneVBucket: false },
    { label: '128, old by-seq record left', perTxn: 128, removeOld: false, oneVBucket: false },
    { label: '128, old record left, one vbucket', perTxn: 128, removeOld: false, oneVBucket: true },
  ];
  line('key space', `${fmt(keys)} keys, ${VBUCKETS} vbuckets, ${RECORD.length}-byte records, 4 LMDB operations a replacing write`);
  for (const variant of variants) {
    // A fresh store per figure: a left-alone by-seq record must not slow the next one down.
    const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-lmdb-'));
    const store = new LmdbStore(dir);
    try {
      const dbs = store.bucketDbs('bench');
      const v = new Versions(keys);
      const vbOf = (k: number): number => (variant.oneVBucket ? 0 : k % VBUCKETS);
      for (let k = 0; k < keys; k += 10_000) {
        let committed: Promise<boolean> = Promise.resolve(true);
        for (let i = k; i < Math.min(keys, k + 10_000); i++) committed = replace(dbs, v, i, vbOf(i), true);
        await committed;
      }
      await store.root.flushed;
      let seed = 12345;
      const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % keys;
      let writes = 0;
      const started = performance.now();
      while (performance.now() - started < ms) {
        let committed: Promise<boolean> = Promise.resolve(true);
        for (let i = 0; i < variant.perTxn; i++) {
          const k = random();
          committed = replace(dbs, v, k, vbOf(k), variant.removeOld);
        }
        await committed;
        await store.root.flushed;
        writes += variant.perTxn;
      }
      line(`  ${variant.label}`, `${fmt(rate(writes, performance.now() - started))} writes/s`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
