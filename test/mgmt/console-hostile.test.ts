/**
 * The console in headless Chromium with hostile names and an unreachable server: DCP connection
 * names holding markup, quotes, a newline, right-to-left override and 240 characters are shown as
 * text in the table and the lag chart's legend (no element, no script, no dialog), the long name
 * is cut instead of widening the page, and a server that stops answering gets the banner
 * "Cannot update: Cannot reach the server (…). Retrying…", which goes away when it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { FreshetServer } from '../../src/server/freshet-server.js';
import { DcpTestConsumer } from '../dcp/helpers/consumer.js';
import { ADMIN, tempDir } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('console: hostile DCP names render as text; an unreachable server gets a clear banner', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed at /usr/bin/chromium');
    return;
  }
  const dataDir = tempDir();
  const options = { kvPort: 0, httpPort: 0, numVBuckets: 8, fastHashing: true, dataDir, ...ADMIN };
  let server = await FreshetServer.start({ ...options, mgmtPort: 0 });
  t.after(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const mgmtPort = server.ports.mgmt;

  const names = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', 'new\nline', 'rtl \u202e txt', 'x'.repeat(240)];
  const consumers = [];
  for (const name of names) {
    const consumer = await DcpTestConsumer.open({ kvPort: server.ports.kv }, { name });
    await consumer.streamFromZero(0);
    consumers.push(consumer);
  }

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('dialog', (d) => {
    pageErrors.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`http://127.0.0.1:${mgmtPort}/ui/`);
  await page.fill('#user', ADMIN.username);
  await page.fill('#password', ADMIN.password);
  await page.click('#login-button');
  await page.waitForSelector('#dashboard', { state: 'visible' });
  await until('the DCP rows', async () => (await page.locator('#dcp tbody tr[data-key^="default/"]').count()) === names.length);
  const shown = await page.locator('#dcp tbody tr td:nth-child(2)').allTextContents();
  assert.deepEqual([...shown].sort(), [...names].sort());
  assert.equal(await page.locator('#dashboard img, #dashboard script').count(), 0, 'no markup from a name became an element');
  await until('the lag legend', async () => (await page.locator('#chart-dcp .u-legend .u-label').count()) === names.length);
  const labels = await page.locator('#chart-dcp .u-legend .u-label').allTextContents();
  assert.deepEqual([...labels].sort(), names.map((n) => `default: ${n}`).sort());
  // The 240-character name is cut: the legend fits its chart and the page does not scroll sideways.
  const widths = await page.evaluate(`(() => {
    const chart = document.getElementById('chart-dcp');
    return { legend: chart.querySelector('.u-legend').scrollWidth, chart: chart.clientWidth, page: document.documentElement.scrollWidth, view: window.innerWidth };
  })()`) as { legend: number; chart: number; page: number; view: number };
  assert.ok(widths.legend <= widths.chart, `legend ${widths.legend}px wider than its chart ${widths.chart}px`);
  assert.ok(widths.page <= widths.view, `page ${widths.page}px wider than the window ${widths.view}px`);
  await Promise.all(consumers.map((consumer) => consumer.conn.close()));

  // The server stops: the banner says it cannot be reached; it comes back: the banner goes.
  await server.close();
  await page.waitForSelector('#poll-error', { state: 'visible', timeout: 10_000 });
  assert.match((await page.textContent('#poll-error')) ?? '', /^Cannot update: Cannot reach the server \(.+\)\. Retrying…$/);
  server = await FreshetServer.start({ ...options, mgmtPort });
  await page.waitForSelector('#poll-error', { state: 'hidden', timeout: 10_000 });
  assert.equal(await page.isVisible('#dashboard'), true);
  assert.deepEqual(pageErrors, []);
});
