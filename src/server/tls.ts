/**
 * The server's TLS material: the certificate, key and optional CA chain every TLS listener
 * (KV 11207, REST 18091, CouchDB 6984) presents, read from the operator's files, or, when none are
 * given, a self-signed development certificate generated once into DATA/tls and reused on every
 * later start (clients trust it by pointing their trust store at DATA/tls/cert.pem).
 *
 * The data directory is private (src/engine/file-modes.ts), and so is the key: DATA/tls is
 * created 0700 and both files 0600. The generated certificate names `localhost` (DNS) and
 * `127.0.0.1` (IP) as subject alternative names, which is what a client dialling the loopback
 * checks the certificate against (RFC 6125; Node's `checkServerIdentity` reads IP SANs for IPs).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../common/logger.js';
import { makePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../engine/file-modes.js';
import { TlsConfigError } from './errors.js';

/** `ServerOptions.tls`: where the TLS listeners get their certificate and which ports they use. */
export interface TlsServerOptions {
  /** PEM certificate (chain) file; with `key`. Both absent: the development certificate. */
  readonly cert?: string;
  /** PEM private key file. */
  readonly key?: string;
  /** PEM CA certificate(s) file, sent to complete the chain clients verify. */
  readonly ca?: string;
  /** TLS ports; 0 = ephemeral. Defaults: Couchbase's 11207 and 18091, CouchDB's 6984. */
  readonly kvPort?: number;
  readonly mgmtPort?: number;
  readonly httpPort?: number;
  /** Serve TLS only: the plain ports are not opened. */
  readonly only?: boolean;
  /** How long a client may take to complete its handshake before the connection is dropped. */
  readonly handshakeTimeoutMs?: number;
}

/**
 * Default for `handshakeTimeoutMs` on every TLS port. Node's own default is 120 s, and on expiry
 * node only emits 'tlsClientError' (TLSSocket `_handleTimeout`): the listeners destroy the socket
 * themselves (src/kv/index.ts, src/web/server.ts), or a client that never finishes would hold it.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export const DEFAULT_TLS_PORTS = { kv: 11207, mgmt: 18091, http: 6984 } as const;

/** What the listeners are built from. */
export interface TlsMaterial {
  /** Options for `tls.createServer` / `https.createServer`. */
  readonly context: SecureContextOptions & { minVersion: 'TLSv1.2'; handshakeTimeout: number };
  /** The certificate file clients can trust (the generated one, or the operator's). */
  readonly certPath: string;
  /** SHA-256 fingerprint of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint: string;
  readonly generated: boolean;
}

export { TlsConfigError } from './errors.js';

/** The development certificate's files under the data directory. */
export function devCertificatePaths(dataDir: string): { dir: string; cert: string; key: string } {
  const dir = join(dataDir, 'tls');
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new TlsConfigError(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function exists(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code !== 'ENOENT';
}

/** Generate the development certificate unless both files are there; true when it was generated. */
export async function ensureDevCertificate(dataDir: string): Promise<boolean> {
  const paths = devCertificatePaths(dataDir);
  const have = await Promise.all(
    [paths.cert, paths.key].map((p) => readFile(p).then(() => true, (err: unknown) => {
      if (exists(err)) throw new TlsConfigError(`cannot read ${p}: ${(err as Error).message}`, { cause: err });
      return false;
    })),
  );
  if (have[0] && have[1]) return false;
  await makePrivateDir(paths.dir);
  await chmod(paths.dir, PRIVATE_DIR_MODE);
  const notBefore = new Date(Date.now() - 60_000); // tolerate a client clock slightly behind
  const notAfter = new Date(notBefore.getTime() + 825 * 86_400_000); // the longest browsers accept
  // Loaded only when a certificate is generated: most starts never need it.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'Freshet development certificate' }], {
    keySize: 2048,
    algorithm: 'sha256', // OpenSSL's default security level refuses SHA-1 signatures
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      // Its own trust anchor: clients load this very file as their CA.
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  // Key first: a crash in between leaves no certificate without its key (regenerated next start).
  await writeFile(paths.key, pems.private, { mode: PRIVATE_FILE_MODE });
  await writeFile(paths.cert, pems.cert, { mode: PRIVATE_FILE_MODE });
  return true;
}

/** Read (or generate) the material; a missing half of a cert/key pair is a configuration error. */
export async function loadTlsMaterial(opts: TlsServerOptions, dataDir: string, logger: Logger): Promise<TlsMaterial> {
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new TlsConfigError('a TLS certificate and its key go together: give both files, or neither for a development certificate');
  }
  let certPath: string;
  let keyPath: string;
  let generated = false;
  if (opts.cert !== undefined && opts.key !== undefined) {
    certPath = opts.cert;
    keyPath = opts.key;
  } else {
    generated = await ensureDevCertificate(dataDir);
    ({ cert: certPath, key: keyPath } = devCertificatePaths(dataDir));
  }
  const cert = await readPem(certPath, 'certificate');
  const key = await readPem(keyPath, 'key');
  const ca = opts.ca === undefined ? undefined : await readPem(opts.ca, 'CA file');
  let fingerprint: string;
  try {
    fingerprint = new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new TlsConfigError(`${certPath} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const context = { cert, key, ...(ca === undefined ? {} : { ca }), minVersion: 'TLSv1.2' as const };
  try {
    createSecureContext(context); // a key that does not match the certificate fails here, not per connection
  } catch (err) {
    throw new TlsConfigError(`TLS certificate ${certPath} and key ${keyPath} are not usable together: ${(err as Error).message}`, { cause: err });
  }
  if (opts.cert === undefined) {
    logger.info({ certPath, fingerprint, generated }, generated
      ? `generated a self-signed development certificate: clients trust ${certPath}`
      : `using the development certificate ${certPath}`);
  }
  return { context: { ...context, handshakeTimeout: opts.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS }, certPath, fingerprint, generated };
}
