/**
 * Streaming configs: `/pools/default/bs/NAME`, `/pools/default/bucketsStreaming/NAME` and
 * `/poolsStreaming/default`.
 *
 * Wire format, as ns_server's `menelaus_util:handle_streaming`: a 200 chunked reply with
 * `Content-Type: application/json; charset=utf-8`; the current document, then after every change
 * the new one, each followed by "\n\n\n\n" (clients split the stream on it). A document identical
 * to the last one sent is not sent again (`Res =:= LastRes` -> `no_data`), and notifications that
 * arrive together are coalesced (ns_server sleeps 50 ms; here: one render per event-loop turn).
 * When the streamed bucket is deleted the reply ends, as ns_server's fetch function exits.
 *
 * HEAD (routed to the GET handler) gets the status and headers at once and no body: ns_server
 * serves HEAD through `get_action` and mochiweb sends a HEAD reply's headers and drops its chunks,
 * so the client has its answer without waiting on a stream it never reads.
 *
 * Backpressure: only the newest state matters, so nothing is queued. While the socket's buffer is
 * full the stream is marked dirty, and on 'drain' the current document is rendered and sent.
 */
import type { ServerResponse } from 'node:http';
import { streamingHeaders } from './rest-io.js';
import type { Topology } from '../topology/topology.js';

export const STREAM_SEPARATOR = '\n\n\n\n';

/** Renders the current document, or undefined when its subject is gone (the stream then ends). */
export type StreamRender = () => string | undefined;

interface Stream {
  readonly res: ServerResponse;
  readonly render: StreamRender;
  last: string | undefined;
  blocked: boolean;
  dirty: boolean;
}

export class StreamHub {
  readonly #streams = new Set<Stream>();
  readonly #topology: Topology;
  #scheduled: NodeJS.Immediate | undefined;
  readonly #onChange = (): void => this.#schedule();
  #closed = false;

  constructor(topology: Topology) {
    this.#topology = topology;
    topology.on('change', this.#onChange);
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Start a streaming reply and send the first document. */
  open(res: ServerResponse, render: StreamRender): void {
    const first = render();
    if (first === undefined || this.#closed) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Requested resource not found.\r\n');
      return;
    }
    if (res.req.method === 'HEAD') {
      res.writeHead(200, streamingHeaders()).end();
      return;
    }
    const stream: Stream = { res, render, last: undefined, blocked: false, dirty: false };
    this.#streams.add(stream);
    res.on('close', () => this.#streams.delete(stream));
    res.on('drain', () => {
      stream.blocked = false;
      if (stream.dirty) this.#push(stream);
    });
    res.writeHead(200, streamingHeaders());
    this.#send(stream, first);
  }

  #schedule(): void {
    if (this.#scheduled !== undefined || this.#closed) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      for (const stream of this.#streams) this.#push(stream);
    });
  }

  #push(stream: Stream): void {
    if (stream.res.writableEnded || stream.res.destroyed) return;
    if (stream.blocked) {
      stream.dirty = true;
      return;
    }
    stream.dirty = false;
    let doc: string | undefined;
    try {
      doc = stream.render();
    } catch {
      doc = undefined;
    }
    if (doc === undefined) {
      this.#streams.delete(stream);
      stream.res.end();
      return;
    }
    if (doc !== stream.last) this.#send(stream, doc);
  }

  #send(stream: Stream, doc: string): void {
    stream.last = doc;
    stream.res.write(doc);
    if (!stream.res.write(STREAM_SEPARATOR)) stream.blocked = true;
  }

  /**
   * End every open stream (server shutdown) and stop listening for changes. Resolves once each
   * reply's last chunk has been handed to its socket, so clients see a clean end of the reply
   * before the connections are closed.
   */
  closeAll(): Promise<void> {
    this.#closed = true;
    this.#topology.off('change', this.#onChange);
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const ended = [...this.#streams].map(
      ({ res }) =>
        new Promise<void>((done) => {
          if (res.writableFinished || res.destroyed) return done();
          // A client that stopped reading would never let the reply finish: it is cut instead.
          if (res.writableNeedDrain) {
            res.destroy();
            return done();
          }
          res.once('finish', done);
          res.once('close', done);
          res.end();
        }),
    );
    this.#streams.clear();
    return Promise.all(ended).then(() => undefined);
  }
}
