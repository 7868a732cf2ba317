/**
 * A vbucket's max CAS (kv VBucket::getMaxCas, STAT `vbucket-details` `vb_N:max_cas`): the
 * highest CAS written to it, tombstones included, and the same after a restart.
 */
import { test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { openTestEngine } from '../helpers/engine.js';

test('vbucketInfo.maxCas follows the writes of its vbucket only, and survives a restart', async () => {
  const t = await openTestEngine(16);
  try {
    const b = t.bucket;
    const vb = b.vbucketOf(Buffer.from('a'));
    const other = (vb + 1) % 16;
    assert.equal(b.vbucketInfo(vb).maxCas, '0');
    await b.set('a', '1');
    const del = await b.delete('a');
    assert.equal(b.vbucketInfo(vb).maxCas, del.cas.toString());
    assert.equal(b.vbucketInfo(other).maxCas, '0', 'another vbucket saw none of it');
    await b.quiesce();
    await t.engine.close();
    const engine = await Engine.open({ dataDir: t.dataDir, expiryPagerMs: 0 });
    try {
      assert.equal(engine.bucket('default')!.vbucketInfo(vb).maxCas, del.cas.toString());
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(t.dataDir, { recursive: true, force: true });
  }
});
