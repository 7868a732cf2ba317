/**
 * The QuickJS sandbox (src/design/sandbox.ts) on its own: CouchDB's function environment, the
 * compile cache per design-document revision, CouchDB's error shapes, and hostile functions (an
 * infinite loop, memory bombs, deep recursion, a syntax error, a throw), each failing within its
 * limit while the sandbox keeps working.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DesignSandbox, type DesignDoc } from '../../src/design/sandbox.js';

const LIMIT_MS = 400;
let sb: DesignSandbox;
const logs: string[] = [];
before(async () => {
  sb = await DesignSandbox.create({ timeoutMs: LIMIT_MS, memoryBytes: 16 * 1024 * 1024, onLog: (_id, m) => logs.push(m) });
});
after(() => sb.dispose());

const ctx = { db: 'db', name: 'bob', roles: ['_admin'] };
let revs = 0;
function ddoc(fields: Record<string, unknown>): DesignDoc {
  return { _id: '_design/t', _rev: `${++revs}-x`, ...fields };
}

describe('CouchDB function environment', () => {
  test('emit, sum, toJSON, isArray, log; map results per document, a throwing document emits nothing', () => {
    const d = ddoc({ views: { v: { map: 'function (doc) { emit(doc._id, sum(doc.n)); emit([isArray(doc.n)], toJSON(doc.n)); log("mapped " + doc._id); };' } } });
    const m = sb.compile(d, 'map', ['views', 'v', 'map']);
    assert.deepEqual(m.map({ _id: 'a', n: [1, 2, 3] }), [['a', 6], [[true], '[1,2,3]']]);
    assert.ok(logs.includes('mapped a'));
    const many = m.mapMany([{ _id: 'b', n: [4] }, null]);
    assert.deepEqual(many[0], { emits: [['b', 4], [[true], '[4]']] });
    assert.ok('error' in many[1]! && many[1].error.error === 'TypeError');
  });

  test('batches as JSON text: map emits per document (a throw and a second throw later are per document); a filter stops at its first throw', () => {
    const m = sb.compile(ddoc({ views: { v: { map: 'function (doc) { if (doc.bad) throw new Error("bad " + doc._id); emit(doc._id, doc.n); }' } } }), 'map', ['views', 'v', 'map']);
    const docs = [{ _id: 'a', n: 1 }, { _id: 'b', bad: 1 }, { _id: 'c', n: [2] }, { _id: 'd', bad: 1 }, { _id: 'e' }];
    const json = JSON.stringify(docs);
    assert.deepEqual(m.mapManyJson(json), m.mapMany(docs));
    assert.deepEqual(m.mapManyJson(json), [
      { emits: [['a', 1]] }, { error: { error: 'Error', reason: 'bad b' } }, { emits: [['c', [2]]] }, { error: { error: 'Error', reason: 'bad d' } }, { emits: [['e', null]] },
    ]);
    const f = sb.compile(ddoc({ filters: { f: 'function (doc, req) { if (doc.bad) throw {error: "nope", reason: doc._id}; return doc.n === req.query.n; }' } }), 'filter', ['filters', 'f']);
    const req = { query: { n: 1 } };
    assert.deepEqual(f.filterManyJson(JSON.stringify(docs.slice(0, 1).concat([{ _id: 'x', n: 2 }])), req), { pass: [true, false] });
    const v = f.filterManyJson(json, req);
    assert.deepEqual(v.pass, [true]);
    assert.equal(v.error?.error, 'nope');
    assert.equal(v.error?.reason, 'b');
    assert.throws(() => f.filterMany(docs, req), { error: 'nope', reason: 'b' });
    assert.deepEqual(f.filterManyJson('[]', req), { pass: [] });
  });

  test('reduce and rereduce', () => {
    const r = sb.compile(ddoc({ views: { v: { map: 'function(d){}', reduce: 'function (k, v, re) { return re ? -sum(v) : sum(v); }' } } }), 'reduce', ['views', 'v', 'reduce']);
    assert.equal(r.reduce([[1, 'a'], [2, 'b']], [1, 2], false), 3);
    assert.equal(r.reduce(null, [3, 4], true), -7);
  });

  test('filter gets (doc, req) with `this` the design document', () => {
    const f = sb.compile(ddoc({ tag: 'T', filters: { f: 'function (doc, req) { return doc.type === req.query.type && this.tag === "T"; }' } }), 'filter', ['filters', 'f']);
    assert.deepEqual(f.filterMany([{ type: 'a' }, { type: 'b' }, {}], { query: { type: 'a' } }), [true, false, false]);
    assert.equal(f.filter({ type: 'b' }, { query: { type: 'b' } }), true);
  });

  test('two callers of one function with different req objects each see their own', () => {
    const d = ddoc({ filters: { f: 'function (doc, req) { return doc.type === req.query.type; }' } });
    const one = sb.compile(d, 'filter', ['filters', 'f']);
    const two = sb.compile(d, 'filter', ['filters', 'f']);
    const reqA = { query: { type: 'a' } };
    const reqB = { query: { type: 'b' } };
    for (let i = 0; i < 3; i++) {
      assert.equal(one.filter({ type: 'a' }, reqA), true);
      assert.equal(two.filter({ type: 'a' }, reqB), false);
      assert.deepEqual(one.filterMany([{ type: 'b' }, { type: 'a' }], reqA), [false, true]);
    }
  });

  test('require: CommonJS modules in the design document, relative paths, views see views.lib only', () => {
    const d = ddoc({
      lib: { util: 'var o = require("./other"); exports.ok = function (d) { return d.x === o.v; };', other: 'exports.v = 3;' },
      views: { lib: { k: 'exports.key = function (d) { return "k" + d.x; };' }, v: { map: 'function (d) { emit(require("views/lib/k").key(d), null); }' } },
      filters: { f: 'function (doc) { return require("lib/util").ok(doc); }', missing: 'function (doc) { return require("lib/nope"); }' },
    });
    assert.deepEqual(sb.compile(d, 'filter', ['filters', 'f']).filterMany([{ x: 3 }, { x: 4 }], {}), [true, false]);
    assert.deepEqual(sb.compile(d, 'map', ['views', 'v', 'map']).map({ x: 1 }), [['k1', null]]);
    assert.throws(() => sb.compile(d, 'filter', ['filters', 'missing']).filter({}, {}), { error: 'invalid_require_path', status: 500 });
  });

  test('list-only functions throw a clear error', () => {
    const f = sb.compile(ddoc({ filters: { f: 'function () { send("x"); return true; }' } }), 'filter', ['filters', 'f']);
    assert.throws(() => f.filter({}, {}), { error: 'not_supported' });
  });
});

describe('errors as CouchDB reports them', () => {
  test('a syntax error and a non-function are 400 compilation_error with the source', () => {
    assert.throws(() => sb.compile(ddoc({ filters: { f: 'function (doc { return 1 }' } }), 'filter', ['filters', 'f']), (err: unknown) => {
      const e = err as { status: number; error: string; reason: string };
      return e.status === 400 && e.error === 'compilation_error' && e.reason.includes('(function (doc { return 1 })');
    });
    assert.throws(() => sb.compile(ddoc({ filters: { f: '42' } }), 'filter', ['filters', 'f']), {
      status: 400, error: 'compilation_error', reason: 'Expression does not eval to a function. (42)',
    });
  });

  test('a throw is {error, reason}: objects as thrown, Errors by name and message', () => {
    const d = ddoc({ filters: { obj: 'function () { throw {error: "oops", reason: "because"}; }', err: 'function () { throw new TypeError("bad"); }', str: 'function () { throw "plain"; }' } });
    assert.throws(() => sb.compile(d, 'filter', ['filters', 'obj']).filter({}, {}), { status: 500, error: 'oops', reason: 'because' });
    assert.throws(() => sb.compile(d, 'filter', ['filters', 'err']).filter({}, {}), { status: 500, error: 'TypeError', reason: 'bad' });
    assert.throws(() => sb.compile(d, 'filter', ['filters', 'str']).filter({}, {}), { status: 500, error: 'unnamed_error', reason: 'plain' });
  });

  test('validate_doc_update verdicts: forbidden 403, unauthorized 401, other 500; a pass returns', () => {
    const v = sb.compile(ddoc({
      validate_doc_update: 'function (n, o, u, s) { if (n.f) throw {forbidden: "no " + u.name}; if (n.u) throw {unauthorized: "log in"}; if (n.x) throw {other: "x"}; if (n.e) null.boom; }',
    }), 'validate', ['validate_doc_update']);
    v.validate({ ok: 1 }, null, ctx, {});
    assert.throws(() => v.validate({ f: 1 }, null, ctx, {}), { status: 403, error: 'forbidden', reason: 'no bob' });
    assert.throws(() => v.validate({ u: 1 }, null, ctx, {}), { status: 401, error: 'unauthorized', reason: 'log in' });
    assert.throws(() => v.validate({ x: 1 }, null, ctx, {}), { status: 500, error: 'unknown_error', reason: 'x' });
    assert.throws(() => v.validate({ e: 1 }, null, ctx, {}), { status: 500, error: 'TypeError' });
  });

  test('a missing function is not_found', () => {
    assert.throws(() => sb.compile(ddoc({}), 'filter', ['filters', 'nope']), { status: 404, error: 'not_found', reason: 'missing function' });
  });
});

describe('hostile functions fail within their limits, and the sandbox goes on', () => {
  const hostile: Record<string, string> = {
    loop: 'function () { while (true) {} }',
    objects: 'function () { var a = []; while (true) a.push({ x: Math.random(), y: [1, 2, 3] }); }',
    strings: 'function () { var s = "x"; while (true) s = s + s; }',
    recursion: 'function f() { return f() + 1; }',
  };
  for (const [name, src] of Object.entries(hostile)) {
    test(name, () => {
      const d = ddoc({ filters: { bad: src, good: 'function (doc) { return doc.ok === true; }' } });
      const started = Date.now();
      assert.throws(() => sb.compile(d, 'filter', ['filters', 'bad']).filter({}, {}), (err: unknown) => {
        const e = err as { status: number; error: string };
        return e.status === 500 && typeof e.error === 'string';
      });
      // Within the limit, plus scheduling slack for a loaded machine.
      assert.ok(Date.now() - started < LIMIT_MS + 2000, `${name} took ${Date.now() - started} ms`);
      // The same design document still works afterwards (a broken runtime is rebuilt).
      assert.equal(sb.compile(d, 'filter', ['filters', 'good']).filter({ ok: true }, {}), true);
    });
  }

  test('no runtime code evaluation: eval, Function and function constructors throw (view_sandboxing_test)', () => {
    const map = (src: string) => sb.compile(ddoc({ views: { v: { map: src } } }), 'map', ['views', 'v', 'map']).mapMany([{ _id: 'a' }]);
    for (const src of [
      'function (doc) { var glob = emit.constructor("return this")(); emit(doc._id, null); }',
      'function (doc) { emit(eval("1"), null); }',
      'function (doc) { emit(new Function("return 1")(), null); }',
      'function (doc) { emit((function* () {}).constructor("yield 1")().next().value, null); }',
    ]) {
      const [r] = map(src);
      assert.ok(r !== undefined && 'error' in r && r.error.error === 'EvalError', src);
    }
    assert.deepEqual(map('function (doc) { emit(emit instanceof Function, typeof Function); }'), [{ emits: [[true, 'function']] }]);
  });

  test('a map function that exhausts the memory limit fails the call (os_process_error), not just its document', () => {
    // view_errors_test "infinite loop": the emits fill the heap.
    const d = ddoc({ views: { v: { map: 'function (doc) { while (true) { emit(doc, doc); } }' } } });
    assert.throws(() => sb.compile(d, 'map', ['views', 'v', 'map']).mapMany([{ _id: 'a' }]), (err: unknown) => {
      const e = err as { status: number; error: string };
      return e.status === 500 && e.error === 'os_process_error';
    });
    const ok = ddoc({ views: { v: { map: 'function (doc) { emit(doc._id, 1); }' } } });
    assert.deepEqual(sb.compile(ok, 'map', ['views', 'v', 'map']).mapMany([{ _id: 'a' }]), [{ emits: [['a', 1]] }]);
  });

  test('an infinite loop is os_process_error "OS process timed out."', () => {
    const d = ddoc({ filters: { bad: hostile.loop } });
    assert.throws(() => sb.compile(d, 'filter', ['filters', 'bad']).filter({}, {}), (err: unknown) => {
      const e = err as { error: string; reason: string };
      return e.error === 'os_process_error' && e.reason.startsWith('OS process timed out.');
    });
  });
});

describe('compile cache', () => {
  test('per design-document revision: a new revision recompiles, the old handle follows its own revision', () => {
    const one = { _id: '_design/c', _rev: '1-a', filters: { f: 'function () { return true; }' } };
    const two = { _id: '_design/c', _rev: '2-b', filters: { f: 'function () { return false; }' } };
    const before = sb.stats.runtimesCreated;
    const f1 = sb.compile(one, 'filter', ['filters', 'f'], 'dbA');
    assert.equal(sb.compile(one, 'filter', ['filters', 'f'], 'dbA').filter({}, {}), true);
    assert.equal(sb.stats.runtimesCreated, before + 1);
    assert.equal(sb.compile(two, 'filter', ['filters', 'f'], 'dbA').filter({}, {}), false);
    assert.equal(f1.filter({}, {}), true);
    // Another database's design document of the same id and revision is its own.
    sb.compile(one, 'filter', ['filters', 'f'], 'dbB');
    assert.ok(sb.stats.runtimesCreated >= before + 3);
  });
});
