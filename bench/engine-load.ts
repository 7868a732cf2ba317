/**
 * An in-process write load for the engine benchmarks (engine.ts, dcp.ts): `count` writes with at
 * most `window` in flight, as many pipelining clients would keep, and at most `perTurn` issued in
 * one event-loop turn, as a server reads a socket chunk of requests per turn. Without that bound a
 * write acknowledged from memory resolves at once and the next is issued in the same microtask
 * flood, so the flusher's completions never ran and the backlog filled to TMPFAIL.
 * A write refused with TMPFAIL waits, with every other refused write, until the backlog is below
 * `resumeBelow` bytes, and is sent again, as a client retries a temporary failure.
 */
import type { Bucket } from '../src/engine/bucket.js';

export interface LoadRun {
  readonly ms: number;
  readonly tmpfails: number;
}

export async function windowedWrites(bucket: Bucket, count: number, window: number, write: (i: number) => Promise<unknown>, resumeBelow = 32 * 1024 * 1024, perTurn = 1024): Promise<LoadRun> {
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
    let thisTurn = 0;
    let nextTurn: NodeJS.Immediate | null = null;
    const issue = (): void => {
      while (issued < count && issued - done < window) {
        if (thisTurn === perTurn) {
          nextTurn ??= setImmediate(() => {
            nextTurn = null;
            thisTurn = 0;
            issue();
          });
          return;
        }
        thisTurn++;
        send(issued++);
      }
    };
    issue();
  });
  return { ms: performance.now() - t0, tmpfails };
}
