/**
 * List functions run at most MAX_RUNNING_LISTS at once (list-runner.ts): each running list holds a
 * WebAssembly module of its own, so more wait for a slot, in order, and fail with
 * `os_process_error` when none frees within the sandbox's deadline, as couch_proc_manager makes a
 * request wait for an OS process past its limit and gives up after its timeout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DesignSandbox, type DesignDoc } from '../../src/design/sandbox.js';
import { MAX_RUNNING_LISTS, type ListMessage } from '../../src/design/list-runner.js';

const LIMIT_MS = 1500;
let sb: DesignSandbox;
before(async () => {
  sb = await DesignSandbox.create({ timeoutMs: LIMIT_MS, memoryBytes: 16 * 1024 * 1024 });
});
after(() => sb.dispose());

const ddoc: DesignDoc = { _id: '_design/l', _rev: '1-x', lists: { each: 'function (head, req) { var row; while ((row = getRow())) { send(row.key); } return "."; }' } };

/** A host that answers the first `getRow()` only when `release` is called: the list holds its slot until then. */
function heldHost(): { host: { exchange: (msg: ListMessage) => Promise<string[] | null> }; release: () => void; started: Promise<void> } {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const startedP = new Promise<void>((resolve) => (started = resolve));
  let first = true;
  return {
    host: {
      exchange: async () => {
        if (!first) return null;
        first = false;
        started();
        await gate;
        return [JSON.stringify({ key: 'k' })];
      },
    },
    release,
    started: startedP,
  };
}

describe('list runtimes', () => {
  test(`at most ${MAX_RUNNING_LISTS} lists run at once; the next waits for a slot, in order, and fails past the deadline`, async () => {
    const list = sb.compile(ddoc, 'list', ['lists', 'each'], 'db');
    const held = Array.from({ length: MAX_RUNNING_LISTS }, heldHost);
    const running = held.map((h) => list.list({}, {}, h.host));
    await Promise.all(held.map((h) => h.started));

    // A list past the cap waits, and gets the first slot that frees.
    const next = heldHost();
    const waiting = list.list({}, {}, next.host);
    const first = await Promise.race([next.started.then(() => 'started'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 200))]);
    assert.equal(first, 'waiting');
    held[0]!.release();
    assert.deepEqual(await running[0], ['end', ['.']]);
    await next.started;
    next.release();
    assert.deepEqual(await waiting, ['end', ['.']]);

    // With every slot held past the deadline, the next list fails with os_process_error.
    const extra = heldHost();
    const filler = list.list({}, {}, extra.host); // takes the slot `waiting` freed
    await extra.started;
    const late = heldHost();
    const refused = list.list({}, {}, late.host);
    await assert.rejects(refused, (err: unknown) => (err as { error?: string }).error === 'os_process_error');
    for (const h of [...held.slice(1), extra]) h.release();
    await Promise.all([...running.slice(1), filler]);
  });
});
