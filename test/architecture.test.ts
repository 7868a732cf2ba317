/**
 * No import circle between the top-level folders of src/ (codec, store, engine, kv, dcp, ...):
 * layers import downward only (BRIEF "Standards"), and two faces may depend on each other in one
 * direction at most (dcp uses kv's command-spec/session/replies; the server wires DCP into the KV
 * listener, kv never imports dcp).
 *
 * Every relative `import`/`export ... from` under src/ is read (type-only imports count too: a
 * circle of types is still a circle of concepts) and folded into a graph of folders. A folder
 * edge lies on a cycle when its target reaches its source again. The last test holds every file
 * under src/ to 400 lines.
 *
 * KNOWN_CYCLE_EDGES lists the circles that remain today, each as the imports that close it; they
 * are ignored until fixed. When one is fixed its entry goes stale and this test says to delete it,
 * so the list only shrinks. Anything else on a cycle fails, with the files that make the edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve('src');

/**
 * Known remaining cycles, as `from -> to` where `from` is a folder and `to` a folder or one file
 * (path under src/). Shrink this list; never grow it.
 */
const KNOWN_CYCLE_EDGES: readonly string[] = [
];

interface Import {
  readonly fromFile: string;
  readonly toFile: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports under src/, with `.js` specifiers mapped back to their `.ts` files. */
function imports(): Import[] {
  const out: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec === undefined || !spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      out.push({ fromFile: relative(SRC, file).split(sep).join('/'), toFile: relative(SRC, target).split(sep).join('/') });
    }
  }
  return out;
}

/** A file's top-level folder under src/ ('.' for src/index.ts itself). */
const folderOf = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '.');

function matchesKnown(entry: string, i: Import): boolean {
  const [from, to] = entry.split(' -> ') as [string, string];
  if (folderOf(i.fromFile) !== from) return false;
  return to.endsWith('.ts') ? i.toFile === to : folderOf(i.toFile) === to;
}

/** Folder edges (with the imports that make each) of the imports not excluded by `known`. */
function folderGraph(all: readonly Import[], known: readonly string[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const i of all) {
    const a = folderOf(i.fromFile);
    const b = folderOf(i.toFile);
    if (a === b || known.some((k) => matchesKnown(k, i))) continue;
    const edges = graph.get(a) ?? new Map<string, string[]>();
    graph.set(a, edges);
    edges.set(b, [...(edges.get(b) ?? []), `${i.fromFile} -> ${i.toFile}`]);
  }
  return graph;
}

function reaches(graph: Map<string, Map<string, string[]>>, from: string, to: string): boolean {
  const seen = new Set([from]);
  const todo = [from];
  while (todo.length > 0) {
    for (const next of graph.get(todo.pop()!)?.keys() ?? []) {
      if (next === to) return true;
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return false;
}

/** Every folder edge on a cycle, with up to three of the imports behind it. */
function cycleEdges(graph: Map<string, Map<string, string[]>>): string[] {
  const out: string[] = [];
  for (const [a, edges] of graph) {
    for (const [b, files] of edges) if (reaches(graph, b, a)) out.push(`${a} -> ${b} (${files.slice(0, 3).join(', ')})`);
  }
  return out.sort();
}

test('no import cycle between top-level folders of src/, except the known ones', () => {
  const all = imports();
  assert.ok(all.length > 100, `read ${all.length} imports: the scan is broken`);
  assert.deepEqual(cycleEdges(folderGraph(all, KNOWN_CYCLE_EDGES)), [], 'import edges on a cycle between src/ folders');
});

test('every known cycle still exists (delete the entries that are fixed)', () => {
  const all = imports();
  for (const entry of KNOWN_CYCLE_EDGES) {
    const others = KNOWN_CYCLE_EDGES.filter((k) => k !== entry);
    const matched = all.filter((i) => matchesKnown(entry, i));
    assert.ok(matched.length > 0, `"${entry}" matches no import any more: delete it from KNOWN_CYCLE_EDGES`);
    assert.ok(cycleEdges(folderGraph(all, others)).length > 0, `"${entry}" closes no cycle any more: delete it from KNOWN_CYCLE_EDGES`);
  }
});

test('the scan sees the kv/dcp wiring: dcp uses kv, kv never uses dcp', () => {
  const all = imports();
  assert.ok(all.some((i) => folderOf(i.fromFile) === 'dcp' && folderOf(i.toFile) === 'kv'));
  assert.deepEqual(all.filter((i) => folderOf(i.fromFile) === 'kv' && folderOf(i.toFile) === 'dcp'), []);
  assert.ok(all.some((i) => i.fromFile === 'server/freshet-server.ts' && i.toFile === 'dcp/commands.ts'));
});

test('only the engine reads storage: no import of src/store outside src/engine and src/store', () => {
  const all = imports();
  assert.ok(all.some((i) => folderOf(i.fromFile) === 'engine' && folderOf(i.toFile) === 'store'));
  const outside = all.filter((i) => folderOf(i.toFile) === 'store' && !['engine', 'store'].includes(folderOf(i.fromFile)));
  assert.deepEqual(outside.map((i) => `${i.fromFile} -> ${i.toFile}`), []);
});

test('the replicator uses the CouchDB layer, never the HTTP face', () => {
  const all = imports();
  assert.ok(all.some((i) => i.fromFile === 'replicator/local-peer.ts' && folderOf(i.toFile) === 'couchdb'));
  assert.deepEqual(all.filter((i) => folderOf(i.fromFile) === 'replicator' && folderOf(i.toFile) === 'http').map((i) => i.fromFile), []);
  assert.deepEqual(all.filter((i) => folderOf(i.fromFile) === 'couchdb' && ['http', 'replicator'].includes(folderOf(i.toFile))).map((i) => i.fromFile), []);
});

test('no source file is over 400 lines (issue #12: a file a reader takes in at once)', () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 100, 'the scan sees the tree');
  const long = files
    .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > 400);
  assert.deepEqual(long, []);
});
