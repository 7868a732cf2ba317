/**
 * The live console in a real headless Chromium (playwright-core driving /usr/bin/chromium)
 * against a real server on port 0: a wrong password and a non-admin user get clear errors on
 * the sign-in form; the administrator signs in, sees a bucket's item count follow a write made
 * over HTTP, sees a DCP connection opened by Freshet's own consumer (`openChangeStream`) appear
 * with a lag series and go away when it closes, and stays signed in across a reload
 * (sessionStorage). Any script error in the page fails the test.
 *
 * Without Chromium at /usr/bin/chromium the test says so and is skipped (.ci/run installs it
 * first, so CI always runs it). CONSOLE_SCREENSHOT=path saves a screenshot of the dashboard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { request } from 'undici';
import { formatBasicAuth } from '../../src/auth/basic.js';
import { openChangeStream } from '../../src/consumer/index.js';
import { ADMIN } from '../helpers/server.js';
import { startMgmtServer } from './rest-helpers.js';

const CHROMIUM = '/usr/bin/chromium';

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#login-button');
}

/** The text of a cell of the row with `data-key` = key in table `id` (column from 0). */
function cellText(page: Page, id: string, key: string, column: number): Promise<string | null> {
  return page.locator(`#${id} tbody tr[data-key="${key}"] td`).nth(column).textContent({ timeout: 10_000 });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('console: sign-in errors, live bucket items and DCP connections in Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed at /usr/bin/chromium');
    return;
  }
  const { t: server, mgmt } = await startMgmtServer();
  t.after(() => server.close());
  const viewer = await mgmt.call('PUT', '/settings/rbac/users/local/viewer', {
    form: { password: 'viewer-secret', roles: 'bucket_full_access[default]' },
  });
  assert.equal(viewer.status, 200, viewer.text);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('dialog', (d) => pageErrors.push(`unexpected dialog: ${d.message()}`));

  // /ui redirects to the page; the sign-in form shows first.
  const response = await page.goto(`${mgmt.base}/ui`);
  assert.equal(response?.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/ui/');
  await page.waitForSelector('#login-form', { state: 'visible' });
  assert.equal(await page.isVisible('#dashboard'), false);

  await signIn(page, 'Administrator', 'not-the-password');
  await page.waitForSelector('#login-error', { state: 'visible' });
  assert.match((await page.textContent('#login-error')) ?? '', /Wrong user name or password/);
  assert.equal(await page.isVisible('#dashboard'), false);

  await signIn(page, 'viewer', 'viewer-secret');
  await until('the 403 message', async () => /may not read/.test((await page.textContent('#login-error')) ?? ''));
  assert.match((await page.textContent('#login-error')) ?? '', /“viewer” may not read the server statistics \(needs cluster\.stats!read\)/);

  await signIn(page, ADMIN.username, ADMIN.password);
  await page.waitForSelector('#dashboard', { state: 'visible' });
  assert.equal(await page.isVisible('#login'), false);
  assert.equal(await cellText(page, 'buckets', 'default', 1), '0');

  // A write over the CouchDB port shows up in the bucket's item count at the next poll.
  const put = await request(`http://127.0.0.1:${server.server.ports.http}/default/console-doc`, {
    method: 'PUT',
    headers: { authorization: formatBasicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
    body: JSON.stringify({ hello: 'console' }),
  });
  assert.equal(put.statusCode, 201, await put.body.text());
  await until('the item count to become 1', async () => (await cellText(page, 'buckets', 'default', 1)) === '1');

  // No DCP connection yet; then one opened by Freshet's consumer appears, with its lag series.
  assert.match((await page.textContent('#dcp tbody')) ?? '', /No DCP connections/);
  const stream = openChangeStream({
    seeds: [`couchbase://127.0.0.1:${server.server.ports.kv}/default`],
    credentials: ADMIN,
    from: 'beginning',
  });
  t.after(() => stream.close());
  await stream.ready();
  await until('a DCP connection row', async () => (await page.locator('#dcp tbody tr[data-key^="default/"]').count()) > 0);
  const row = page.locator('#dcp tbody tr[data-key^="default/"]').first();
  assert.equal(await row.locator('td').nth(0).textContent(), 'default');
  assert.ok(Number(await row.locator('td').nth(2).textContent()) > 0, 'the connection has streams');
  const name = await row.locator('td').nth(1).textContent();
  await until('the lag chart to draw the connection', async () => (await page.locator('#chart-dcp .u-legend').textContent())?.includes(`default: ${name}`) === true);
  await until('the ops chart', async () => (await page.locator('#chart-ops canvas').count()) > 0);

  if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });

  await stream.close();
  await until('the DCP connection to go away', async () => (await page.locator('#dcp tbody tr[data-key^="default/"]').count()) === 0);

  // The credentials live in sessionStorage: a reload goes straight to the dashboard.
  await page.reload();
  await page.waitForSelector('#dashboard', { state: 'visible' });
  assert.equal(await cellText(page, 'buckets', 'default', 1), '1');
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  // Evaluated in the page, where sessionStorage exists (a string: no DOM types in this project).
  assert.equal(await page.evaluate('sessionStorage.length'), 0);

  assert.deepEqual(pageErrors, []);
});
