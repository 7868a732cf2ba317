/** The cluster-map file: parsing, validation (with the offending field named) and the watcher's rules. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { ClusterMapFileError, formatClusterMapFile, parseClusterMapFile, readClusterMapFile } from '../../src/cluster/index.js';
import { MapWatcher } from '../../src/cluster/map-watcher.js';
import type { ClusterMapFile } from '../../src/cluster/index.js';
import { tempDir } from '../helpers/server.js';
import { until } from './fixtures/map.js';

const GOOD = {
  rev: 3,
  nodes: [
    { hostname: '127.0.0.1', kvPort: 12000, mgmtPort: 9000, httpPort: 5984 },
    { hostname: '127.0.0.1', kvPort: 12002, mgmtPort: 9001 },
  ],
  buckets: { default: { numVBuckets: 4, owners: [0, 1, 1, -1] } },
};

function withChange(change: (doc: Record<string, unknown>) => void): string {
  const doc = structuredClone(GOOD) as unknown as Record<string, unknown>;
  change(doc);
  return JSON.stringify(doc);
}

describe('cluster > map file', () => {
  test('a valid map parses into nodes and buckets and formats back to the same map', () => {
    const map = parseClusterMapFile(JSON.stringify(GOOD));
    assert.equal(map.rev, 3);
    assert.deepEqual(map.nodes, GOOD.nodes);
    assert.deepEqual(map.buckets.get('default'), { numVBuckets: 4, owners: [0, 1, 1, -1] });
    assert.deepEqual(parseClusterMapFile(formatClusterMapFile(map)), map);
  });

  const BAD: [string, string, string][] = [
    ['not JSON', '{"rev": 1,', ''],
    ['not an object', '[1]', ''],
    ['rev missing', withChange((d) => delete d.rev), 'rev'],
    ['rev zero', withChange((d) => (d.rev = 0)), 'rev'],
    ['rev fractional', withChange((d) => (d.rev = 1.5)), 'rev'],
    ['no nodes', withChange((d) => (d.nodes = [])), 'nodes'],
    ['hostname empty', withChange((d) => ((d.nodes as { hostname: string }[])[1]!.hostname = ' ')), 'nodes[1].hostname'],
    ['kvPort out of range', withChange((d) => ((d.nodes as { kvPort: number }[])[0]!.kvPort = 70000)), 'nodes[0].kvPort'],
    ['mgmtPort a string', withChange((d) => ((d.nodes as { mgmtPort: unknown }[])[0]!.mgmtPort = '9000')), 'nodes[0].mgmtPort'],
    ['unknown node field', withChange((d) => ((d.nodes as Record<string, unknown>[])[0]!.port = 1)), 'nodes[0].port'],
    ['duplicate node', withChange((d) => ((d.nodes as { kvPort: number }[])[1]!.kvPort = 12000)), 'nodes[1]'],
    ['unknown top field', withChange((d) => (d.owners = [])), 'owners'],
    ['buckets not an object', withChange((d) => (d.buckets = [])), 'buckets'],
    ['bad bucket name', withChange((d) => (d.buckets = { 'a b': { numVBuckets: 1, owners: [0] } })), 'buckets.a b'],
    ['numVBuckets too large', withChange((d) => (d.buckets = { default: { numVBuckets: 2048, owners: [] } })), 'buckets.default.numVBuckets'],
    ['owners too short', withChange((d) => (d.buckets = { default: { numVBuckets: 4, owners: [0, 1] } })), 'buckets.default.owners'],
    ['owner not a node', withChange((d) => (d.buckets = { default: { numVBuckets: 2, owners: [0, 2] } })), 'buckets.default.owners[1]'],
    ['owner below -1', withChange((d) => (d.buckets = { default: { numVBuckets: 2, owners: [0, -2] } })), 'buckets.default.owners[1]'],
    ['misspelt owners', withChange((d) => (d.buckets = { default: { numVBuckets: 1, owner: [0] } })), 'buckets.default.owner'],
  ];
  for (const [name, text, path] of BAD) {
    test(`refused: ${name}`, () => {
      assert.throws(() => parseClusterMapFile(text), (err: unknown) => err instanceof ClusterMapFileError && err.path === path && err.code === 'CLUSTER_MAP_INVALID');
    });
  }

  test('a missing file reads as no map yet', async (t) => {
    const dir = tempDir('freshet-map-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(await readClusterMapFile(join(dir, 'none.json')), undefined);
  });

  test('the watcher applies growing revs only, reports bad files once and keeps the previous map', async (t) => {
    const dir = tempDir('freshet-map-');
    const file = join(dir, 'map.json');
    const applied: number[] = [];
    const problems: string[] = [];
    const watcher = new MapWatcher({
      file,
      intervalMs: 10,
      onMap: async (m: ClusterMapFile) => void applied.push(m.rev),
      onProblem: (err) => problems.push(err.message),
    });
    t.after(async () => {
      await watcher.close();
      rmSync(dir, { recursive: true, force: true });
    });
    // Atomic replacement, so the poller never reads a half-written file.
    const put = (text: string): void => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    await watcher.start(); // no file yet: nothing happens
    assert.deepEqual([applied, problems], [[], []]);

    put(JSON.stringify(GOOD));
    await until(() => applied.length === 1, 'rev 3 applied');
    put('{"rev": 4, "nodes": [');
    await until(() => problems.length === 1, 'the bad file reported');
    await watcher.check();
    assert.equal(problems.length, 1, 'the same problem is reported once');
    put(withChange((d) => (d.rev = 2)));
    await until(() => problems.length === 2, 'a lower rev refused');
    assert.match(problems[1]!, /not above the applied rev 3/);
    put(JSON.stringify(GOOD)); // the applied map again: nothing to do
    await watcher.check();
    put(withChange((d) => (d.rev = 5)));
    await until(() => applied.length === 2, 'rev 5 applied');
    assert.deepEqual(applied, [3, 5]);
    assert.equal(watcher.current?.rev, 5);
    assert.equal(problems.length, 2);
  });
});

describe('cluster > map watcher, failed applies', () => {
  test('a map whose apply failed is not in force; the next write of the same map applies it', async (t) => {
    const dir = tempDir('freshet-map-');
    const file = join(dir, 'map.json');
    let fail = true;
    const applied: number[] = [];
    const problems: string[] = [];
    const watcher = new MapWatcher({
      file,
      intervalMs: 10,
      onMap: async (m: ClusterMapFile) => {
        if (fail) throw new Error('this node is not in the map');
        applied.push(m.rev);
      },
      onProblem: (err) => problems.push(err.message),
    });
    t.after(async () => {
      await watcher.close();
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(file, JSON.stringify(GOOD));
    await watcher.start();
    assert.deepEqual([applied, problems, watcher.current], [[], ['this node is not in the map'], undefined]);
    fail = false;
    await watcher.check();
    assert.deepEqual(applied, [3]);
    assert.equal(watcher.current?.rev, 3);
  });
});
