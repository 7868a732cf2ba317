/**
 * Per-test server fixture for the raw-frame KV tests: each test gets its own in-process Freshet
 * (test/helpers/server.ts), and every connection it opened is closed with the server.
 */
import type { Bucket } from '../../src/engine/bucket.js';
import type { Engine } from '../../src/engine/engine.js';
import type { ServerOptions } from '../../src/server/freshet-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { RawKv, openBucket, type OpenOptions } from './raw-client.js';

/** node:test options for raw-frame tests: a protocol bug shows up as a hang, so bound it. */
export const RAW_TEST = { timeout: 30_000 } as const;

export interface KvFixture {
  readonly server: TestServer;
  readonly port: number;
  readonly engine: Engine;
  /** The `default` bucket. */
  readonly bucket: Bucket;
  /** The vbucket of a key in `default`. */
  vb(key: string | Buffer): number;
  /** A bare connection (no HELLO, no auth). */
  connect(): Promise<RawKv>;
  /** HELLO + PLAIN + SELECT_BUCKET (see openBucket). */
  open(opts?: OpenOptions): Promise<RawKv>;
}

export async function withServer<T>(fn: (f: KvFixture) => Promise<T>, opts: Partial<ServerOptions> = {}): Promise<T> {
  const server = await startTestServer(opts);
  const conns: RawKv[] = [];
  const track = (kv: RawKv): RawKv => {
    conns.push(kv);
    return kv;
  };
  const bucket = server.server.engine.requireBucket('default');
  const port = server.server.ports.kv;
  try {
    return await fn({
      server,
      port,
      engine: server.server.engine,
      bucket,
      vb: (key) => bucket.vbucketOf(key),
      connect: async () => track(await RawKv.connect(port)),
      open: async (o) => track(await openBucket(port, o)),
    });
  } finally {
    for (const kv of conns) kv.close();
    await server.close();
  }
}
