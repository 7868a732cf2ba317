/** A real engine over a fresh temporary directory, removed afterwards. */
import { rmSync } from 'node:fs';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { tempDir } from './server.js';

export interface TestEngine {
  engine: Engine;
  bucket: Bucket;
  dataDir: string;
  close(): Promise<void>;
}

export async function openTestEngine(numVBuckets = 64, opts: Partial<EngineOptions> = {}): Promise<TestEngine> {
  const dataDir = tempDir('freshet-engine-');
  const engine = await Engine.open({ dataDir, expiryPagerMs: 0, ...opts });
  const bucket = await engine.createBucket('default', { numVBuckets });
  return {
    engine,
    bucket,
    dataDir,
    close: async () => {
      await engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
