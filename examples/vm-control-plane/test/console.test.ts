import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpDatacenter, HttpFixture, testToken, type HttpDatacenter } from './http-fixture.js';

/** Debian's Chromium (`apt-get install chromium`); `.ci/run` installs it when it is missing. */
const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const screenshotPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts', 'console.png');

function chromiumAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  const message = `console browser tests SKIPPED: ${chromiumPath} is missing (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true`);
  process.stderr.write(`\n!!!!! ${message} !!!!!\n\n`);
  return false;
}

describe('GET /console', () => {
  const http = new HttpFixture();
  beforeAll(async () => {
    await http.start();
  });
  afterAll(async () => {
    await http.cleanup();
  });

  it('serves the page, its module and its style without the token; / sends a browser there; unknown paths stay 404', async () => {
    const page = await fetch(`${http.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/console/console.js">');
    const script = await fetch(`${http.url}/console/console.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    const style = await fetch(`${http.url}/console/console.css`);
    expect([style.status, style.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    const root = await fetch(`${http.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console']);
    const unknown = await http.get('/console/other.js');
    expect([unknown.status, (unknown.body.error as { code: string }).code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('answers reads with Ordo-Position, the log position they reflect', async () => {
    const hosts = await http.get('/hosts');
    expect(Number(hosts.headers.get('ordo-position'))).toBe(http.service?.plane.store.position);
  });
});

describe.skipIf(!chromiumAvailable())('the console in Chromium', () => {
  const http = new HttpFixture();
  let browser: Browser;
  let page: Page;
  let datacenter: HttpDatacenter;

  beforeAll(async () => {
    await http.start();
    datacenter = await buildHttpDatacenter(http);
    expect((await http.post('/volumes', { name: 'data-1', containerId: datacenter.container, sizeBytes: 10 * 1024 ** 3 })).status).toBe(201);
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${http.url}/console#token=${testToken}`);
  });

  afterAll(async () => {
    await browser?.close();
    await http.cleanup();
  });

  const vmRow = (name: string) => page.locator(`#vms tbody tr[data-name="${name}"]`);

  it('shows the state read at load, follows the log, and keeps the token out of the address', async () => {
    await expect.poll(() => page.locator('#hosts tbody tr').allInnerTexts()).toEqual([expect.stringContaining('big'), expect.stringContaining('small')]);
    await expect.poll(() => page.locator('#volumes tbody tr').innerText()).toContain('data-1');
    await expect.poll(() => page.locator('#stream-status').getAttribute('data-state')).toBe('live');
    // The feed has the operations of the log before the page opened (another client made them).
    expect(await page.locator('#operations li[data-operation="host.add"][data-status="applied"]').count()).toBe(2);
    expect(page.url()).toBe(`${http.url}/console`);
    // Evaluated in the page, where the DOM's names exist (this file is type-checked for Node).
    expect(await page.evaluate('sessionStorage.getItem("ordo.console.token")')).toBe(testToken);
  });

  it('creates a VM through the form: it appears in the table and the feed without a reload', async () => {
    // A mark in the page's globals: a reload would lose it.
    await page.evaluate('window.loadedOnce = true');
    const form = page.locator('#create-vm');
    await form.locator('input[name="name"]').fill('web-1');
    await form.locator('input[name="memoryMiB"]').fill('1024');
    await form.locator('select[name="hostId"]').selectOption({ label: 'small' });
    await form.locator('select[name="subnetId"]').selectOption({ label: 'prod' });
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => page.locator('#create-outcome').innerText()).toContain('created VM web-1 (10.0.0.10)');
    await expect.poll(() => vmRow('web-1').innerText()).toMatch(/web-1\s+off\s+small/);
    await expect.poll(() => page.locator('#operations li[data-operation="vm.create"]').first().getAttribute('data-status')).toBe('applied');
    expect(await page.evaluate('window.loadedOnce')).toBe(true);
  });

  it('shows INSUFFICIENT_HOST_MEMORY inline with the host\'s free memory against the VM\'s need', async () => {
    const form = page.locator('#create-vm');
    await form.locator('input[name="name"]').fill('big-1');
    await form.locator('input[name="memoryMiB"]').fill('8192');
    await form.locator('select[name="hostId"]').selectOption({ label: 'small' });
    await form.locator('select[name="subnetId"]').selectOption({ label: 'no NIC' });
    await form.locator('input[name="powerOn"]').check();
    await form.locator('button[type="submit"]').click();
    const error = page.locator('#create-outcome .error[data-code="INSUFFICIENT_HOST_MEMORY"]');
    await error.waitFor();
    expect(await error.innerText()).toContain('host small: 4096 MiB free, the VM needs 8192 MiB');
    expect(await error.innerText()).toContain('409 · plan');
    // The create went through; the refused power-on wrote nothing, so the page lists it itself.
    await expect.poll(() => vmRow('big-1').innerText()).toMatch(/big-1\s+off/);
    expect(await page.locator('#operations li[data-operation="vm.powerOn"][data-status="refused"]').getAttribute('data-code')).toBe('INSUFFICIENT_HOST_MEMORY');
  });

  it('powers a VM on and off from its row, and shows a refusal under the row', async () => {
    await vmRow('web-1').getByRole('button', { name: 'Power on' }).click();
    await expect.poll(() => vmRow('web-1').locator('td.power').innerText()).toBe('on');
    await expect.poll(() => page.locator('#hosts tbody tr', { hasText: 'small' }).innerText()).toContain('1024 / 4096 MiB');

    await vmRow('big-1').getByRole('button', { name: 'Power on' }).click();
    const rowError = page.locator('#vms tr.row-error .error[data-code="INSUFFICIENT_HOST_MEMORY"]');
    await rowError.waitFor();
    expect(await rowError.innerText()).toContain('host small: 3072 MiB free, the VM needs 8192 MiB');

    await vmRow('web-1').getByRole('button', { name: 'Power off' }).click();
    await expect.poll(() => vmRow('web-1').locator('td.power').innerText()).toBe('off');
    await expect.poll(() => page.locator('#operations li[data-operation="vm.powerOff"]').first().getAttribute('data-status')).toBe('applied');
  });

  it('shows an adapter failure after compensation under the row, and the log\'s compensation as reverted in the feed', async () => {
    http.service?.hypervisor.failNextApply('web-1', 'agent: connection reset');
    await vmRow('web-1').getByRole('button', { name: 'Power on' }).click();
    const rowError = page.locator('#vms tr.row-error .error[data-code="ADAPTER_FAILED"]');
    await rowError.waitFor();
    expect(await rowError.innerText()).toContain('502 · apply · hypervisor');
    // Committed, then compensated: the feed has it from the log once, not also as this page's refusal.
    const powerOns = page.locator('#operations li[data-operation="vm.powerOn"]', { hasText: 'vm web-1' });
    await expect.poll(() => powerOns.first().getAttribute('data-status')).toBe('reverted');
    expect(await powerOns.first().getAttribute('data-code')).toBe('ADAPTER_FAILED');
    expect(await page.locator('#operations li[data-status="refused"][data-code="ADAPTER_FAILED"]').count()).toBe(0);
    await expect.poll(() => vmRow('web-1').locator('td.power').innerText()).toBe('off');
  });

  it('shows what other clients do, live', async () => {
    const created = await http.post('/vms', { name: 'api-1', vcpus: 1, memoryMiB: 512 });
    expect(created.status).toBe(201);
    await expect.poll(() => vmRow('api-1').innerText()).toMatch(/api-1\s+off/);
    const id = (created.body.entity as { id: string }).id;
    expect((await http.post(`/vms/${id}/power-on`)).status).toBe(200);
    // No host was named: power-on chose the one with the most free memory.
    await expect.poll(() => vmRow('api-1').innerText()).toMatch(/api-1\s+on\s+big/);
  });

  it('reconnects after a server restart and misses nothing written before it reconnected', async () => {
    const port = Number(new URL(http.url).port);
    await http.service?.close();
    await expect.poll(() => page.locator('#stream-status').getAttribute('data-state')).toBe('connecting');
    // The same data folder and port: state comes back from the log. The VM is created before
    // the page reconnects (EventSource waits about 3 s), so a stream that began at the new head
    // would miss it; the page's resumes after the last record it saw (Last-Event-ID).
    await http.start({ port });
    expect((await http.post('/vms', { name: 'while-away', vcpus: 1, memoryMiB: 256 })).status).toBe(201);
    await expect.poll(() => vmRow('while-away').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.locator('#stream-status').getAttribute('data-state')).toBe('live');
    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    process.stdout.write(`console screenshot: ${screenshotPath}\n`);
  });
});
