/**
 * Where this node is reachable: the host its listeners bind to and the ports they really listen
 * on (0 in the options means ephemeral, so the real port is known only once a listener has bound;
 * a port that stays 0 here has no listener: TLS off, or a plain port closed by `--tls-only`).
 * The server owns one `NodeAddresses` and records each port with `bound` as its listener starts;
 * everything else (the cluster map, CouchDB's `Location` headers, the development cluster's port
 * check) reads the live, read-only `ports` view. Lives below the faces so that none of them
 * imports the server.
 */

export interface Ports {
  kv: number;
  mgmt: number;
  http: number;
  /** The TLS listeners (Couchbase's 11207 and 18091, CouchDB's 6984); 0 while TLS is off. */
  kvTls: number;
  mgmtTls: number;
  httpTls: number;
}

/** A bound listener: what the server keeps of each face it started. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

export class NodeAddresses {
  readonly #ports: Ports = { kv: 0, mgmt: 0, http: 0, kvTls: 0, mgmtTls: 0, httpTls: 0 };

  constructor(
    /** The host listeners bind to. */
    readonly host: string,
  ) {}

  /** The real ports, live: a face learns a port bound after it started (0 until then). */
  get ports(): Readonly<Ports> {
    return this.#ports;
  }

  /** Record the port a listener bound. */
  bound(face: keyof Ports, port: number): void {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${face} port ${port} is not a port`);
    this.#ports[face] = port;
  }
}
