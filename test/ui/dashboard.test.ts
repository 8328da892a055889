/**
 * The admin dashboard in a real browser: a gateway on the mock provider gets
 * a known amount of traffic (successes on two protocols, a background-routed
 * request, failures from a deployment that answers 503), then headless
 * Chromium opens /ui, is refused with a wrong key, signs in with the admin
 * key and must show exactly that traffic; the config view must hold no secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { postJson, startStack } from '../e2e/stack.ts';
import { openBrowser } from './browser.ts';

const ADMIN_KEY = 'adm-ui-test-key-5b1e';
const SECRETS = ['sk-oai-topsecret-1', 'sk-ant-pool-secret-a', 'sk-ant-pool-secret-b', 'plainsecretvalue42', 'hdr-secret-xyz', ADMIN_KEY];
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

function yaml(url: string): string {
  return `
server: { host: 127.0.0.1, port: 0 }
providers:
  - { name: oai, protocol: openai, baseUrl: "${url}/v1", apiKey: "sk-oai-topsecret-1" }
  - { name: ant, protocol: anthropic, baseUrl: "${url}", apiKeys: ["sk-ant-pool-secret-a", { key: "sk-ant-pool-secret-b", weight: 2 }] }
  - { name: bad, protocol: openai, baseUrl: "${url}/v1", apiKey: "plainsecretvalue42", headers: { x-mock-fault: "status:503", x-custom-auth-token: "hdr-secret-xyz" } }
models:
  - { name: gpt-mock, deployments: [ { provider: oai, model: upstream-gpt } ] }
  - { name: claude-mock, deployments: [ { provider: ant, model: upstream-claude, inputCostPerMTok: 3000, outputCostPerMTok: 15000 } ] }
  - { name: flaky, retries: 0, breaker: { consecutiveFailures: 2 }, deployments: [ { provider: bad, model: upstream-bad } ] }
routes: { default: claude-mock, background: gpt-mock }
admin: { apiKeys: ["${ADMIN_KEY}"] }
`;
}

const messages = [{ role: 'user', content: 'Hello dashboard' }];

/** How far the page scrolls sideways (tables scroll inside their panels; the page itself must not). */
async function sidewaysScroll(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).innerText()).trim();
}

