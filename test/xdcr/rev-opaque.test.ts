/**
 * XDCR's revision strings and checkpoint opaques (src/xdcr/rev.ts, vbopaque.ts), against the
 * reference behaviour: goxdcr's getSerializedRevision layout and ns_server's
 * menelaus_web_xdcr_target.erl `validate_commit_test` (its failover log given newest first here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatXdcrRev, parseXdcrRev } from '../../src/xdcr/rev.js';
import { commitOpaqueValid, opaqueUuid } from '../../src/xdcr/vbopaque.js';

test('an XDCR revision is revSeqno-hex(CAS u64 | expiry u32 | flags u32) and parses back', () => {
  const meta = { revSeqno: 12, cas: 0x1122334455667788n, expiry: 0x5f5e100, flags: 0xdeadbeef };
  const rev = formatXdcrRev(meta);
  assert.equal(rev, '12-112233445566778805f5e100deadbeef');
  assert.deepEqual(parseXdcrRev(rev), meta);
  for (const bad of ['1-abc', '12-112233445566778805f5e100deadbee', 'x-112233445566778805f5e100deadbeef', 12, null, '99999999999999999999-112233445566778805f5e100deadbeef']) {
    assert.equal(parseXdcrRev(bad), undefined, String(bad));
  }
});

test('commitopaque validity follows ns_server validate_commit', () => {
  // ns_server's test: [{13685158163256569856, 0}, {4598340681889701145, 48}] oldest first; uuids scaled into 48 bits here.
  const log = [{ uuid: 4598340681889, seqno: 48 }, { uuid: 136851581632, seqno: 0 }];
  assert.equal(commitOpaqueValid(log, [136851581631, 27]), false); // unknown uuid
  assert.equal(commitOpaqueValid(log, [136851581632, 27]), true); // the old uuid, below the branch point
  assert.equal(commitOpaqueValid(log, [136851581632, 49]), false); // the old uuid, past its end
  assert.equal(commitOpaqueValid(log, [4598340681889, 1000]), true); // the current uuid, any seqno
  assert.equal(commitOpaqueValid([{ uuid: 5, seqno: 10 }], [5, 9]), false); // below the oldest entry
  assert.equal(commitOpaqueValid(log, '4598340681889'), true); // the older single-uuid form
  assert.equal(commitOpaqueValid(log, 136851581632), false);
  assert.equal(commitOpaqueValid(log, { uuid: 1 }), undefined);
});

test('vbopaque forms: number, decimal string, [uuidString, startupTime]', () => {
  assert.equal(opaqueUuid(42), 42);
  assert.equal(opaqueUuid('42'), 42);
  assert.equal(opaqueUuid(['42', '1700000000']), 42);
  assert.equal(opaqueUuid(-1), undefined);
  assert.equal(opaqueUuid('0x2a'), undefined);
  assert.equal(opaqueUuid([42, 1]), undefined);
});
