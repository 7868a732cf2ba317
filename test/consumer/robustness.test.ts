/**
 * The data source against a misbehaving scripted producer: closing while connecting, stream-end
 * reasons, frames it must survive.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/codec/index.js';
import { BucketDataSource, type BucketDataSourceOptions } from '../../src/consumer/index.js';
import { ScriptedNode } from './fixtures/scripted-node.js';
import { MemoryReceiver } from './fixtures/memory-receiver.js';

const creds = { username: 'alice', password: 'secret' };

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function source(t: TestContext, node: ScriptedNode, options: BucketDataSourceOptions = {}, vbuckets = [0]) {
  const receiver = new MemoryReceiver();
  const ds = new BucketDataSource({ seeds: [node.seed], credentials: creds, receiver, vbuckets, options: { noopTimeIntervalSecs: 0, ...options } });
  t.after(async () => {
    await ds.close();
    await node.close();
  });
  return { receiver, ds };
}

describe('consumer > misbehaving producer', () => {
  test('close() while a node accepted the DCP connection and never answers returns at once', async (t) => {
    const node = await ScriptedNode.start(4);
    node.muteConnection = (i) => i >= 1; // the map connection answers, the data connection does not
    const { ds } = await source(t, node, { connectTimeoutMS: 20_000, requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => node.accepted >= 2, 'data connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });

  test('close() while DCP_OPEN is unanswered returns at once and leaves no socket open', async (t) => {
    const node = await ScriptedNode.start(4);
    node.ignore.add(c.Opcode.DcpOpen);
    const { ds } = await source(t, node, { requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => ds.stats().totWorkerConnectOk === 1, 'authenticated data connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    assert.equal(ds.stats().totHandShakeErr, 0, 'a close is not a handshake error');
  });

  test('close() while the map connection never answers returns at once', async (t) => {
    const node = await ScriptedNode.start(4);
    node.muteConnection = () => true;
    const { ds } = await source(t, node, { connectTimeoutMS: 20_000, requestTimeoutMS: 20_000 });
    ds.start();
    await until(() => node.accepted >= 1, 'map connection');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ds.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });
});
