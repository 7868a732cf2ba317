/**
 * The sub-document domain without a server: the path grammar and the operations, with the
 * examples of kv_engine docs/SubDocument.md (the "Tickle Me Elmo" document and its path table).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parsePath } from '../../src/subdoc/path.js';
import * as ops from '../../src/subdoc/ops.js';
import { parseJson, stringify, type JVal } from '../../src/codec/json-tree.js';
import { SubdocError } from '../../src/subdoc/errors.js';
import { casFromMacroValue, casMacroValue } from '../../src/subdoc/xattrs.js';
import { crc32c } from '../../src/codec/crc32c.js';
import { systemXattrsOnly } from '../../src/codec/xattr.js';

const DOC = `{"type":"product","pType":"toy","pName":"Tickle Me Elmo","pDetails":{"audience":"children"},
 "pDistributors":[{"dName":"Going Out of Business Wholesale","dAdded":["Feb",36,2025]},{"dName":"Everything Must Go!","dAdded":["May",72,1492]}],
 "dot.ted.field":null,"back\`tick\`field":null,"field.with.\\"quotes\\"":null}`;

const get = (doc: JVal, path: string): string => stringify(ops.lookup(doc, parsePath(path)));

function status(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SubdocError) return err.statusName;
    throw err;
  }
  return 'Success';
}

describe('subdoc paths and operations', () => {
  test('the documented path table', () => {
    const doc = parseJson(DOC);
    assert.equal(get(doc, 'type'), '"product"');
    assert.equal(get(doc, 'pDistributors[0].dName'), '"Going Out of Business Wholesale"');
    assert.equal(get(doc, 'pDistributors[1].dAdded[2]'), '1492');
    assert.equal(get(doc, 'pDistributors[-1].dAdded[-1]'), '1492');
    assert.equal(get(doc, '`dot.ted.field`'), 'null');
    assert.equal(get(doc, '`back``tick``field`'), 'null');
    // The docs' `field.with.\"quotes\"`: JSON metacharacters are escaped as in the JSON text.
    assert.equal(get(doc, '`field.with.\\"quotes\\"`'), 'null');
    assert.equal(status(() => get(doc, 'pDistributors.count')), 'SubdocPathMismatch');
    assert.equal(status(() => get(doc, 'pType.category')), 'SubdocPathMismatch');
    assert.equal(status(() => get(doc, 'pDetails.nothing')), 'SubdocPathEnoent');
    assert.equal(ops.count(doc, parsePath('pDistributors')), 2);
    assert.equal(status(() => ops.count(doc, parsePath('type'))), 'SubdocPathMismatch');
  });

  test('path grammar errors and limits', () => {
    for (const bad of ['a..b', '.a', 'a[', 'a[x]', 'a[-2]', 'a[-01]', 'a]', '`open', 'a[0]b', '``', 'a"b', '`a"b`', 'a\\', 'a\\x', 'a\\u0041', 'a\nb']) {
      assert.equal(status(() => parsePath(bad)), 'SubdocPathEinval', bad);
    }
    // subjson's quirks (path.cc): one dot may end a component, an empty index is [0], lone
    // backticks inside a name are dropped, and an escape names its character.
    // A key keeps its spelling (escapes in) for subjson to write it into the document.
    const key = (k: string, text = k) => ({ kind: 'key', key: k, text });
    assert.deepEqual(parsePath('a.'), [key('a')]);
    assert.deepEqual(parsePath('a.[0].'), [key('a'), { kind: 'index', index: 0 }]);
    assert.deepEqual(parsePath('a[]'), [key('a'), { kind: 'index', index: 0 }]);
    assert.deepEqual(parsePath('a`.`b.`x``y`'), [key('a.b'), key('x`y')]);
    assert.deepEqual(parsePath('q\\"t\\n\\\\'), [key('q"t\n\\', 'q\\"t\\n\\\\')]);
    assert.deepEqual(parsePath(''), []);
    assert.deepEqual(parsePath('[0][1]'), [{ kind: 'index', index: 0 }, { kind: 'index', index: 1 }]);
    // subjson counts the root among its 32 components: 31 in a path (t_ops.cc testTooDeepDict).
    assert.equal(parsePath(Array.from({ length: 31 }, () => 'a').join('.')).length, 31);
    assert.equal(status(() => parsePath(Array.from({ length: 32 }, () => 'a').join('.'))), 'SubdocPathE2big');
    assert.equal(status(() => parsePath('[0]'.repeat(32))), 'SubdocPathE2big');
  });

  test('mutations with their errors', () => {
    const doc = parseJson('{"a":{"b":1},"arr":[1,"x",true],"objs":[{}],"n":9223372036854775806}');
    ops.dictSet(doc, parsePath('a.c'), parseJson('2'), false, true);
    assert.equal(status(() => ops.dictSet(doc, parsePath('a.c'), parseJson('3'), false, true)), 'SubdocPathEexists');
    assert.equal(status(() => ops.dictSet(doc, parsePath('x.y.z'), parseJson('3'), false, false)), 'SubdocPathEnoent');
    ops.dictSet(doc, parsePath('x.y.z'), parseJson('3'), true, false);
    assert.equal(status(() => ops.dictSet(doc, parsePath('arr[0]'), parseJson('3'), false, false)), 'SubdocPathEinval');
    assert.equal(status(() => ops.arrayAddUnique(doc, parsePath('arr'), [parseJson('"x"')], false)), 'SubdocPathEexists');
    ops.arrayAddUnique(doc, parsePath('arr'), [parseJson('1.0')], false); // text comparison: 1.0 is not 1
    assert.equal(status(() => ops.arrayAddUnique(doc, parsePath('objs'), [parseJson('1')], false)), 'SubdocPathMismatch');
    assert.equal(status(() => ops.arrayAddUnique(doc, parsePath('arr'), [parseJson('[]')], false)), 'SubdocValueCantinsert');
    assert.equal(ops.counter(doc, parsePath('n'), 1n, false), 9223372036854775807n);
    assert.equal(status(() => ops.counter(doc, parsePath('n'), 1n, false)), 'SubdocValueCantinsert');
    assert.equal(status(() => ops.parseDelta('0')), 'SubdocDeltaEinval');
    assert.equal(status(() => ops.parseDelta('9223372036854775808')), 'SubdocDeltaEinval');
    assert.equal(ops.parseDelta('-9223372036854775808'), -(1n << 63n));
    ops.arrayInsert(doc, parsePath('arr[4]'), [parseJson('"end"')]);
    assert.equal(status(() => ops.arrayInsert(doc, parsePath('arr[9]'), [parseJson('0')])), 'SubdocPathEnoent');
    assert.equal(status(() => ops.arrayInsert(doc, parsePath('arr[-1]'), [parseJson('0')])), 'SubdocPathEinval');
    ops.remove(doc, parsePath('arr[-1]'));
    ops.replace(doc, parsePath('a.b'), parseJson('{"deep":[]}'));
    assert.equal(status(() => ops.replace(doc, parsePath('a.zz'), parseJson('1'))), 'SubdocPathEnoent');
    assert.equal(
      stringify(doc),
      '{"a":{"b":{"deep":[]},"c":2},"arr":[1,"x",true,1.0],"objs":[{}],"n":9223372036854775807,"x":{"y":{"z":3}}}',
    );
    const deep = `${'['.repeat(33)}${']'.repeat(33)}`;
    assert.throws(() => parseJson(deep));
  });

  test('macro values, crc32c, and the system-xattr filter', () => {
    const cas = 0x1234567890abcdefn;
    assert.equal(casMacroValue(cas), '0xefcdab9078563412');
    assert.equal(casFromMacroValue(casMacroValue(cas)), cas);
    // RFC 3720 B.4 test vector: 32 bytes of zeros.
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(systemXattrsOnly(Buffer.from('{"_sync":{"n":12345678901234567890},"user":1}'))!.toString(), '{"_sync":{"n":12345678901234567890}}');
    const only = Buffer.from('{"_a":1}');
    assert.equal(systemXattrsOnly(only), only);
    assert.equal(systemXattrsOnly(Buffer.from('{"u":1}')), null);
  });
});
