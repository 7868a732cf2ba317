/**
 * kill -9 cycles against a real `freshet serve` process (issue #16, "Tests"): while a writer pushes
 * plain KV SETs (acknowledged from memory), SETs with durability persistToMajority and CouchDB-face
 * PUTs, and a raw DCP consumer streams every vbucket, the process is killed at a random moment and
 * restarted on the same data directory. Each restart must keep Couchbase's contract
 * (dcp.md §3.3, §3.5; kv_engine warmup after an unclean shutdown):
 * - no durable KV write and no HTTP write that was acknowledged is lost;
 * - a plain write is lost only if its seqno is above what the vbucket persisted (the restarted
 *   high seqno); at or below it, it is there with its seqno and value;
 * - every vbucket has a new failover entry at its restarted high seqno, on top of the old log;
 * - the consumer, resuming with its (uuid, seqno, snapshot), is told to roll back exactly as
 *   FailoverTable::needsRollback says: to the new entry's seqno when it saw items above it at a
 *   snapshot boundary. After rolling back and streaming again it holds exactly the server's state.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { mulberry32 } from '../helpers/prng.js';
import { CrashableServer } from '../consumer/fixtures/server-process.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';
import { DcpMirror, assertSameState, serverState } from './fixtures/dcp-mirror.js';
import { MixedWriter, type AckedWrite } from './fixtures/mixed-writer.js';

const VBS = 16;
const CYCLES = 5;

async function highSeqnos(cons: DcpTestConsumer): Promise<number[]> {
  const res = await cons.conn.request(c.encodeAllVbSeqnosRequest({}));
  assert.equal(res.status, c.Status.Success);
  const highs = new Array<number>(VBS).fill(0);
  for (const e of c.decodeAllVbSeqnosResponse(res)) highs[e.vbucket] = e.seqno;
  return highs;
}

/**
 * The rollback seqno a resume request must get, or undefined for none (dcp.md §3.5, kv_engine
 * FailoverTable::needsRollback): the client's uuid is the entry below the new one, whose history
 * is good up to `upper`; a client at its snapshot's start is treated as at a boundary.
 */
function expectedRollback(req: c.StreamRequest, upper: number): number | undefined {
  const snapEnd = req.startSeqno === req.snapStartSeqno ? req.startSeqno : req.snapEndSeqno;
  if (snapEnd <= upper) return undefined;
  const snapStart = req.startSeqno === snapEnd ? req.startSeqno : req.snapStartSeqno;
  return Math.min(upper, snapStart);
}

/** The writes of a killed run, against the restarted server's state. Returns how many plain writes were lost. */
function checkWrites(acked: readonly AckedWrite[], truth: DcpMirror, highs: readonly number[]): number {
  let lost = 0;
  for (const w of acked) {
    const got = truth.keys.get(w.key);
    if (w.kind === 'http') {
      assert.ok(got && !got.deleted, `acknowledged HTTP write ${w.key} survives`);
      assert.deepEqual(JSON.parse(got.value), JSON.parse(w.value));
      continue;
    }
    const seqno = w.seqno!;
    if (seqno <= highs[w.vb]!) {
      assert.ok(got, `${w.kind} write ${w.key} (seqno ${seqno} <= persisted ${highs[w.vb]} in vb ${w.vb}) survives`);
      assert.deepEqual({ seqno: got.seqno, value: got.value, deleted: got.deleted }, { seqno, value: w.value, deleted: false });
    } else {
      assert.equal(w.kind, 'plain', `durable write ${w.key} (seqno ${seqno}) is above the persisted seqno ${highs[w.vb]} of vb ${w.vb}`);
      assert.equal(got, undefined, `${w.key} above the persisted seqno is gone`);
      lost++;
    }
  }
  return lost;
}

const MAX_CYCLES = CYCLES * 3;

