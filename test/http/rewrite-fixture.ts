/**
 * The design document pieces and documents CouchDB's rewrite tests share (test/elixir/test/
 * rewrite_test.exs, rewrite_js_test.exs): shows, updates, a list and four views over the
 * documents `make_docs(0..9)` and five "complex" ones.
 */
import assert from 'node:assert/strict';
import type { CouchFixture } from './helpers.js';

/** `foo.txt`: "This is a base64 encoded text". */
export const FOO_TXT = { 'foo.txt': { content_type: 'text/plain', data: 'VGhpcyBpcyBhIGJhc2U2NCBlbmNvZGVkIHRleHQ=' } };

export const FUNCTIONS = {
  lists: {
    simpleForm: `function(head, req) {
      send('<ul>');
      var row, row_number = 0, prevKey, firstKey = null;
      while (row = getRow()) {
        row_number += 1;
        if (!firstKey) firstKey = row.key;
        prevKey = row.key;
        send('\\n<li>Key: ' + row.key + ' Value: ' + row.value + ' LineNo: ' + row_number + '</li>');
      }
      return '</ul><p>FirstKey: ' + firstKey + ' LastKey: ' + prevKey + '</p>';
    }`,
  },
  shows: {
    welcome: 'function(doc, req) { return "Welcome " + req.query["name"]; }',
    welcome2: 'function(doc, req) { return "Welcome " + doc.name; }',
    welcome3: 'function(doc, req) { return "Welcome " + req.query["name"]; }',
  },
  updates: {
    hello: `function(doc, req) {
      if (!doc) {
        if (req.id) return [{ _id: req.id }, "New World"];
        return [null, "Empty World"];
      }
      doc.world = "hello";
      doc.edited_by = req.userCtx;
      return [doc, "hello doc"];
    }`,
    welcome2: `function(doc, req) {
      if (!doc) {
        if (req.id) return [{ _id: req.id, name: req.id }, "New World"];
        return [null, "Empty World"];
      }
      return [doc, "hello doc"];
    }`,
  },
  views: {
    basicView: { map: 'function(doc) { if (doc.integer) { emit(doc.integer, doc.string); } }' },
    complexView: { map: 'function(doc) { if (doc.type == "complex") { emit([doc.a, doc.b], doc.string); } }' },
    complexView2: { map: 'function(doc) { if (doc.type == "complex") { emit(doc.a, doc.string); } }' },
    complexView3: { map: 'function(doc) { if (doc.type == "complex") { emit(doc.b, doc.string); } }' },
  },
};

/** CouchDB's make_docs(0..9) and the five complex documents. */
export async function saveDocs(f: CouchFixture, db: string): Promise<void> {
  const docs = [
    ...Array.from({ length: 10 }, (_, i) => ({ _id: String(i), integer: i, string: String(i) })),
    { a: 1, b: 1, string: 'doc 1', type: 'complex' },
    { a: 1, b: 2, string: 'doc 2', type: 'complex' },
    { a: 'test', b: {}, string: 'doc 3', type: 'complex' },
    { a: 'test', b: ['test', 'essai'], string: 'doc 4', type: 'complex' },
    { a: { c: 1 }, b: '', string: 'doc 5', type: 'complex' },
  ];
  const r = await f.req(`/${db}/_bulk_docs`, { method: 'POST', json: { docs } });
  assert.equal(r.status, 201, r.text);
}

/** Set a `_config` key. */
export async function setConfig(f: CouchFixture, section: string, key: string, value: string): Promise<void> {
  const r = await f.req(`/_node/_local/_config/${section}/${key}`, { method: 'PUT', json: value });
  assert.equal(r.status, 200, r.text);
}
