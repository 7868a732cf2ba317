/**
 * `freshet serve --tls` as a real process: the development certificate is generated into
 * DATA/tls (private modes, localhost and 127.0.0.1 as SANs) and reused by the next start, the
 * ready line carries the TLS ports, and PouchDB (node-fetch over https, trusting the certificate
 * through NODE_EXTRA_CA_CERTS in its own process) replicates into the CouchDB TLS port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ADMIN, tempDir } from '../helpers/server.js';

const CLI = new URL('../../src/cli/entry.ts', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;
const READY = /^freshet ready kv=(\d+) mgmt=(\d+) http=(\d+) kvs=(\d+) mgmts=(\d+) https=(\d+) data=(.+)$/;

/** Start `freshet serve --tls` on ephemeral ports; returns the ready line's ports and a stop(). */
async function serveTls(dir: string, extra: string[] = []): Promise<{ m: RegExpExecArray; stderr: () => string; stop: () => Promise<number | null> }> {
  const ports = ['--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--kv-tls-port', '0', '--mgmt-tls-port', '0', '--http-tls-port', '0'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data', dir, ...ports, '--vbuckets', '8', '--tls', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('freshet ready') && resolve(l));
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${err}`)));
  });
  const m = READY.exec(line);
  assert.ok(m, line);
  return {
    m,
    stderr: () => err,
    stop: () => {
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exit;
    },
  };
}

test('`serve --tls` generates a private development certificate once and reuses it', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    const first = await serveTls(dir);
    const certPath = join(dir, 'tls', 'cert.pem');
    assert.equal(first.m[7], dir);
    assert.match(first.stderr(), new RegExp(`generated a self-signed development certificate: clients trust ${certPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await first.stop(), 0);
    assert.equal(statSync(join(dir, 'tls')).mode & 0o777, 0o700);
    assert.equal(statSync(certPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'tls', 'key.pem')).mode & 0o777, 0o600);
    const cert = new X509Certificate(readFileSync(certPath));
    assert.equal(cert.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');

    const second = await serveTls(dir);
    assert.doesNotMatch(second.stderr(), /generated a self-signed/);
    assert.equal(await second.stop(), 0);
    assert.equal(new X509Certificate(readFileSync(certPath)).fingerprint256, cert.fingerprint256, 'the same certificate');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PouchDB replicates over https into the CouchDB TLS port (NODE_EXTRA_CA_CERTS)', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  try {
    const serve = await serveTls(dir);
    try {
      const url = `https://${ADMIN.username}:${ADMIN.password}@localhost:${serve.m[6]}/pouchtls`;
      // A separate process: NODE_EXTRA_CA_CERTS is read once at start-up.
      const script = `
        const PouchDB = require('pouchdb').plugin(require('pouchdb-adapter-memory'));
        (async () => {
          const local = new PouchDB('src', { adapter: 'memory' });
          await local.bulkDocs(Array.from({ length: 20 }, (_, i) => ({ _id: 'p' + i, i })));
          const remote = new PouchDB(process.argv[1]);
          const result = await local.replicate.to(remote);
          const doc = await remote.get('p7');
          const info = await remote.info();
          process.stdout.write(JSON.stringify({ written: result.docs_written, i: doc.i, count: info.doc_count }));
        })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, url], {
        cwd: ROOT,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'tls', 'cert.pem') },
      });
      assert.deepEqual(JSON.parse(stdout), { written: 20, i: 7, count: 20 });
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
