/**
 * An in-process write load for the engine benchmarks (engine.ts, dcp.ts): `count` writes with at
 * most `window` in flight, as many pipelining clients would keep. A write refused with TMPFAIL
 * (the flusher's backlog is full: an in-process load never yields to the flusher on its own)
 * waits, with every other refused write, until the backlog is below `resumeBelow` bytes, and is
 * sent again, as a client retries a temporary failure.
 */
import type { Bucket } from '../src/engine/bucket.js';

export interface LoadRun {
  readonly ms: number;
  readonly tmpfails: number;
}

export async function windowedWrites(bucket: Bucket, count: number, window: number, write: (i: number) => Promise<unknown>, resumeBelow = 32 * 1024 * 1024): Promise<LoadRun> {
  const t0 = performance.now();
  let tmpfails = 0;
  let waiting: Promise<void> | null = null;
  const drained = (): Promise<void> => (waiting ??= new Promise<void>((resolve) => {
    const poll = (): void => {
      if (bucket.dirtyBytes > resumeBelow) return void setTimeout(poll, 5);
      waiting = null;
      resolve();
    };
    poll();
  }));
  await new Promise<void>((resolve, reject) => {
    if (count === 0) return resolve();
    let issued = 0;
    let done = 0;
    // Shared callbacks, and one closure per write (its rejection handler, which needs the index):
    // the load generator's own cost is not the engine's.
    const onDone = (): void => {
      if (++done === count) resolve();
      else issue();
    };
    const onError = (err: unknown, i: number): void => {
      if ((err as { code?: string }).code !== 'ENGINE_ETMPFAIL') return reject(err);
      tmpfails++;
      void drained().then(() => send(i));
    };
    const send = (i: number): void => {
      write(i).then(onDone, (err: unknown) => onError(err, i));
    };
    const issue = (): void => {
      while (issued < count && issued - done < window) send(issued++);
    };
    issue();
  });
  return { ms: performance.now() - t0, tmpfails };
}
