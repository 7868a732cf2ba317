/**
 * Every integration test owns its server: a real Freshet in-process, on ephemeral ports, over a
 * fresh temporary data directory that is removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FreshetServer, type ServerOptions } from '../../src/server/freshet-server.js';

export interface TestServer {
  server: FreshetServer;
  dataDir: string;
  /** Close the server (clean shutdown) and delete its data directory. */
  close(): Promise<void>;
}

export const ADMIN = { username: 'Administrator', password: 'password' } as const;

export function tempDir(prefix = 'freshet-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const server = await FreshetServer.start({
    kvPort: 0,
    mgmtPort: 0,
    httpPort: 0,
    numVBuckets: 64,
    fastHashing: true,
    ...ADMIN,
    ...opts,
    dataDir,
  });
  return {
    server,
    dataDir,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
