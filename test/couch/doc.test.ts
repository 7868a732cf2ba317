import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CouchError } from '../../src/couch/errors.js';
import {
  buildDocResponse,
  docRev,
  nextLocalRev,
  parseDocument,
  stripSpecialFields,
  validateDbName,
  validateDocId,
} from '../../src/couch/doc.js';

function failure(fn: () => unknown): [number, string, string] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CouchError, String(e));
    return [e.status, e.error, e.reason];
  }
  assert.fail('expected a CouchError');
}

describe('parseDocument', () => {
  test('splits special members from the body', () => {
    const doc = parseDocument({
      _id: 'a',
      _rev: '2-5df0',
      n: 2,
      _deleted: false,
      _conflicts: ['x'],
      _revs_info: [],
      _replication_state: 'triggered',
    });
    assert.deepEqual(doc, {
      id: 'a',
      revisions: { start: 2, ids: ['5df0'] },
      deleted: false,
      body: { n: 2, _replication_state: 'triggered' },
    });
    assert.equal(docRev(doc), '2-5df0');
  });

  test('_revisions wins over _rev, in either order', () => {
    const revisions = { start: 2, ids: ['5df0', '1c7f'] };
    assert.deepEqual(parseDocument({ _rev: '2-5df0', _revisions: revisions }).revisions, revisions);
    assert.deepEqual(parseDocument({ _revisions: revisions, _rev: '9-zz' }).revisions, revisions);
    assert.equal(parseDocument({ a: 1 }).revisions, null);
  });

  test('attachments are parsed', () => {
    const doc = parseDocument({ _attachments: { 'a.txt': { content_type: 'text/plain', data: 'aGVsbG8=' } } });
    assert.equal(doc.attachments?.[0].kind, 'inline');
  });

  test("CouchDB's exact validation errors", () => {
    const cases: Array<[unknown, [number, string, string]]> = [
      [[], [400, 'bad_request', 'Document must be a JSON object']],
      ['x', [400, 'bad_request', 'Document must be a JSON object']],
      [{ _foo: 1 }, [400, 'doc_validation', 'Bad special document member: _foo']],
      [{ _deleted: 'yes' }, [400, 'doc_validation', 'Bad special document member: _deleted']],
      [{ _attachments: [] }, [400, 'doc_validation', 'Bad special document member: _attachments']],
      [{ _revisions: { start: 'x', ids: [] } }, [400, 'doc_validation', "_revisions.start isn't an integer."]],
      [{ _revisions: { start: 1, ids: 'a' } }, [400, 'doc_validation', "_revisions.ids isn't a array."]],
      [{ _revisions: { start: 1, ids: [1] } }, [400, 'doc_validation', "RevId isn't a string"]],
      [{ _revisions: { start: 1, ids: ['z'.repeat(32)] } }, [400, 'doc_validation', "RevId isn't a valid hexadecimal"]],
      [{ _rev: 'bad' }, [400, 'bad_request', 'Invalid rev format']],
      [{ _id: 5 }, [400, 'illegal_docid', 'Document id must be a string']],
      [{ _id: '' }, [400, 'illegal_docid', 'Document id must not be empty']],
      [{ _id: '_design/' }, [400, 'illegal_docid', 'Illegal document id `_design/`']],
      [{ _id: '_local/' }, [400, 'illegal_docid', 'Illegal document id `_local/`']],
      [{ _id: '_foo' }, [400, 'illegal_docid', 'Only reserved document ids may start with underscore.']],
      [{ _id: 'a\ud800' }, [400, 'illegal_docid', 'Document id must be valid UTF-8']],
      [{ _attachments: { _x: { data: '' } } }, [400, 'bad_request', "Attachment name '_x' starts with prohibited character '_'"]],
      [{ _attachments: { x: { data: '!!' } } }, [400, 'bad_request', 'Invalid attachment data for x']],
    ];
    for (const [input, expected] of cases) assert.deepEqual(failure(() => parseDocument(input)), expected, JSON.stringify(input));
  });

  test('reserved ids are accepted', () => {
    for (const id of ['_design/x', '_local/y', 'a_b', 'é/ü']) validateDocId(id);
    assert.deepEqual(stripSpecialFields({ _id: '_design/x', views: {} }), { views: {} });
  });
});

describe('_local revisions', () => {
  test('0-N counting and 0-0 on delete', () => {
    assert.equal(nextLocalRev(undefined, false), '0-1');
    assert.equal(nextLocalRev('0-1', false), '0-2');
    assert.equal(nextLocalRev('0-41', false), '0-42');
    assert.equal(nextLocalRev('0-41', true), '0-0');
    assert.deepEqual(failure(() => nextLocalRev('1-abc', false)), [400, 'bad_request', 'Invalid rev format']);
  });
});

describe('validateDbName', () => {
  test('accepts CouchDB names and system databases', () => {
    for (const name of ['a', 'tracedb', 'a1_$()+-/b', '_users', '_replicator', 'team/_replicator']) validateDbName(name);
  });
  test('rejects others with the exact message', () => {
    for (const name of ['', 'A', '1a', 'a b', '_foo', 'a.b']) {
      assert.deepEqual(failure(() => validateDbName(name)), [
        400,
        'illegal_database_name',
        `Name: '${name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.`,
      ]);
    }
  });
});

describe('buildDocResponse', () => {
  test('member order and optional members', () => {
    const json = buildDocResponse({
      id: 'c',
      rev: '1-e125',
      body: { side: 'remote' },
      revisions: { start: 1, ids: ['e125'] },
      conflicts: ['1-c3b1'],
      deletedConflicts: [],
      attachments: { 'r.txt': { content_type: 'text/plain', revpos: 1, digest: 'md5-x', length: 3, stub: true } },
    });
    assert.deepEqual(Object.keys(json), ['_id', '_rev', 'side', '_revisions', '_conflicts', '_attachments']);
    assert.deepEqual(json._conflicts, ['1-c3b1']);
  });

  test('a tombstone', () => {
    assert.deepEqual(buildDocResponse({ id: 'x', rev: '2-a', body: {}, deleted: true }), {
      _id: 'x',
      _rev: '2-a',
      _deleted: true,
    });
  });
});
