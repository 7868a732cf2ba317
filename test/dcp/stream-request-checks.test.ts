/**
 * The stream-request decision (src/dcp/stream-request.ts) against hand-built vbuckets: every
 * check of dcp.md §3.5 in its order, and the rollback decisions of `needsRollback`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Status } from '../../src/codec/status.js';
import { DcpOpenFlag } from '../../src/codec/dcp/open.js';
import { DcpStreamFlag, SEQNO_INFINITY, type DecodedStreamRequest } from '../../src/codec/dcp/stream-req.js';
import { Manifest } from '../../src/engine/manifest.js';
import { VBucket } from '../../src/engine/vbucket.js';
import type { VBucketState } from '../../src/engine/types.js';
import { initialSettings, type ProducerSettings } from '../../src/dcp/settings.js';
import { decideStreamRequest, type StreamRequestDecision } from '../../src/dcp/stream-request.js';

const UUID_NEW = 0xbbbb;
const UUID_OLD = 0xaaaa;

/** A vbucket whose history branched at 100: old uuid covered 0..100, the new one 100..high. */
function vbucket(opts: { high?: number; persisted?: number; purge?: number; state?: VBucketState; collectionHigh?: Record<number, number> } = {}): VBucket {
  const vb = new VBucket(3, {
    state: opts.state ?? 'active',
    failoverLog: [
      { uuid: UUID_NEW, seqno: 100 },
      { uuid: UUID_OLD, seqno: 0 },
    ],
    purgeSeqno: opts.purge ?? 0,
  });
  vb.highSeqno = opts.high ?? 150;
  vb.persistedSeqno = opts.persisted ?? vb.highSeqno;
  // By default the default collection holds the vbucket's last change.
  for (const [cid, seqno] of Object.entries(opts.collectionHigh ?? { 0: vb.highSeqno })) vb.collectionHigh.set(Number(cid), seqno);
  return vb;
}

function request(r: Partial<DecodedStreamRequest> = {}): DecodedStreamRequest {
  return {
    vbucket: 3,
    opaque: 77,
    flags: 0,
    startSeqno: 0,
    endSeqno: SEQNO_INFINITY,
    vbUuid: 0,
    snapStartSeqno: 0,
    snapEndSeqno: 0,
    value: Buffer.alloc(0),
    ...r,
  };
}

function decide(r: Partial<DecodedStreamRequest>, vb = vbucket(), s: Partial<ProducerSettings> = {}, active = false, manifest = Manifest.initial()): StreamRequestDecision {
  const settings = { ...initialSettings('t', DcpOpenFlag.Producer, false), ...s };
  return decideStreamRequest(request(r), vb, { settings, hasActiveStream: () => active, manifest });
}

function status(d: StreamRequestDecision): number | string {
  return d.kind === 'refuse' ? d.status : d.kind === 'rollback' ? `rollback ${d.seqno}` : 'accept';
}

