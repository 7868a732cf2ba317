/**
 * A port held for a face that is not served yet: it accepts connections and closes them at once,
 * so the address is reserved and reported while the protocol is still to come.
 */
import { createServer, type Socket } from 'node:net';
import type { Listener } from '../topology/addresses.js';

export function listenReserved(host: string, port: number): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