test('the dashboard shows the traffic that was sent, refuses a wrong key and shows no secret', async (t) => {
  const { gateway, mock } = await startStack(t, { yaml });
  await gateway.warmed;

  // The data needs the admin key; the page shell does not.
  assert.equal((await fetch(`${gateway.url}/ui/api/snapshot`)).status, 401);
  assert.equal((await fetch(`${gateway.url}/ui/api/snapshot`, { headers: { 'x-api-key': 'wrong' } })).status, 401);
  const shell = await fetch(`${gateway.url}/ui`);
  assert.equal(shell.status, 200);
  assert.match(shell.headers.get('content-security-policy') ?? '', /default-src 'none'/);

  const before = mock.stats.requests;
  const sent: Array<{ id: string; status: number }> = [];
  const send = async (path: string, body: Record<string, unknown>, id: string): Promise<void> => {
    const res = await postJson(`${gateway.url}${path}`, body, { 'x-request-id': id });
    sent.push({ id, status: res.status });
  };
  for (let i = 1; i <= 3; i++) await send('/v1/messages', { model: 'claude-mock', max_tokens: 32, messages }, `ui-ant-${i}`);
  await send('/v1/chat/completions', { model: 'gpt-mock', messages }, 'ui-oai-1');
  await send('/v1/chat/completions', { model: 'gpt-mock', messages, stream: true, stream_options: { include_usage: true } }, 'ui-oai-2');
  await send('/v1/messages', { model: 'claude-3-5-haiku-latest', max_tokens: 32, messages }, 'ui-bg-1');
  await send('/v1/chat/completions', { model: 'flaky', messages }, 'ui-fail-1');
  await send('/v1/chat/completions', { model: 'flaky', messages }, 'ui-fail-2');
  assert.deepEqual(
    sent.map((s) => s.status),
    [200, 200, 200, 200, 200, 200, 503, 503],
  );
  assert.equal(mock.stats.requests - before, 8);

  const context = await openBrowser(t);
  if (context === undefined) return;
  const page = await context.newPage();
  const external: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(gateway.url) && !request.url().startsWith('data:')) external.push(request.url());
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));

  await page.goto(`${gateway.url}/ui`);
  await page.locator('#login-key').waitFor({ state: 'visible', timeout: 5000 });

  // A wrong key is refused with a clear message and the dashboard stays hidden.
  await page.fill('#login-key', 'not-the-admin-key');
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await text(page, '#login-error'), /^Refused: A valid admin key is required/);
  assert.equal(await page.locator('#dash').isVisible(), false);

  await page.fill('#login-key', ADMIN_KEY);
  await page.click('#login-submit');
  await page.locator('#dash').waitFor({ state: 'visible', timeout: 5000 });
  await page.waitForFunction(`document.getElementById('v-requests')?.textContent === '8'`, undefined, { timeout: 8000 });

  assert.equal(await text(page, '#v-requests'), '8');
  assert.equal(await text(page, '#v-errors'), '2');
  assert.match(await text(page, '#s-errors'), /^25\.0 % /);
  assert.equal(await page.locator('#s-requests').getAttribute('title'), '8 since start');

  // Deployments with their breaker state and attempt counts.
  const row = (id: string) => page.locator(`#deployments tbody tr[data-id="${id}"]`);
  assert.equal(await row('ant/upstream-claude').locator('[data-state]').innerText(), 'closed');
  assert.equal(await row('ant/upstream-claude').locator('[data-col="attempts"]').innerText(), '3');
  assert.equal(await row('oai/upstream-gpt').locator('[data-col="attempts"]').innerText(), '3');
  assert.equal(await row('bad/upstream-bad').locator('[data-state]').innerText(), 'open');
  assert.equal(await row('bad/upstream-bad').locator('[data-col="failed"]').innerText(), '2');

  // Route rules with the traffic each decided.
  assert.equal(await page.locator('#routes tbody tr[data-rule="background"] td.num').innerText(), '1');
  assert.equal(await page.locator('#routes tbody tr[data-rule="model"] td.num').innerText(), '7');

  // Every request id, newest first, and why the failures failed.
  const ids = await page.locator('#recent tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  assert.deepEqual(ids, sent.map((s) => s.id).reverse());
  const failedRow = page.locator('#recent tbody tr[data-id="ui-fail-2"]');
  assert.equal(await failedRow.locator('td.code').innerText(), '503');
  assert.equal(await failedRow.locator('.chip.fail').innerText(), 'bad/upstream-bad · 503 upstream status');

  // Usage by model matches what was sent.
  assert.equal(await page.locator('#usage-model tbody tr[data-name="claude-mock"] td.num').first().innerText(), '3');
  assert.equal(await page.locator('#usage-model tbody tr[data-name="gpt-mock"] td.num').first().innerText(), '3');
  assert.equal(await page.locator('#usage-model tbody tr[data-name="flaky"] td.num').nth(1).innerText(), '2');
  // Cost from the deployment's prices: the mock answers 4 tokens in and 12 out, at $3000 and $15000 per million.
  assert.equal(await page.locator('#usage-model tbody tr[data-name="claude-mock"] td.num').last().innerText(), '$0.5760');
  assert.equal(await page.locator('#usage-model tbody tr[data-name="gpt-mock"] td.num').last().innerText(), '$0');
  assert.equal(await text(page, '#v-cost'), '$0.5760');

  // The config view is there, masked: no secret anywhere in the page.
  await page.waitForFunction(`(document.getElementById('config')?.textContent ?? '').includes('providers')`, undefined, { timeout: 5000 });
  const configText = await text(page, '#config');
  assert.match(configText, /••••••/);
  assert.match(configText, /"x-mock-fault": "status:503"/);
  const html = await page.content();
  for (const secret of SECRETS) {
    assert.equal(configText.includes(secret), false, `the config view shows ${secret}`);
    assert.equal(html.includes(secret), false, `the page shows ${secret}`);
  }

  // Charts drew the traffic.
  assert.ok((await page.locator('#chart-rate rect.bar-ok').count()) >= 1);
  assert.ok((await page.locator('#chart-rate rect.bar-err').count()) >= 1);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL('ui-1280.png', ARTIFACTS).pathname, fullPage: true });
  assert.ok((await sidewaysScroll(page)) <= 0, 'the page scrolls sideways at 1280px');

  for (const width of [2560, 390]) {
    await page.setViewportSize({ width, height: width > 1000 ? 1300 : 800 });
    await page.waitForTimeout(250); // the charts redraw 100 ms after a resize
    await page.screenshot({ path: new URL(`ui-${width}.png`, ARTIFACTS).pathname, fullPage: true });
    const overflow = await sidewaysScroll(page);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at ${width}px`);
  }

  assert.deepEqual(external, [], 'the page fetched something from outside the gateway');
  assert.deepEqual(pageErrors, []);
});
