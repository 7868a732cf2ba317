/**
 * A time-boxed fuzz of the live KV server: random frames, some well-formed with random fields and
 * some garbage, on throw-away connections. The server must never crash, never answer Einternal
 * (that means a handler met a case it did not expect), must answer or close every connection whose
 * frames were complete, and a witness connection must keep working throughout.
 *
 * FRESHET_FUZZ_MS sets the time box (default 3000); FRESHET_FUZZ_SEED replays a run (the seed is
 * printed in the test name).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Feature, OPCODE_TABLE, Opcode, Status, encodeGetRequest, encodeNoopRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { expectStatus, type RawKv } from './raw-client.js';
import { withServer, type KvFixture } from './fixture.js';
import { mulberry32 } from '../helpers/prng.js';

const BUDGET_MS = Number(process.env.FRESHET_FUZZ_MS ?? 3000);
const SEED = Number(process.env.FRESHET_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const NOOP_OPAQUE = 0xfeedf00d;

const rng = mulberry32;

class Gen {
  constructor(readonly next: () => number) {}
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const KNOWN = OPCODE_TABLE.map((o) => o.code).filter((c) => c !== Opcode.Quit && c !== Opcode.QuitQ);

/** A structurally complete request: declared lengths match the bytes that follow. */
function wellFormed(g: Gen, f: KvFixture): Buffer {
  const alt = g.int(4) === 0;
  const opcode = g.int(5) === 0 ? g.int(256) : g.pick(KNOWN);
  const framing = alt ? g.bytes(g.pick([0, 1, 2, 4, 5])) : Buffer.alloc(0);
  const extras = g.bytes(g.pick([0, 0, 1, 4, 8, 16, 20, 24]));
  const key = g.int(3) === 0 ? Buffer.from(`k${g.int(20)}`) : g.bytes(g.int(alt ? 40 : 300));
  const value = g.bytes(g.pick([0, 0, 2, 8, g.int(300)]));
  const body = framing.length + extras.length + key.length + value.length;
  const h = Buffer.alloc(24);
  h[0] = alt ? 0x08 : 0x80;
  h[1] = opcode;
  if (alt) {
    h[2] = framing.length;
    h[3] = key.length;
  } else {
    h.writeUInt16BE(key.length, 2);
  }
  h[4] = extras.length;
  h[5] = g.pick([0, 0, 1, 2, 3, 4, 7, g.int(256)]);
  h.writeUInt16BE(g.int(2) === 0 ? f.vb(key) : g.pick([0, 1, 63, 64, 1023, 0xffff, g.int(0x10000)]), 6);
  h.writeUInt32BE(body, 8);
  h.writeUInt32BE(g.int(0xfffffff0), 12);
  h.writeBigUInt64BE(g.int(3) === 0 ? 0n : BigInt(g.int(0x7fffffff)) << BigInt(g.int(33)), 16);
  return Buffer.concat([h, framing, extras, key, value]);
}

/** Anything at all: random bytes, or a header with inconsistent lengths. */
function garbage(g: Gen): Buffer {
  if (g.int(2) === 0) return g.bytes(1 + g.int(100));
  const h = g.bytes(24);
  h[0] = g.pick([0x80, 0x08, 0x81, 0x18, 0x82, 0x83, g.int(256)]);
  return Buffer.concat([h, g.bytes(g.int(64))]);
}

/** Write `bytes` in random slices, as TCP might deliver them. */
function sendChunked(g: Gen, kv: RawKv, bytes: Buffer): void {
  for (let pos = 0; pos < bytes.length; ) {
    const n = 1 + g.int(Math.min(512, bytes.length - pos));
    kv.sendBytes(bytes.subarray(pos, pos + n));
    pos += n;
  }
}

/** Responses until our NOOP's reply, or the close; returns the statuses seen. */
async function drainUntilNoop(kv: RawKv): Promise<number[]> {
  const statuses: number[] = [];
  for (;;) {
    let p;
    try {
      p = await kv.next(10_000);
    } catch (err) {
      if (kv.isClosed) return statuses;
      throw err;
    }
    statuses.push(p.status);
    if (p.opcode === Opcode.Noop && p.opaque === NOOP_OPAQUE) return statuses;
  }
}

test(`fuzzing the KV server with random frames for ${BUDGET_MS} ms (seed ${SEED})`, { timeout: BUDGET_MS + 60_000 }, () =>
  withServer(async (f) => {
    const g = new Gen(rng(SEED));
    const witness = await f.open();
    const deadline = Date.now() + BUDGET_MS;
    let rounds = 0;
    let frames = 0;
    const internalErrors: string[] = [];
    while (Date.now() < deadline) {
      rounds++;
      const authenticated = g.int(3) !== 0;
      const kv = authenticated
        ? await f.open({ features: g.int(2) === 0 ? [Feature.Collections, Feature.Xerror, Feature.MutationSeqno] : [] })
        : await f.connect();
      const complete = g.int(4) !== 0;
      const batch: Buffer[] = [];
      const count = 1 + g.int(30);
      for (let i = 0; i < count; i++) batch.push(complete ? wellFormed(g, f) : garbage(g));
      frames += count;
      const bytes = Buffer.concat(batch);
      sendChunked(g, kv, bytes);
      if (complete) {
        kv.send({ ...encodeNoopRequest(), opaque: NOOP_OPAQUE });
        // Every frame was complete, so the server must answer through the NOOP or hang up.
        const statuses = await drainUntilNoop(kv);
        if (statuses.includes(Status.Einternal)) internalErrors.push(bytes.toString('hex'));
      }
      kv.close();

      const key = `witness-${rounds}`;
      expectStatus(await witness.request(encodeStoreRequest({ key, value: String(rounds), vbucket: f.vb(key) })), Status.Success);
      const got = expectStatus(await witness.request(encodeGetRequest({ key, vbucket: f.vb(key) })), Status.Success);
      assert.equal(got.value.toString(), String(rounds));
    }
    assert.ok(rounds > 10, `only ${rounds} rounds ran`);
    assert.deepEqual(internalErrors, [], `Einternal answered ${internalErrors.length} times in ${frames} frames (seed ${SEED})`);
    // New connections are still served.
    const last = await f.open();
    expectStatus(await last.request(encodeNoopRequest()), Status.Success);
  }),
);
