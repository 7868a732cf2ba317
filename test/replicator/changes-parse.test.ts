/** Parsing `_changes` bodies and continuous lines, whatever the chunking. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSince, LineSplitter, parseChangesBody, parseContinuousLine } from '../../src/replicator/changes-parse.js';

describe('normal and longpoll bodies', () => {
  test('CouchDB bytes with heartbeat newlines inside, pending and opaque seqs', () => {
    const body = '{"results":[\n\n{"seq":"1-g1A","id":"a","changes":[{"rev":"1-x"},{"rev":"1-y"}]},\r\n{"seq":"2-g1A","id":"b","changes":[{"rev":"2-z"}],"deleted":true}\n],\n"last_seq":"2-g1A","pending":3}\n';
    const page = parseChangesBody(body);
    assert.equal(page.results.length, 2);
    assert.deepEqual(page.results[0]!.changes, [{ rev: '1-x' }, { rev: '1-y' }]);
    assert.equal(page.results[1]!.deleted, true);
    assert.equal(page.lastSeq, '2-g1A');
    assert.equal(page.pending, 3);
  });

  test('without last_seq the last row seq is the resume point; junk is a typed error', () => {
    assert.equal(parseChangesBody('{"results":[{"seq":4,"id":"a","changes":[]}]}').lastSeq, 4);
    assert.throws(() => parseChangesBody('{"results":'), { code: 'REPLICATOR_BAD_RESPONSE' });
    assert.throws(() => parseChangesBody('{"rows":[]}'), { code: 'REPLICATOR_BAD_RESPONSE' });
  });
});

describe('continuous lines', () => {
  const feed = '{"seq":1,"id":"a","changes":[{"rev":"1-a"}]}\n\n{"seq":2,"id":"é","changes":[{"rev":"1-b"}]}\n{"last_seq":2,"pending":0}\n';

  function collect(chunks: Buffer[]): string[] {
    const s = new LineSplitter();
    const lines = chunks.flatMap((c) => s.push(c));
    const rest = s.flush();
    return rest === null ? lines : [...lines, rest];
  }

  test('split at every byte offset gives the same lines', () => {
    const bytes = Buffer.from(feed, 'utf8');
    const whole = collect([bytes]);
    assert.equal(whole.length, 4);
    for (let i = 1; i < bytes.length; i++) {
      assert.deepEqual(collect([bytes.subarray(0, i), bytes.subarray(i)]), whole, `split at ${i}`);
    }
    assert.deepEqual(collect([...bytes].map((b) => Buffer.from([b]))), whole, 'one byte at a time');
  });

  test('a line longer than the limit is a bad response, not an ever-growing buffer', () => {
    const s = new LineSplitter(16);
    assert.deepEqual(s.push(Buffer.from('{"seq":1}\n0123456789')), ['{"seq":1}']);
    assert.throws(() => s.push(Buffer.from('0123456789')), { code: 'REPLICATOR_BAD_RESPONSE' });
    // the buffer was dropped: the splitter goes on with the next lines
    assert.deepEqual(s.push(Buffer.from('\n{"seq":2}\n')), ['', '{"seq":2}']);
    assert.throws(() => new LineSplitter(4).push(Buffer.from('0123456789\n')), { code: 'REPLICATOR_BAD_RESPONSE' });
  });

  test('rows, heartbeats and the final last_seq line', () => {
    const lines = collect([Buffer.from(feed)]).map(parseContinuousLine);
    assert.deepEqual(lines.map((l) => l.kind), ['row', 'heartbeat', 'row', 'end']);
    assert.equal(lines[2]!.kind === 'row' && lines[2].row.id, 'é');
    assert.deepEqual(lines[3], { kind: 'end', lastSeq: 2, pending: 0 });
  });

  test('since: strings raw, everything else JSON', () => {
    assert.equal(encodeSince('5-g1AAA'), '5-g1AAA');
    assert.equal(encodeSince(5), '5');
    assert.equal(encodeSince([5, 'x']), '[5,"x"]');
    assert.equal(encodeSince(undefined), '0');
  });
});
