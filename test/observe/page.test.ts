import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Fleet, waitForStatus } from '../support/agents';

// Agents on 127.0.52.1-3; the cluster page in Debian's Chromium, headless, driven by playwright-core.
describe('the cluster page in a real browser', { timeout: 120_000 }, () => {
  const names = ['muster@127.0.52.1', 'muster@127.0.52.2', 'muster@127.0.52.3'];
  const fleet = new Fleet({ MUSTER_NODE__COOKIE: 'test-cookie' }, 'fast');
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    await fleet.close();
  });

  it('shows a 3-node cluster, and a killed node stopped within the detection bound', async () => {
    const [a, b, c] = await fleet.startAll(names);
    for (const x of [b, c]) assert.equal((await x.ctl(['cluster', 'join', a.name])).code, 0);
    await waitForStatus(fleet.agents, names);
    // The flags keep Chromium off the network it would otherwise reach for (this machine has none);
    // playwright gives it a fresh profile of its own.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    const origin = 'http://127.0.52.1:18083';
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${origin}/`);
    const rows = page.locator('#members tbody tr');
    await rows.nth(2).waitFor({ timeout: 10_000 });
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-node'), tr.getAttribute('data-status')])), names.map((n) => [n, 'running']));
    assert.match((await page.locator('#summary').textContent()) ?? '', /3 running, 0 stopped/);
    assert.equal(await page.locator('#overlay line').count(), 3, 'three links: a full mesh');
    assert.equal(await page.locator('#overlay circle.running').count(), 3);

    await c.signal('SIGKILL');
    const killedAt = Date.now();
    await page.locator(`#members tr[data-node="${names[2]}"][data-status="stopped"]`).waitFor({ timeout: 10_000 });
    const tookMs = Date.now() - killedAt;
    // stopped_after_ms (3 s: probe interval + 2 x timeout) and one refresh of the page (1 s).
    assert.ok(tookMs <= 3000 + 1000 + 500, `the page showed the node stopped after ${tookMs} ms`);
    assert.match((await page.locator('#summary').textContent()) ?? '', /2 running, 1 stopped/);
    await page.locator('#events li[data-kind="stopped"]').first().waitFor({ timeout: 5000 });
    assert.match((await page.locator('#events').textContent()) ?? '', new RegExp(`${names[2].replace(/\./g, '\\.')} stopped`));
    assert.deepEqual(problems, [], 'no script errors, no resource refused by the page\'s policy');
    assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`)), [], 'nothing fetched from anywhere but the listener');
  });
});
