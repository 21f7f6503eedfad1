import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../../infra/env';
import { e2e, orderItem, ordersStillOpen } from './support/stack';

/*
 * The web order ticket (web/) in headless Chromium, as a person uses it: served by the stack at the root of its HTTP
 * base URL, talking to the engine through the client SDK over WebSocket. Debian's `chromium` package drives it
 * (.ci/run installs it when missing); playwright-core never downloads a browser of its own.
 * WEB_TICKET_SCREENSHOT=docs/web-ticket.png writes the README's screenshot; by default it goes to the temp directory.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = resolve(repoRoot, process.env.WEB_TICKET_SCREENSHOT ?? join(tmpdir(), 'web-ticket.png'));

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
});

afterAll(async () => {
  await browser?.close();
  expect(await ordersStillOpen()).toEqual([]);
}, 40_000);

const openTicket = async (account: string): Promise<{ page: Page; problems: string[] }> => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  // The key in the fragment, which never reaches a server (the page moves it out of the address bar).
  await page.goto(`${e2e().httpUrl}/#apiKey=${encodeURIComponent(e2e().keys[account] ?? '')}`);
  await page.locator('#connState[data-state="open"]').waitFor({ timeout: 15_000 });
  return { page, problems };
};

it('places an order through the page and watches it to confirmed, with both venues quoted', async () => {
  const { page, problems } = await openTicket('alice');
  expect(page.url()).not.toContain('apiKey');
  await page.locator('#pair').selectOption('SOL/USDC');
  await page.locator('#amount').fill('150');
  await page.locator('#slippage').fill('0.5');
  // Both venues' quotes side by side, one of them marked as the route.
  await page.locator('#quotes tr[data-dex="raydium"]').waitFor({ timeout: 10_000 });
  await page.locator('#quotes tr[data-dex="meteora"]').waitFor();
  expect(await page.locator('#quotes tr.chosen').count()).toBeGreaterThanOrEqual(1);
  await expect.poll(() => page.locator('#route').textContent()).toMatch(/^Route (raydium|meteora)/);

  await page.locator('#place').click();
  await page.locator('#timeline tr[data-status="confirmed"]').waitFor({ timeout: 30_000 });
  const statuses = await page.locator('#timeline tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-status')));
  expect(statuses).toEqual(['pending', 'routing', 'building', 'submitted', 'confirmed']);
  const seqs = await page.locator('#timeline tbody tr td:first-child').allTextContents();
  expect(seqs).toEqual(['1', '2', '3', '4', '5']);

  // The session's order list shows the outcome; the order is the engine's, owned by the key's account.
  const orderId = (await page.locator('#timelineOrder').textContent()) ?? '';
  expect(orderId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  const row = page.locator('#orders tbody tr').first();
  await expect.poll(() => row.textContent()).toContain('confirmed');
  expect(await row.textContent()).toContain(orderId);
  expect(await orderItem(orderId)).toMatchObject({ owner: 'alice', status: 'confirmed', request: { side: 'buy', tokenIn: 'USDC', tokenOut: 'SOL', amountIn: '150000000', slippageBps: 50 } });

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);

it('renders a validation error in words with its code, and places nothing', async () => {
  const { page, problems } = await openTicket('bob');
  await page.locator('#sideSell').click();
  await page.locator('#amount').fill('1');
  await page.locator('#slippage').fill('60');
  await page.locator('#place').click();
  const error = page.locator('#error');
  await error.waitFor({ state: 'visible', timeout: 10_000 });
  expect(await error.locator('code').textContent()).toBe('VALIDATION_FAILED');
  const text = (await error.textContent()) ?? '';
  expect(text).toContain('The order is not valid');
  expect(text).toContain('slippage: must be <= 50');
  expect(await page.locator('#orders tbody tr').count()).toBe(0);
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);