describe('dcp > stream request > check order (dcp.md §3.5)', () => {
  test('a vbucket that is not active is NotMyVbucket, before anything else', () => {
    for (const state of ['replica', 'pending', 'dead'] as const) {
      assert.equal(status(decide({ startSeqno: 9, endSeqno: 1 }, vbucket({ state }))), Status.NotMyVbucket);
    }
  });

  test('noop is mandatory for xattrs and collections (NotSupported), checked before the seqnos', () => {
    const bad = { startSeqno: 9, endSeqno: 1 };
    assert.equal(status(decide(bad, vbucket(), { includeXattrs: true })), Status.NotSupported);
    assert.equal(status(decide(bad, vbucket(), { collections: true })), Status.NotSupported);
    assert.equal(status(decide(bad, vbucket(), { collections: true, noopEnabled: true })), Status.Erange);
  });

  test('Erange: start above end, and start outside its snapshot', () => {
    assert.equal(status(decide({ startSeqno: 10, endSeqno: 5, snapStartSeqno: 10, snapEndSeqno: 10 })), Status.Erange);
    assert.equal(status(decide({ startSeqno: 10, snapStartSeqno: 11, snapEndSeqno: 20 })), Status.Erange);
    assert.equal(status(decide({ startSeqno: 21, snapStartSeqno: 11, snapEndSeqno: 20 })), Status.Erange);
  });

  test('Erange comes before KeyEexists, which comes before the rollback check', () => {
    assert.equal(status(decide({ startSeqno: 10, endSeqno: 5 }, vbucket(), {}, true)), Status.Erange);
    assert.equal(status(decide({ startSeqno: 10, snapStartSeqno: 10, snapEndSeqno: 10, vbUuid: 0x1234 }, vbucket(), {}, true)), Status.KeyEexists);
    assert.equal(status(decide({ startSeqno: 10, snapStartSeqno: 10, snapEndSeqno: 10, vbUuid: 0x1234 })), 'rollback 0');
  });

  test('a stream-request value needs HELLO Collections; a sid needs enable_stream_id', () => {
    assert.equal(status(decide({ value: Buffer.from('{}') })), Status.Einval);
    const coll = { collections: true, noopEnabled: true };
    assert.equal(status(decide({ value: Buffer.from('{"sid":2}') }, vbucket(), coll)), Status.DcpStreamIdInvalid);
    assert.equal(status(decide({}, vbucket(), { ...coll, streamIds: true })), Status.DcpStreamIdInvalid);
    assert.equal(status(decide({ value: Buffer.from('{"collections":["8"]}') }, vbucket(), coll)), Status.UnknownCollection);
    assert.equal(status(decide({ value: Buffer.from('{"scope":"9"}') }, vbucket(), coll)), Status.UnknownScope);
    assert.equal(status(decide({ value: Buffer.from('{"collections":["0"],"uid":"0"}') }, vbucket(), coll)), 'accept');
    const d = decide({ value: Buffer.from('{"sid":7}') }, vbucket(), { ...coll, streamIds: true });
    assert.ok(d.kind === 'accept' && d.stream.streamId === 7);
  });

  test('ToLatest and DiskOnly fix the end, then start above it is Erange', () => {
    const at = { startSeqno: 140, snapStartSeqno: 140, snapEndSeqno: 140, vbUuid: UUID_NEW };
    const latest = decide({ ...at, flags: DcpStreamFlag.ToLatest });
    assert.ok(latest.kind === 'accept' && latest.stream.end === 150);
    const disk = decide({ ...at, flags: DcpStreamFlag.DiskOnly }, vbucket({ high: 150, persisted: 145 }));
    assert.ok(disk.kind === 'accept' && disk.stream.end === 145);
    assert.equal(status(decide({ ...at, flags: DcpStreamFlag.DiskOnly }, vbucket({ high: 150, persisted: 120 }))), Status.Erange);
  });

  test('FromLatest: start = snapshot = high seqno, uuid 0 becomes the latest uuid', () => {
    const d = decide({ flags: DcpStreamFlag.FromLatest, startSeqno: 3, snapStartSeqno: 0, snapEndSeqno: 9 });
    assert.ok(d.kind === 'accept');
    assert.deepEqual([d.stream.start, d.stream.snapStart, d.stream.snapEnd, d.stream.vbUuid], [150, 150, 150, UUID_NEW]);
    // FromLatest with an old uuid follows the rollback rules from the high seqno.
    assert.equal(status(decide({ flags: DcpStreamFlag.FromLatest, vbUuid: UUID_OLD })), 'rollback 100');
  });

  test('an accepted stream carries the failover log, the opaque and a trimmed snapshot', () => {
    const d = decide({ startSeqno: 150, snapStartSeqno: 150, snapEndSeqno: 170, vbUuid: UUID_NEW });
    assert.ok(d.kind === 'accept');
    assert.equal(d.stream.opaque, 77);
    assert.equal(d.stream.snapEnd, 150, 'snap end above the high seqno is trimmed to snap start');
    assert.deepEqual(d.stream.failoverLog, [
      { vbUuid: UUID_NEW, seqno: 100 },
      { vbUuid: UUID_OLD, seqno: 0 },
    ]);
  });
});

