/**
 * A scripted HTTP proxy in front of a peer, for failure tests: forwards everything (streaming both
 * ways) while up; while down, every new connection is reset and open ones are destroyed, as if the
 * peer had crashed. It can also fail chosen requests with a status. It counts what went through.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Proxy {
  port: number;
  url(path: string, creds?: string): string;
  down(): void;
  up(): void;
  /** Answer matching requests with this status (until cleared with null). */
  failWith(match: ((req: IncomingMessage) => boolean) | null, status?: number): void;
  /** Requests forwarded, by "METHOD path-without-query". */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

export async function startProxy(upstreamPort: number): Promise<Proxy> {
  let isDown = false;
  let failMatch: ((req: IncomingMessage) => boolean) | null = null;
  let failStatus = 503;
  const sockets = new Set<Socket>();
  const counts = new Map<string, number>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (isDown) {
      req.socket.destroy();
      return;
    }
    if (failMatch?.(req)) {
      res.writeHead(failStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'unavailable', reason: 'scripted failure' }));
      return;
    }
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const up = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server: Server = createServer(handle);
  server.on('connection', (s: Socket) => {
    if (isDown) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    counts,
    url: (path, creds) => `http://${creds ? `${creds}@` : ''}127.0.0.1:${port}${path}`,
    down() {
      isDown = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      isDown = false;
    },
    failWith(match, status = 503) {
      failMatch = match;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
