/**
 * Replication ids (CouchDB v4, checked against CouchDB's own test vector), checkpoint log
 * comparison (compare_replication_logs/2) and the through-seq bookkeeping of parallel batches.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { baseIdOf, endpointTerm, ejsort, replicationIds, str } from '../../src/replicator/replication-id.js';
import { compareReplicationLogs, Checkpointer, MAX_HISTORY } from '../../src/replicator/checkpoint.js';
import { SeqTracker } from '../../src/replicator/seq-tracker.js';
import { HttpPeer } from '../../src/replicator/http-peer.js';
import type { EndpointIdentity } from '../../src/replicator/peer.js';

const ep = (url: string, headers?: Record<string, string>): EndpointIdentity => new HttpPeer(url, headers ? { headers } : {}).endpoint;

describe('replication id (CouchDB v4)', () => {
  test('matches the id CouchDB 3.x computes (couch_replicator_ids.erl id_matches_couchdb3)', () => {
    // The eunit test mocks the server uuid as the Erlang string "somefixedid".
    const base = [str('somefixedid'), endpointTerm(ep('http://adm:pass@127.0.0.1/abc')), endpointTerm(ep('http://adm:pass@127.0.0.1/xyz'))];
    assert.equal(baseIdOf(base), 'ff71e1208f93ba054eb60e7ca8683fe4');
  });

  test('endpoints follow get_v4_endpoint: user kept, password and default ports dropped', () => {
    assert.deepEqual(ep('http://user:pass@host:5984/db'), { user: 'user', host: 'host', port: 'default', path: '/db/', headers: [] });
    assert.deepEqual(ep('https://host:443/a/b/'), { user: undefined, host: 'host', port: 'default', path: '/a/b/', headers: [] });
    assert.equal(ep('http://host:15984/db').port, 15984);
    assert.deepEqual(ep('http://host/db', { h: 'v', Authorization: 'Basic x' }).headers, [['h', 'v']]);
    const a = replicationIds({ nodeUuid: 'n', source: ep('http://u:one@h/db'), target: ep('http://h/t') });
    const b = replicationIds({ nodeUuid: 'n', source: ep('http://u:two@h/db'), target: ep('http://h/t') });
    assert.equal(a.baseId, b.baseId, 'a new password keeps the checkpoints');
  });

  test('node, filters and since_seq change the id; continuous/create_target only the job id', () => {
    const src = ep('http://h/s');
    const tgt = ep('http://h/t');
    const plain = replicationIds({ nodeUuid: 'n1', source: src, target: tgt });
    assert.match(plain.baseId, /^[0-9a-f]{32}$/);
    assert.equal(plain.checkpointId, `_local/${plain.baseId}`);
    const ids = new Set([
      plain.baseId,
      replicationIds({ nodeUuid: 'n2', source: src, target: tgt }).baseId,
      replicationIds({ nodeUuid: 'n1', source: src, target: tgt, docIds: ['a'] }).baseId,
      replicationIds({ nodeUuid: 'n1', source: src, target: tgt, selector: { x: 1 } }).baseId,
      replicationIds({ nodeUuid: 'n1', source: src, target: tgt, sinceSeq: 5 }).baseId,
      replicationIds({ nodeUuid: 'n1', source: tgt, target: src }).baseId,
    ]);
    assert.equal(ids.size, 6);
    const cont = replicationIds({ nodeUuid: 'n1', source: src, target: tgt, continuous: true, createTarget: true });
    assert.equal(cont.baseId, plain.baseId);
    assert.equal(cont.repId, `${plain.baseId}+continuous+create_target`);
  });

  test('selectors are normalised and key-sorted first (ejsort), so equal forms share an id', () => {
    assert.deepEqual(JSON.stringify(ejsort({ b: 1, a: [{ d: 1, c: 2 }] })), '{"a":[{"c":2,"d":1}],"b":1}');
    const src = ep('http://h/s');
    const tgt = ep('http://h/t');
    const one = replicationIds({ nodeUuid: 'n', source: src, target: tgt, selector: { a: 1 } });
    const two = replicationIds({ nodeUuid: 'n', source: src, target: tgt, selector: { a: { $eq: 1 } } });
    const other = replicationIds({ nodeUuid: 'n', source: src, target: tgt, selector: { a: 2 } });
    assert.equal(one.baseId, two.baseId);
    assert.notEqual(one.baseId, other.baseId);
  });
});

describe('checkpoint logs', () => {
  const entry = (session_id: string, recorded_seq: number) => ({ session_id, recorded_seq });

  test('no log on either side: start from 0', () => {
    assert.deepEqual(compareReplicationLogs(null, { session_id: 'a', source_last_seq: 5 }), { startSeq: 0, history: [], common: false });
  });

  test('same session on both sides: the source_last_seq', () => {
    const log = { session_id: 's2', source_last_seq: 42, history: [entry('s2', 42), entry('s1', 10)] };
    const r = compareReplicationLogs(log, { ...log });
    assert.equal(r.startSeq, 42);
    assert.equal(r.common, true);
  });

  test('different sessions: the newest session both histories share', () => {
    // The source's last write went through, the target's did not (a crash between the two PUTs).
    const src = { session_id: 's3', source_last_seq: 30, history: [entry('s3', 30), entry('s2', 20), entry('s1', 10)] };
    const tgt = { session_id: 's2', source_last_seq: 20, history: [entry('s2', 20), entry('s1', 10)] };
    assert.equal(compareReplicationLogs(src, tgt).startSeq, 20);
    assert.equal(compareReplicationLogs(tgt, src).startSeq, 20);
    const unrelated = { session_id: 'x', source_last_seq: 99, history: [entry('x', 99)] };
    assert.deepEqual(compareReplicationLogs(src, unrelated), { startSeq: 0, history: [], common: false });
  });

  test('a session keeps one history entry, newest first, capped at 50', () => {
    const history = Array.from({ length: 60 }, (_, i) => entry(`old${i}`, i));
    const cp = new Checkpointer({} as never, {} as never, { checkpointId: '_local/x', startSeq: 7, history });
    const counters = { missing_checked: 1, missing_found: 1, docs_read: 1, docs_written: 1, doc_write_failures: 0 };
    const body = cp.body(12, counters);
    const h = body.history as Array<Record<string, unknown>>;
    assert.equal(h.length, MAX_HISTORY);
    assert.equal(body.session_id, cp.sessionId);
    assert.equal(body.source_last_seq, 12);
    assert.equal(body.replication_id_version, 4);
    assert.deepEqual([h[0]!.session_id, h[0]!.start_last_seq, h[0]!.recorded_seq, h[0]!.docs_written], [cp.sessionId, 7, 12, 1]);
    assert.match(String(h[0]!.end_time), /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    assert.equal(cp.body(15, counters).history instanceof Array, true);
    assert.equal((cp.body(15, counters).history as unknown[]).length, MAX_HISTORY, 'rewriting keeps one entry per session');
  });
});

describe('through seq of parallel batches', () => {
  test('advances only over the finished prefix', () => {
    const t = new SeqTracker(0);
    const a = t.add(10);
    const b = t.add(20);
    const c = t.add(30);
    t.done(b);
    assert.equal(t.throughSeq, 0, 'batch 10 still running');
    t.done(a);
    assert.equal(t.throughSeq, 20);
    assert.equal(t.inFlight, 1);
    t.done(c);
    assert.equal(t.throughSeq, 30);
  });
});