describe('server > kill -9 cycles under writes and a DCP stream', () => {
  test(`${CYCLES} cycles: durable and HTTP writes survive, plain ones only above the persisted seqno are lost, consumers roll back exactly`, async (t) => {
    const seed = Date.now() % 1_000_000;
    const rand = mulberry32(seed);
    t.diagnostic(`seed ${seed}`);
    const server = await CrashableServer.start(t, 'freshet-crash-cycles-', VBS);

    const mirror = new DcpMirror(VBS);
    let killed: MixedWriter | undefined;
    const totals = { plain: 0, durable: 0, http: 0, lost: 0, rollbacks: 0, exactAfterLoss: 0 };
    for (let cycle = 0; ; cycle++) {
      const cons = await DcpTestConsumer.open(server.current, { name: 'crash-mirror' });
      mirror.attach(cons);
      const highs = await highSeqnos(cons);
      const streaming = new Set<number>();
      let truth: DcpMirror | undefined;

      if (killed) {
        // Failover entries: one new entry per vbucket at its restarted high seqno, above the log
        // the consumer was given before the kill.
        for (let vb = 0; vb < VBS; vb++) {
          const log = await cons.failoverLog(vb);
          const before = mirror.vbs[vb]!.failoverLog;
          assert.equal(log[0]!.seqno, highs[vb], `vb ${vb}: the new entry is at the high seqno`);
          assert.ok(!before.some((e) => e.vbUuid === log[0]!.vbUuid), `vb ${vb}: the new entry has a new uuid`);
          assert.deepEqual(log.slice(1), before, `vb ${vb}: the old log is kept under it`);
        }
        truth = await serverState(() => DcpTestConsumer.open(server.current), highs);
        totals.lost += checkWrites(killed.acked, truth, highs);

        // The consumer resumes where it was, rolls back where told, and catches up.
        for (let vb = 0; vb < VBS; vb++) {
          const req = mirror.resumeRequest(vb);
          const want = expectedRollback(req, highs[vb]!);
          const { result } = await cons.streamRequest(req);
          if (want === undefined) {
            assert.equal(result.kind, 'ok', `vb ${vb}: resume from ${req.startSeqno} (persisted ${highs[vb]}) needs no rollback`);
            if (result.kind === 'ok') mirror.accepted(vb, result.failoverLog);
            streaming.add(vb);
          } else {
            assert.deepEqual(result, { kind: 'rollback', rollbackSeqno: want }, `vb ${vb}: consumer at ${req.startSeqno} snapshot [${req.snapStartSeqno}, ${req.snapEndSeqno}], persisted ${highs[vb]}`);
            totals.rollbacks++;
            if (req.startSeqno > highs[vb]! && want === highs[vb]) totals.exactAfterLoss++;
            mirror.rollback(vb, want);
          }
        }
      }
      // Every vbucket streams on, open-ended, live through the next run: the ones not resumed yet
      // (first run, or rolled back) request again from where they are now.
      for (let vb = 0; vb < VBS; vb++) {
        if (streaming.has(vb)) continue;
        const { result } = await cons.streamRequest(mirror.resumeRequest(vb), 0x20000 + vb);
        assert.equal(result.kind, 'ok', `vb ${vb}: stream from ${mirror.vbs[vb]!.seqno}`);
        if (result.kind === 'ok') mirror.accepted(vb, result.failoverLog);
      }
      if (truth) {
        await cons.waitFor('the consumer caught up', () => {
          mirror.fold();
          return mirror.vbs.every((p, vb) => p.seqno === highs[vb]);
        });
        assertSameState(mirror.keys, truth.keys, `after restart ${cycle}`);
      }
      // At least CYCLES runs, and more (up to MAX_CYCLES) until a consumer had seen items the kill
      // lost: whether the flusher is behind at the kill depends on the machine's load.
      if (cycle >= MAX_CYCLES || (cycle >= CYCLES && totals.exactAfterLoss > 0)) {
        await cons.close();
        break;
      }

      // A run of writes, killed at a random moment.
      const writer = await MixedWriter.open(server.kvPort, server.current.httpPort, VBS, `c${cycle}`);
      writer.start({ plain: 24, durable: 6, http: 3 });
      // Killed at a random moment once every kind of write has been acknowledged at least once (a
      // fixed window alone left a loaded CI machine with no durable write acknowledged yet).
      const acked = (): boolean => (['plain', 'durable', 'http'] as const).every((kind) => writer.count(kind) > 0);
      for (let waited = 0; !acked() && waited < 30_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100 + rand() * 900));
      await server.kill();
      await writer.ended();
      await writer.close();
      await cons.closed;
      mirror.fold();
      assert.deepEqual(writer.refused, [], 'the live server refused nothing');
      for (const kind of ['plain', 'durable', 'http'] as const) {
        assert.ok(writer.count(kind) > 0, `run ${cycle}: some ${kind} writes were acknowledged`);
        totals[kind] += writer.count(kind);
      }
      killed = writer;
      await server.restart();
    }
    t.diagnostic(JSON.stringify(totals));
    // Acknowledged plain writes are rarely lost to a kill -9 (LMDB keeps transactions committed but
    // not yet synced; only writes still queued in the flusher go), so `lost` is reported, and each
    // one that happened was checked above to lie above the persisted seqno.
    assert.ok(totals.exactAfterLoss > 0, 'a consumer that saw lost items rolled back to exactly the persisted seqno');
  });
});
