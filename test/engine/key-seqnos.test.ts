import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeySeqnos } from '../../src/engine/key-seqnos.js';

test('key seqnos: one map per vbucket, with the size counted over all of them', () => {
  const keys = new KeySeqnos(4);
  assert.equal(keys.set(0, 'a', 1), true, 'new key');
  assert.equal(keys.set(3, 'b', 2), true);
  assert.equal(keys.set(0, 'a', 5), false, 'a new seqno for a known key');
  assert.equal(keys.size, 2);
  assert.equal(keys.get(0, 'a'), 5);
  assert.equal(keys.get(1, 'a'), undefined, 'a key lives in its own vbucket only');
  assert.deepEqual([...keys.keys()].sort(), ['a', 'b']);
  assert.equal(keys.delete(1, 'b'), false);
  assert.equal(keys.delete(3, 'b'), true);
  assert.equal(keys.size, 1);
});

test('key seqnos: agree with a Map through inserts, updates, deletes and resizes, collection-prefixed and latin1 keys included', () => {
  const keys = new KeySeqnos(3);
  const model = Array.from({ length: 3 }, () => new Map<string, number>());
  let seed = 7;
  const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const keyOf = (i: number): string => {
    const base = `k${i}\u00e9\u00ff`;
    // Every third key is of collection 8 (dir-keys.ts: U+0100, the id in hex, ':').
    return i % 3 === 0 ? `\u01008:${base}` : base;
  };
  for (let step = 0; step < 20_000; step++) {
    const vb = rand(3);
    const k = keyOf(rand(2_000));
    const op = rand(10);
    if (op < 6) assert.equal(keys.set(vb, k, step), !model[vb]!.has(k), `set ${k}`), model[vb]!.set(k, step);
    else if (op < 9) assert.equal(keys.delete(vb, k), model[vb]!.delete(k), `delete ${k}`);
    else assert.equal(keys.get(vb, k), model[vb]!.get(k), `get ${k}`);
  }
  assert.equal(keys.size, model.reduce((n, m) => n + m.size, 0));
  for (let vb = 0; vb < 3; vb++) for (const [k, seqno] of model[vb]!) assert.equal(keys.get(vb, k), seqno);
  assert.deepEqual([...keys.keys()].sort(), model.flatMap((m) => [...m.keys()]).sort());
  // A default-collection key read by its bytes finds what its latin1 string finds (dir-keys.ts).
  for (let vb = 0; vb < 3; vb++) {
    for (let i = 0; i < 2_000; i++) {
      const k = keyOf(i);
      if (k.charCodeAt(0) === 0x100) continue;
      assert.equal(keys.readBytes(vb, Buffer.from(k, 'latin1')), model[vb]!.get(k), `readBytes ${k}`);
    }
  }
  keys.set(0, '\u01008:zz', 1);
  assert.equal(keys.readBytes(0, Buffer.from('8:zz', 'latin1')), undefined, 'bytes never name a collection key');
  assert.equal(keys.get(0, '\u01008:zz'), 1);
  assert.equal(keys.get(0, 'k1'), undefined, 'a prefix of a stored key is another key');
  assert.equal(keys.get(0, '8:k3\u00e9\u00ff'), undefined, 'the collection mark is part of the key');
});

test('key seqnos: a default key and the same characters under a collection mark are two keys', () => {
  const keys = new KeySeqnos(1);
  assert.equal(keys.set(0, 'ab', 1), true);
  assert.equal(keys.set(0, '\u0100ab', 2), true);
  assert.equal(keys.get(0, 'ab'), 1);
  assert.equal(keys.get(0, '\u0100ab'), 2);
  assert.equal(keys.delete(0, 'ab'), true);
  assert.equal(keys.get(0, '\u0100ab'), 2);
  assert.deepEqual([...keys.keys()], ['\u0100ab']);
});

test('key seqnos: a value attached to a key outlives its seqno and leaves no key behind once detached', () => {
  const keys = new KeySeqnos<{ v: number }>(2);
  const a = { v: 1 };
  keys.attach(0, 'x', a);
  assert.equal(keys.get(0, 'x'), undefined, 'attached, no seqno yet');
  assert.equal(keys.size, 0);
  assert.deepEqual([...keys.keys()], [], 'a key with only a value attached is not listed');
  assert.equal(keys.set(0, 'x', 7), true, 'its first seqno counts it');
  assert.equal(keys.attached(0, 'x'), a);
  assert.equal(keys.delete(0, 'x'), true);
  assert.equal(keys.attached(0, 'x'), a, 'the value stays with the key');
  assert.equal(keys.get(0, 'x'), undefined);
  assert.equal(keys.detach(0, 'x'), true);
  assert.equal(keys.attached(0, 'x'), undefined);
  assert.equal(keys.set(0, 'x', 8), true, 'gone entirely, so new again');
  assert.equal(keys.attached(1, 'x'), undefined, 'another vbucket');
});

