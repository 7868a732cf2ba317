/**
 * The I/O pieces of a streamed feed: a chunk writer that batches small writes and honours
 * backpressure, and the wait for "a change, a tick, or the client leaving" that every live feed
 * blocks on.
 *
 * A feed never holds more than one page of rows in memory: when the socket is slow, `flush`
 * waits for 'drain' before the next page is read, so the engine is pulled at the client's pace.
 */
import type { ServerResponse } from 'node:http';
import type { Bucket } from '../engine/bucket.js';
import { writeChunk } from './response.js';

/** Bytes collected before a write is forced inside one page. */
const CHUNK_BYTES = 64 * 1024;

export class ChunkWriter {
  private parts: Array<string | Buffer> = [];
  private size = 0;
  /** When something was last written to the socket (for heartbeats). */
  lastWriteAt = Date.now();

  constructor(private readonly res: ServerResponse) {}

  /** Queue text or bytes; resolves at once unless the buffer is full and the socket must drain. */
  push(text: string | Buffer): Promise<void> | undefined {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= CHUNK_BYTES ? this.flush() : undefined;
  }

  flush(): Promise<void> {
    if (this.parts.length === 0) return Promise.resolve();
    const parts = this.parts;
    const chunk = parts.length === 1 ? parts[0]! : parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.parts = [];
    this.size = 0;
    this.lastWriteAt = Date.now();
    return writeChunk(this.res, chunk);
  }
}

export type WakeReason = 'change' | 'tick' | 'closed';

/**
 * Resolve on the bucket's next durable change, after `ms`, or when `signal` aborts, whichever
 * comes first; every registration is removed on the way out, so an abandoned feed leaves no
 * waiter behind in the bucket.
 */
export function waitForChange(bucket: Bucket, ms: number, signal: AbortSignal): Promise<WakeReason> {
  if (signal.aborted) return Promise.resolve('closed');
  return new Promise((resolve) => {
    let settled = false;
    const done = (reason: WakeReason): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cancel();
      signal.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onAbort = (): void => done('closed');
    const timer = setTimeout(() => done('tick'), Math.max(0, ms));
    const cancel = bucket.onBucketSeqChange(() => done('change'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
