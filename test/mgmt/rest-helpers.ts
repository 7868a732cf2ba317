/** Real HTTP against a test server's management port, through undici. */
import { request } from 'undici';
import { Command } from 'commander';
import { registerBucket } from '../../src/cli/bucket.js';
import { formatBasicAuth } from '../../src/auth/basic.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import type { ServerOptions } from '../../src/server/freshet-server.js';

export interface Creds {
  readonly username: string;
  readonly password: string;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export class Mgmt {
  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {}

  get base(): string {
    return `http://${this.host}:${this.port}`;
  }

  async call(
    method: string,
    path: string,
    opts: { creds?: Creds | null; form?: Record<string, string>; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Reply> {
    const creds = opts.creds === undefined ? ADMIN : opts.creds;
    const headers: Record<string, string> = { ...opts.headers };
    if (creds !== null) headers.authorization = formatBasicAuth(creds.username, creds.password);
    let body: string | undefined = opts.body;
    if (opts.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const res = await request(`${this.base}${path}`, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  get(path: string, creds?: Creds | null): Promise<Reply> {
    return this.call('GET', path, { creds });
  }

  async json(path: string, creds?: Creds | null): Promise<unknown> {
    const r = await this.get(path, creds);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as unknown;
  }

  post(path: string, form: Record<string, string>, creds?: Creds | null): Promise<Reply> {
    return this.call('POST', path, { form, creds });
  }
}

export interface MgmtServer {
  t: TestServer;
  mgmt: Mgmt;
}

export async function startMgmtServer(opts: Partial<ServerOptions> = {}): Promise<MgmtServer> {
  const t = await startTestServer({ numVBuckets: 8, ...opts });
  return { t, mgmt: new Mgmt(t.server.ports.mgmt) };
}

/** A value read from parsed JSON, narrowed for assertions. */
export function obj(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not an object: ${String(value)}`);
  return value as Record<string, unknown>;
}

export function arr(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Error(`not an array: ${String(value)}`);
  return value;
}

/**
 * Read a streaming reply document by document (split on ns_server's "\n\n\n\n"). `next()`
 * resolves with the next document, or undefined once the server ended the reply.
 */
export class StreamReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffer = '';

  private constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    body: AsyncIterable<Buffer>,
  ) {
    this.#iterator = body[Symbol.asyncIterator]();
  }

  static async open(mgmt: Mgmt, path: string, creds: Creds = ADMIN): Promise<StreamReader> {
    const res = await request(`${mgmt.base}${path}`, { headers: { authorization: formatBasicAuth(creds.username, creds.password) } });
    return new StreamReader(res.statusCode, res.headers, res.body);
  }

  async next(): Promise<string | undefined> {
    for (;;) {
      const at = this.#buffer.indexOf('\n\n\n\n');
      if (at >= 0) {
        const doc = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 4);
        return doc;
      }
      const { value, done } = await this.#iterator.next();
      if (done === true) return undefined;
      this.#buffer += value.toString('utf8');
    }
  }

  /** The rest of the raw text until the server ends the reply. */
  async rest(): Promise<string> {
    for (;;) {
      const { value, done } = await this.#iterator.next();
      if (done === true) return this.#buffer;
      this.#buffer += value.toString('utf8');
    }
  }

  async close(): Promise<void> {
    await this.#iterator.return?.();
  }
}

/** Run `freshet bucket ...` in-process; resolves with the printed lines. */
export async function runBucketCli(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = new Command().name('freshet').exitOverride();
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerBucket(program, (line) => lines.push(line));
  await program.parseAsync(['node', 'freshet', 'bucket', ...args]);
  return lines;
}
