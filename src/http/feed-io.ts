/**
 * The I/O of a streamed feed: a chunk writer that batches small writes and honours backpressure
 * (the wait for the next change is the engine's, engine/change-wait.ts).
 *
 * A feed never holds more than one page of rows in memory: when the socket is slow, `flush`
 * waits for 'drain' before the next page is read, so the engine is pulled at the client's pace.
 */
import type { ServerResponse } from 'node:http';
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