test('key seqnos: attached values agree with a Map through resizes, with handles reused', () => {
  const keys = new KeySeqnos<number>(1);
  const seqnos = new Map<string, number>();
  const values = new Map<string, number>();
  let seed = 11;
  const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let step = 0; step < 30_000; step++) {
    const k = `k${rand(500)}`;
    switch (rand(5)) {
      case 0: keys.set(0, k, step); seqnos.set(k, step); break;
      case 1: assert.equal(keys.delete(0, k), seqnos.delete(k)); break;
      case 2: assert.equal(keys.attach(0, k, step), values.get(k)); values.set(k, step); break;
      case 3: assert.equal(keys.detach(0, k), values.delete(k)); break;
      default:
        assert.equal(keys.get(0, k), seqnos.get(k));
        assert.equal(keys.attached(0, k), values.get(k));
    }
  }
  assert.equal(keys.size, seqnos.size);
  for (const [k, v] of values) assert.equal(keys.attached(0, k), v);
  for (const [k, s] of seqnos) assert.equal(keys.get(0, k), s);
  assert.deepEqual([...keys.keys()].sort(), [...seqnos.keys()].sort());
});

test('key seqnos: values attached to new keys survive the resizes their slots cause', () => {
  const keys = new KeySeqnos<number>(1);
  for (let i = 0; i < 1_000; i++) {
    keys.attach(0, `n${i}`, i);
    keys.set(0, `n${i}`, i + 1);
  }
  for (let i = 0; i < 1_000; i++) assert.equal(keys.attached(0, `n${i}`), i, `n${i}`);
});

test('key seqnos: detach with an expected value leaves another value attached', () => {
  const keys = new KeySeqnos<{ n: number }>(1);
  const a = { n: 1 };
  const b = { n: 2 };
  assert.equal(keys.attach(0, 'k', a), undefined);
  assert.equal(keys.attach(0, 'k', b), a, 'attach hands back what it replaced');
  assert.equal(keys.detach(0, 'k', a), false, 'a is no longer attached');
  assert.equal(keys.attached(0, 'k'), b);
  assert.equal(keys.detach(0, 'k', b), true);
  assert.equal(keys.attached(0, 'k'), undefined);
  assert.equal(keys.detach(0, 'k'), false);
});

test('key seqnos: a seqno set with a record hint reads back with it, through resizes; a new seqno brings its own', () => {
  const keys = new KeySeqnos(2);
  const n = 5_000; // many resizes of each table
  for (let i = 0; i < n; i++) keys.set(i % 2, `h${i}`, i + 1, i % 3 === 0 ? 0 : 1000 + i);
  for (let i = 0; i < n; i++) {
    assert.equal(keys.read(i % 2, `h${i}`), i + 1);
    assert.equal(keys.hint, i % 3 === 0 ? 0 : 1000 + i, `hint of h${i}`);
    assert.equal(keys.readBytes(i % 2, Buffer.from(`h${i}`)), i + 1);
    assert.equal(keys.hint, i % 3 === 0 ? 0 : 1000 + i, `hint of h${i} by bytes`);
  }
  keys.set(1, 'h1', 77);
  assert.equal(keys.read(1, 'h1'), 77);
  assert.equal(keys.hint, 0, 'a seqno set without a hint has none');
  keys.set(1, 'h1', 78, 2 ** 40 + 3);
  assert.equal(keys.read(1, 'h1'), 78);
  assert.equal(keys.hint, 2 ** 40 + 3, 'hints beyond 32 bits');
  // A key whose version is in flight answers that version, and no hint.
  const withValue = new KeySeqnos<string>(1);
  withValue.set(0, 'x', 5, 99);
  withValue.attach(0, 'x', 'in flight');
  assert.equal(withValue.read(0, 'x'), 'in flight');
  assert.equal(withValue.hint, 0);
});

test('key seqnos: a set after an attach lands on that key, after inserts that resize, a delete, or an attach in another vbucket', () => {
  const keys = new KeySeqnos<string>(2);
  // attach + set of one key, as key-directory.ts `record` does for each write.
  assert.equal(keys.attach(0, 'a', 'va'), undefined);
  assert.equal(keys.set(0, 'a', 1, 11), true, 'the attached key had no seqno');
  assert.equal(keys.read(0, 'a'), 'va');
  assert.equal(keys.detach(0, 'a'), true);
  assert.equal(keys.read(0, 'a'), 1);
  assert.equal(keys.hint, 11);
  // An attach of one key, then inserts that resize the table (its slot moves), then a set of it.
  keys.attach(0, 'b', 'vb');
  for (let i = 0; i < 500; i++) keys.set(0, `x${i}`, 1000 + i);
  assert.equal(keys.set(0, 'b', 2), true);
  assert.equal(keys.get(0, 'b'), 2);
  for (let i = 0; i < 500; i++) assert.equal(keys.get(0, `x${i}`), 1000 + i, `x${i} kept its seqno`);
  // The same key in another vbucket is another key.
  keys.attach(0, 'c', 'vc');
  assert.equal(keys.set(1, 'c', 3), true);
  assert.equal(keys.get(0, 'c'), undefined, 'vbucket 0 has c attached, with no seqno');
  assert.equal(keys.get(1, 'c'), 3);
  // A delete between attach and set: the set still finds the key's slot.
  keys.attach(0, 'a', 'va2');
  assert.equal(keys.delete(0, 'a'), true);
  assert.equal(keys.set(0, 'a', 4), true);
  assert.equal(keys.read(0, 'a'), 'va2');
  assert.equal(keys.detach(0, 'a'), true);
  assert.equal(keys.get(0, 'a'), 4);
  assert.equal(keys.size, 503, "a, b, c (in vbucket 1) and the 500 others");
});