describe('dcp > stream request > rollback decisions (FailoverTable::needsRollback)', () => {
  const cases: Array<[string, Partial<DecodedStreamRequest>, number | string, { purge?: number }?]> = [
    ['start 0 and uuid 0: never', { vbUuid: 0 }, 'accept'],
    ['start 0 with an unknown uuid: no rollback without StrictVbUuid', { vbUuid: 0x9999 }, 'accept'],
    ['start 0, unknown uuid, StrictVbUuid: rollback to 0', { vbUuid: 0x9999, flags: DcpStreamFlag.StrictVbUuid }, 'rollback 0'],
    ['uuid not in the failover log: rollback to 0', { startSeqno: 50, snapStartSeqno: 50, snapEndSeqno: 50, vbUuid: 0x9999 }, 'rollback 0'],
    ['latest uuid, within history: accept', { startSeqno: 150, snapStartSeqno: 140, snapEndSeqno: 150, vbUuid: UUID_NEW }, 'accept'],
    ['old uuid, snapshot ends before the branch point: accept', { startSeqno: 90, snapStartSeqno: 80, snapEndSeqno: 100, vbUuid: UUID_OLD }, 'accept'],
    ['old uuid, past the branch point: rollback to the branch point', { startSeqno: 120, snapStartSeqno: 120, snapEndSeqno: 130, vbUuid: UUID_OLD }, 'rollback 100'],
    ['old uuid, mid-snapshot past the branch: rollback to the snapshot start', { startSeqno: 98, snapStartSeqno: 95, snapEndSeqno: 110, vbUuid: UUID_OLD }, 'rollback 95'],
    ['start == snap start: the snapshot counts as not received', { startSeqno: 100, snapStartSeqno: 100, snapEndSeqno: 130, vbUuid: UUID_OLD }, 'accept'],
    ['start == snap end: the whole snapshot was received', { startSeqno: 104, snapStartSeqno: 90, snapEndSeqno: 104, vbUuid: UUID_OLD }, 'rollback 100'],
    ['below the purge seqno: rollback to 0', { startSeqno: 40, snapStartSeqno: 40, snapEndSeqno: 40, vbUuid: UUID_NEW }, 'rollback 0', { purge: 60 }],
    [
      'below the purge seqno with IgnorePurgedTombstones: accept',
      { startSeqno: 40, snapStartSeqno: 40, snapEndSeqno: 40, vbUuid: UUID_NEW, flags: DcpStreamFlag.IgnorePurgedTombstones },
      'accept',
      { purge: 60 },
    ],
  ];
  for (const [name, req, want, vb] of cases) {
    test(name, () => assert.equal(status(decide(req, vbucket({ purge: vb?.purge ?? 0 }))), want));
  }

  test('a filtered stream that has every change of its collections is not rolled back for the purge seqno', () => {
    // kv DcpProducer::getHighSeqnoOfCollections: legacy streams filter on _default; unfiltered
    // collection-aware streams have no collection high seqno and keep the purge check.
    const req = { startSeqno: 40, snapStartSeqno: 40, snapEndSeqno: 40, vbUuid: UUID_NEW };
    const quiet = vbucket({ purge: 60, collectionHigh: { 0: 30, 8: 140 } });
    assert.equal(status(decide(req, quiet)), 'accept', 'legacy: _default last changed at 30');
    assert.equal(status(decide(req, vbucket({ purge: 60, collectionHigh: { 0: 45 } }))), 'rollback 0', 'legacy: _default changed after 40');
    const manifest = Manifest.initial().createScope('s').manifest.createCollection('s', 'c').manifest;
    const coll = { collections: true, noopEnabled: true };
    assert.equal(status(decide({ ...req, value: Buffer.from('{"collections":["0"]}') }, quiet, coll, false, manifest)), 'accept');
    assert.equal(status(decide({ ...req, value: Buffer.from('{"collections":["8"]}') }, quiet, coll, false, manifest)), 'rollback 0');
    assert.equal(status(decide(req, quiet, coll, false, manifest)), 'rollback 0', 'unfiltered: purge check kept');
  });

  test('a client that already knows the purge seqno (purge_seqno) is not rolled back', () => {
    const settings = { collections: true, noopEnabled: true };
    const req = { startSeqno: 40, snapStartSeqno: 40, snapEndSeqno: 40, vbUuid: UUID_NEW };
    assert.equal(status(decide({ ...req, value: Buffer.from('{"purge_seqno":"60"}') }, vbucket({ purge: 60 }), settings)), 'accept');
    assert.equal(status(decide({ ...req, value: Buffer.from('{"purge_seqno":"59"}') }, vbucket({ purge: 60 }), settings)), 'rollback 0');
  });
});
