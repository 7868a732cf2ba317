/**
 * The data file is mapped once (store/lmdb-store.ts MAP_SIZE). lmdb-js grows a small map by
 * doubling and keeps every earlier map for lingering readers, so a growing database was mapped
 * many times over and each page read through several maps counted several times in the RSS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucketCore } from '../../src/engine/bucket.js';
import { openTestEngine } from '../helpers/engine.js';

const mappings = (file: string): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(` ${file}`)).length;

test('store > a data file grown to megabytes is one mapping', async (t) => {
  const e = await openTestEngine(64);
  t.after(() => e.close());
  const value = JSON.stringify({ pad: 'x'.repeat(4000) });
  for (let i = 0; i < 2000; i++) await e.bucket.set(`doc-${i}`, value);
  await bucketCore(e.bucket).quiesce();
  const file = join(e.dataDir, 'freshet.mdb');
  assert.ok(readFileSync(file).length > 8 * 1024 * 1024, 'the file grew past several doublings of 128 KiB');
  assert.equal(mappings(file), 1);
});
