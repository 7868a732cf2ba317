/**
 * The HTTP server both HTTP faces run on (node:http): listening on a host and port (0 picks
 * one), the open connections (so that closing ends keep-alive and streaming ones at once instead
 * of waiting for clients), and the one path every failed request takes to its face's error
 * renderer. What a request means — routing, authentication, replies — is the face's.
 *
 * With `tls` the same face is served over HTTPS (Couchbase's 18091, CouchDB's 6984): the server
 * starts one WebServer per port. A failed handshake (plain HTTP on the TLS port, an untrusted
 * client) ends only that connection and counts in `tlsHandshakeFailures`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import type { Socket } from 'node:net';
import type { Logger } from '../common/logger.js';

export interface WebFace {
  /** Answer one request; a throw (or rejection) goes to `renderError`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Count, log and answer a failed request in the face's own error format. When the reply had
   * already started (`res.headersSent`) it must not write: the server then drops the connection,
   * the only way left to tell the client the reply is incomplete.
   */
  renderError(err: unknown, req: IncomingMessage, res: ServerResponse): void;
  /**
   * A malformed request line or headers (node's 'clientError'); node's default reply (400, 408
   * or 431 with `Connection: close`) when absent.
   */
  clientError?(err: Error, socket: Socket): void;
}

export interface WebServerOptions {
  readonly host: string;
  readonly port: number;
  /** For failures of the error renderer itself. */
  readonly logger: Logger;
  /** node:http timeouts; unset ones keep node's defaults. */
  readonly keepAliveTimeout?: number;
  readonly requestTimeout?: number;
  readonly headersTimeout?: number;
  /**
   * How long a new connection may stay silent before its first request (default 300 s, mochiweb's
   * REQUEST_RECV_TIMEOUT, which CouchDB's and ns_server's HTTP servers wait for a request line).
   * node:http's headersTimeout only starts with the first byte, so without this a client that
   * connects and sends nothing holds the socket forever.
   */
  readonly firstRequestTimeout?: number;
  /** How often node:http checks the request and headers timeouts (node's default: 30 s). */
  readonly connectionsCheckingInterval?: number;
  /** Sees the node:http server before it listens (the access log watches its requests). */
  readonly observe?: (server: Server | HttpsServer) => void;
  /** Serve HTTPS with this certificate and key instead of plain HTTP. */
  readonly tls?: TlsOptions;
}

/** mochiweb_http's REQUEST_RECV_TIMEOUT: how long CouchDB and ns_server wait for a request line. */
export const FIRST_REQUEST_TIMEOUT_MS = 300_000;

export class WebServer {
  readonly #server: Server | HttpsServer;
  readonly #sockets = new Set<Socket>();
  #port: number;
  #tlsHandshakeFailures = 0;
  #closing: Promise<void> | undefined;

  private constructor(face: WebFace, private readonly options: WebServerOptions) {
    this.#port = options.port;
    const awaitingFirst = new WeakSet<Socket>();
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      // The first request ends the wait for it; from here on node's own timeouts apply
      // (requestTimeout, keepAliveTimeout between requests), and a long-running reply (a
      // continuous feed) must not be cut by the idle timer.
      if (awaitingFirst.delete(req.socket)) req.socket.setTimeout(0);
      face.handle(req, res).catch((err: unknown) => this.#fail(face, err, req, res));
    };
    const interval = options.connectionsCheckingInterval === undefined ? {} : { connectionsCheckingInterval: options.connectionsCheckingInterval };
    const server = options.tls === undefined ? createServer(interval, onRequest) : createHttpsServer({ ...options.tls, ...interval }, onRequest);
    server.on('tlsClientError', (err: Error, socket: Socket) => {
      this.#tlsHandshakeFailures++;
      options.logger.debug({ err: err.message, port: this.#port }, 'TLS handshake failed');
      // node:https hands the error to 'clientError' first (the face's handler writes a 400 that
      // can never be sent before the handshake), and node's handshake timeout does not destroy
      // the socket itself (TLSSocket `_handleTimeout`): a client that never finishes its
      // handshake would hold the connection forever.
      socket.destroy();
    });
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    if (options.headersTimeout !== undefined) server.headersTimeout = options.headersTimeout;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // The socket node:http reads requests from: the TLS socket once its handshake is done (the
    // handshake has its own timeout), else the accepted one. Its 'timeout' with no request goes
    // to node:http's socketOnTimeout, which destroys it.
    server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      awaitingFirst.add(socket);
      socket.setTimeout(options.firstRequestTimeout ?? FIRST_REQUEST_TIMEOUT_MS);
    });
    const clientError = face.clientError;
    if (clientError) server.on('clientError', (err: Error, socket: Socket) => clientError.call(face, err, socket));
    options.observe?.(server);
    this.#server = server;
  }

  /** Create the server for `face` and listen; rejects (nothing left open) when the port is taken. */
  static async listen(face: WebFace, options: WebServerOptions): Promise<WebServer> {
    const web = new WebServer(face, options);
    const server = web.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    web.#port = typeof address === 'object' && address !== null ? address.port : options.port;
    return web;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Failed TLS handshakes (0 on a plain server). */
  get tlsHandshakeFailures(): number {
    return this.#tlsHandshakeFailures;
  }

  /** Connections open now (idle keep-alive ones included). */
  get openSockets(): number {
    return this.#sockets.size;
  }

  /** Stop listening and end every open connection; idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    }));
  }

  #fail(face: WebFace, err: unknown, req: IncomingMessage, res: ServerResponse): void {
    if (clientWentAway(err, req)) {
      // The peer closed the connection mid-request (node:http's abortIncoming: "aborted",
      // ECONNRESET): nobody to answer and nothing wrong with the server, so a debug line without
      // a stack, as the KV face logs a peer that went away; the face's error path is skipped.
      this.options.logger.debug({ err: (err as Error).message, method: req.method, url: req.url }, 'HTTP client went away mid-request');
      res.destroy();
      return;
    }
    const started = res.headersSent;
    try {
      face.renderError(err, req, res);
    } catch (renderErr) {
      // Only sending the error reply itself can get here: log it and drop the connection.
      this.options.logger.error({ err: renderErr, cause: err, url: req.url }, 'HTTP request could not be answered');
      res.destroy();
      return;
    }
    if (started) res.destroy();
  }
}

/** Errors node:http and its streams raise when the client closes the connection under a request. */
const PEER_GONE_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Whether `err` is the request's client having gone away (its socket closed), not a failure here. */
function clientWentAway(err: unknown, req: IncomingMessage): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  const peerError = err.message === 'aborted' || (code !== undefined && PEER_GONE_CODES.has(code));
  return peerError && (req.socket.destroyed || req.destroyed);
}
