/** Durable checkpoints: atomic file store, format validation (checkpoint-store.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/server.js';
import { CheckpointFormatError, FileCheckpointStore, MemoryCheckpointStore, parseCheckpoint, type Checkpoint } from '../../src/consumer/checkpoint-store.js';
import { decodeMetaData } from '../../src/consumer/metadata.js';

const cp: Checkpoint = {
  version: 1,
  bucket: 'default',
  bucketUuid: 'u1',
  vbuckets: { '0': { lastSeq: 4, meta: { seqStart: 0, seqEnd: 0, snapStart: 1, snapEnd: 4, failOverLog: [[209937112104961, 0]] } } },
};

describe('consumer > checkpoint store', () => {
  test('file store: save then load round-trips; no temporary file is left behind', async (t) => {
    const dir = tempDir('freshet-cp-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const store = new FileCheckpointStore(join(dir, 'sub', 'tail.json'));
    assert.equal(await store.load(), undefined);
    await store.save(cp);
    await store.save({ ...cp, vbuckets: { ...cp.vbuckets, '1': { lastSeq: 0, meta: { seqStart: 0, seqEnd: 0, snapStart: 0, snapEnd: 0, failOverLog: [] } } } });
    const loaded = await store.load();
    assert.equal(Object.keys(loaded!.vbuckets).length, 2);
    assert.deepEqual(loaded!.vbuckets['0'], cp.vbuckets['0']);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['tail.json']);
    // the metadata inside is cbdatasource's JSON object: a Go receiver's GetMetaData value
    const raw = JSON.parse(readFileSync(join(dir, 'sub', 'tail.json'), 'utf8')) as { vbuckets: Record<string, { meta: unknown }> };
    assert.deepEqual(decodeMetaData(JSON.stringify(raw.vbuckets['0']!.meta)), cp.vbuckets['0']!.meta);
  });

  test('a damaged file is a CheckpointFormatError, not a silent restart from zero', async (t) => {
    const dir = tempDir('freshet-cp-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'x.json');
    writeFileSync(path, '{"version":1,"bucket":"default","vbuckets":{"0":{"lastSeq":-1');
    await assert.rejects(new FileCheckpointStore(path).load(), CheckpointFormatError);
    assert.throws(() => parseCheckpoint({ version: 2, bucket: 'b', vbuckets: {} }), CheckpointFormatError);
    assert.throws(() => parseCheckpoint({ version: 1, bucket: 'b', vbuckets: { x: { lastSeq: 1, meta: {} } } }), CheckpointFormatError);
    assert.throws(() => parseCheckpoint({ version: 1, bucket: 'b', vbuckets: { '1': { lastSeq: 1, meta: { snapStart: 'a' } } } }), CheckpointFormatError);
  });

  test('memory store keeps a copy', async () => {
    const m = new MemoryCheckpointStore();
    const doc = structuredClone(cp);
    await m.save(doc);
    (doc.vbuckets['0'] as { lastSeq: number }).lastSeq = 99;
    assert.equal((await m.load())!.vbuckets['0']!.lastSeq, 4);
    assert.equal(m.saves, 1);
  });
});
