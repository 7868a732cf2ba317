/**
 * The console's files on the management port, over real sockets: the redirect of /ui, the page
 * and its scripts with their content types and `Cache-Control: no-cache`, uPlot from the
 * installed package, 404 for unknown files, and no way out of public/ui/ (raw `..` segments,
 * encoded slashes and dots, backslashes, hidden files, a symlink pointing outside). The 401 of
 * the stats the page polls carries no Basic challenge when asked (`invalid-auth-response: on`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as rawRequest } from 'node:http';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { StaticFolder } from '../../src/web/static-files.js';
import { startMgmtServer, type MgmtServer } from './rest-helpers.js';

/** A request with the path sent exactly as written (undici and URL would normalize `..`). */
function raw(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = rawRequest({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mgmt > console files', () => {
  let s: MgmtServer;
  let port: number;
  before(async () => {
    s = await startMgmtServer();
    port = s.t.server.ports.mgmt;
  });
  after(() => s.t.close());

  test('/ui redirects to /ui/, which is the page', async () => {
    const r = await raw(port, '/ui');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/ui/');
    const page = await raw(port, '/ui/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.match(page.body, /<title>Freshet console<\/title>/);
    assert.match(page.body, /src="vendor\/uPlot\.iife\.min\.js"/);
  });

  test('scripts, styles and uPlot come with their content types', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/ui/console.js', 'text/javascript; charset=utf-8', /fetch\(STATS_URL/],
      ['/ui/charts.js', 'text/javascript; charset=utf-8', /export class LiveChart/],
      ['/ui/console.css', 'text/css; charset=utf-8', /--accent/],
      ['/ui/index.html', 'text/html; charset=utf-8', /<html/],
      ['/ui/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8', /uPlot/],
      ['/ui/vendor/uPlot.min.css', 'text/css; charset=utf-8', /\.uplot/],
    ];
    for (const [path, type, body] of cases) {
      const r = await raw(port, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], type, path);
      assert.equal(r.headers['cache-control'], 'no-cache', path);
      assert.match(r.body, body, path);
    }
  });

  test('unknown files are 404, and nothing outside public/ui/ is reachable', async () => {
    const paths = [
      '/ui/nope.js',
      '/ui/vendor/uPlot.cjs.js',
      '/ui/vendor/../../package.json',
      '/ui/../package.json',
      '/ui/../../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/..%2F..%2Fpackage.json',
      '/ui/..%2f..%2fsrc%2fmgmt%2findex.ts',
      '/ui/..%5C..%5Cpackage.json',
      '/ui/%2Fetc%2Fpasswd',
      '/ui//etc/passwd',
      '/ui/.%2e/.%2e/README.md',
      '/ui/index.html%00.js',
      '/ui/.hidden.js',
      '/ui/%',
    ];
    for (const path of paths) {
      const r = await raw(port, path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /"name": "freshet"|root:|export async function/, path);
    }
  });

  test('a symlink out of the folder is not followed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'freshet-static-'));
    const outside = mkdtempSync(join(tmpdir(), 'freshet-outside-'));
    try {
      writeFileSync(join(dir, 'in.js'), 'ok');
      writeFileSync(join(outside, 'secret.js'), 'secret');
      symlinkSync(join(outside, 'secret.js'), join(dir, 'link.js'));
      const folder = new StaticFolder(dir);
      assert.equal((await folder.read(['in.js']))?.body.toString(), 'ok');
      assert.equal(await folder.read(['link.js']), undefined);
      assert.equal(await folder.read(['..', 'x.js']), undefined);
      assert.equal(await folder.read(['in.exe']), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('the stats 401 leaves out the Basic challenge for the console only', async () => {
    const plain = await raw(port, '/pools');
    assert.equal(plain.status, 401);
    assert.match(String(plain.headers['www-authenticate']), /^Basic /);
    const quiet = await raw(port, '/pools', { 'invalid-auth-response': 'on' });
    assert.equal(quiet.status, 401);
    assert.equal(quiet.headers['www-authenticate'], undefined);
  });
});
