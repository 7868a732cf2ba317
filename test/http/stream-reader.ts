/**
 * Reads a streamed response body incrementally, so a test can wait for "the next line" or "the
 * text to contain X" while the server keeps the response open.
 */
import type { Dispatcher } from 'undici';

export class StreamReader {
  text = '';
  ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(body: Dispatcher.ResponseData['body']) {
    this.iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Read until `done(text)` holds or the body ends; returns the text read so far. */
  async until(done: (text: string) => boolean): Promise<string> {
    while (!done(this.text)) {
      if (this.ended) throw new Error(`stream ended before the condition held; got ${JSON.stringify(this.text)}`);
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else this.text += Buffer.from(next.value).toString('utf8');
    }
    return this.text;
  }

  /** Read to the end of the body. */
  async rest(): Promise<string> {
    while (!this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else this.text += Buffer.from(next.value).toString('utf8');
    }
    return this.text;
  }

  /** Complete lines received so far (without the newline). */
  lines(): string[] {
    const parts = this.text.split('\n');
    parts.pop();
    return parts;
  }
}
