/**
 * The metadata JSON shared with cbdatasource (dcp.md §4.9) and the resume / rollback rules built
 * on it (dcp.md §3.5 consumer side).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_METADATA,
  decodeMetaData,
  encodeMetaData,
  isConsistent,
  parseFailOverLog,
  resumePosition,
  rollbackMetaData,
  rollbackUuid,
} from '../../src/consumer/metadata.js';

describe('consumer > metadata JSON', () => {
  test('encodes byte for byte what cbdatasource writes (dcp.md §4.11 transcript)', () => {
    const json = encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 0, snapEnd: 0, failOverLog: [[0xbeefcafe0001, 0]] });
    assert.equal(json.toString(), '{"seqStart":0,"seqEnd":0,"snapStart":0,"snapEnd":0,"failOverLog":[[209937112104961,0]]}');
    const after = encodeMetaData({ seqStart: 0, seqEnd: 0, snapStart: 1, snapEnd: 4, failOverLog: [[209937112104961, 0]] });
    assert.equal(after.toString(), '{"seqStart":0,"seqEnd":0,"snapStart":1,"snapEnd":4,"failOverLog":[[209937112104961,0]]}');
  });

  test('decodes cbdatasource JSON, Go zero values for missing fields, and round-trips', () => {
    const m = decodeMetaData(Buffer.from('{"seqStart":0,"seqEnd":0,"snapStart":1,"snapEnd":4,"failOverLog":[[237332718148988,0]]}'));
    assert.deepEqual(m, { seqStart: 0, seqEnd: 0, snapStart: 1, snapEnd: 4, failOverLog: [[237332718148988, 0]] });
    assert.deepEqual(decodeMetaData('{"snapEnd":7}'), { seqStart: 0, seqEnd: 0, snapStart: 0, snapEnd: 7, failOverLog: [] });
    assert.deepEqual(decodeMetaData(encodeMetaData(m!)), m);
    assert.equal(decodeMetaData(null), undefined);
    assert.equal(decodeMetaData(Buffer.alloc(0)), undefined);
  });

  test('parseFailOverLog: [uuid, seqno] pairs, newest first (cbdatasource ParseFailOverLog)', () => {
    const body = Buffer.from('0000beefcafe0001000000000000000a00000000000000070000000000000000', 'hex');
    assert.deepEqual(parseFailOverLog(body), [[0xbeefcafe0001, 10], [7, 0]]);
    assert.throws(() => parseFailOverLog(Buffer.alloc(15)));
  });

  test('rejects what is not cbdatasource metadata', () => {
    assert.throws(() => decodeMetaData('[1,2]'), SyntaxError);
    assert.throws(() => decodeMetaData('{"snapStart":-1}'), SyntaxError);
    assert.throws(() => decodeMetaData('{"failOverLog":[[1]]}'), SyntaxError);
    assert.throws(() => decodeMetaData('{"snapStart":1.5}'), SyntaxError);
    assert.throws(() => decodeMetaData('not json'), SyntaxError);
  });
});

describe('consumer > resume and rollback positions', () => {
  const meta = { seqStart: 0, seqEnd: 0, snapStart: 10, snapEnd: 20, failOverLog: [[3, 15], [2, 5], [1, 0]] as const };

  test('resume: start = lastSeq, uuid = newest entry, snapshot from the metadata (dcp.md §4.4 step 7)', () => {
    assert.deepEqual(resumePosition(meta, 12), { startSeqno: 12, vbUuid: 3, snapStartSeqno: 10, snapEndSeqno: 20 });
    assert.deepEqual(resumePosition(undefined, 0), { startSeqno: 0, vbUuid: 0, snapStartSeqno: 0, snapEndSeqno: 0 });
    // from 'now': seqStart is the floor while no item arrived
    assert.equal(resumePosition({ ...EMPTY_METADATA, seqStart: 50, snapStart: 50, snapEnd: 50 }, 0).startSeqno, 50);
  });

  test('consistency is the producer check snapStart <= start <= snapEnd', () => {
    assert.equal(isConsistent(resumePosition(meta, 12)), true);
    assert.equal(isConsistent(resumePosition(meta, 9)), false);
    assert.equal(isConsistent(resumePosition(meta, 21)), false);
  });

  test('rollback drops newer failover entries, collapses the snapshot, keeps the uuid of the kept history', () => {
    assert.deepEqual(rollbackMetaData(meta, 8), { seqStart: 0, seqEnd: 0, snapStart: 8, snapEnd: 8, failOverLog: [[2, 5], [1, 0]] });
    assert.deepEqual(rollbackMetaData(meta, 0).failOverLog, [[1, 0]]);
    assert.equal(rollbackUuid(meta, 8), 2);
    assert.equal(rollbackUuid(meta, 15), 3);
    assert.equal(rollbackUuid(undefined, 3), 0);
    assert.equal(rollbackMetaData({ ...meta, seqStart: 30 }, 8).seqStart, 8);
  });
});
