/**
 * The live page in a real browser: Debian's Chromium (installed by
 * `scripts/services.sh browser` when missing) driven by playwright-core, over
 * the embedded service as `npm run dev` starts it. A PURCHASE clicked on the
 * page goes through the collector and the processor, and comes back as a push
 * that changes the user's score and tier and brings recommendations. The
 * screenshot is the one the README shows (docs/live-page.png).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEvent, DEMO_USERS } from '../../src/demo/traffic.js';
import { random } from '../support/processor-harness.js';
import { freePort } from '../support/private-redis.js';
import { ROOT, startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
/** Flags for a closed network: no background connections, no updates, a throwaway profile. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('the live page in Chromium', () => {
  let service: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let collector: string;
  let base: string;

  beforeAll(async () => {
    const executablePath = (await run('bash', [join(ROOT, 'scripts/services.sh'), 'browser'], { env: { ...process.env, APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' } })).stdout.trim().split('\n').pop()!;
    const [port, collectorPort] = [await freePort(), await freePort()];
    // The embedded service, as `npm run dev` runs it, without its own demo traffic: this test sends what moves.
    service = startServiceProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'all'], {
      PORT: String(port),
      COLLECTOR_PORT: String(collectorPort),
      METRICS_PORT: '0',
      DEMO_TRAFFIC: 'off',
      LOG_LEVEL: 'warn',
    });
    await service.printed(/Live page: /, 60_000);
    await service.printed(/Collector: /, 60_000);
    base = `http://127.0.0.1:${port}`;
    collector = `http://127.0.0.1:${collectorPort}/v1/events`;
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows a PURCHASE clicked for a user as a new score, a new tier and recommendations from it, pushed over graphql-ws', async () => {
    // Every other demo user gets some history (so items co-occur); demo-user-1 gets none.
    const rng = random(7);
    const others = Array.from({ length: 400 }, (_, i) => demoEvent(rng, Date.now(), `seed-${i}`)).filter((e) => e.userId !== DEMO_USERS[0]);
    // The clicked item surely has neighbours: two users bought book-1 and viewed game-4.
    const pair = ['demo-user-2', 'demo-user-3'].flatMap((userId, i) => [
      { eventId: `pair-${i}-a`, userId, type: 'PURCHASE', itemId: 'book-1', occurredAt: new Date().toISOString() },
      { eventId: `pair-${i}-b`, userId, type: 'VIEW', itemId: 'game-4', occurredAt: new Date().toISOString() },
    ]);
    const seeded = await fetch(collector, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([...others, ...pair]) });
    expect(await seeded.json()).toEqual({ accepted: others.length + pair.length, rejected: [] });

    await page.goto(`${base}/`);
    const card = page.locator(`[data-user="${DEMO_USERS[0]}"]`);
    const text = (selector: string) => card.locator(selector).innerText();
    await waitFor(async () => (await page.locator('#socket').innerText()) === 'open', { timeoutMs: 15_000, what: 'the page’s socket to open' });
    // The snapshot came: an unknown user, nothing to recommend on its own items.
    await waitFor(async () => (await text('.version')) === 'v0', { timeoutMs: 15_000, what: 'the first snapshot of demo-user-1' });
    expect(await text('.score')).toBe('0.00');
    expect(await text('.tier')).toBe('BRONZE');
    // With nothing of its own to go on, the user is shown trending items at most.
    expect((await card.locator('.recs li').allInnerTexts()).every((r) => r.endsWith('(trending)'))).toBe(true);
    await waitFor(async () => (await page.locator('[data-user="demo-user-2"] .version').innerText()) !== 'v0', { timeoutMs: 15_000, what: 'the seeded users to show activity' });

    // Three purchases of book-1 (S = 3 × 10, 100·(1 − e^(−30/50)) ≈ 45) cross SILVER's 40.
    await card.locator('select.item').selectOption('book-1');
    for (let clicks = 1; clicks <= 3; clicks++) {
      await card.locator('button[data-type="PURCHASE"]').click();
      await waitFor(async () => (await text('.buys')) === String(clicks), { timeoutMs: 10_000, what: `purchase ${clicks} on the page` });
    }
    await waitFor(async () => (await text('.tier')) === 'SILVER', { timeoutMs: 10_000, what: 'the tier to change' });
    expect(Number(await text('.score'))).toBeGreaterThan(40);
    expect(await card.locator('.recent li').allInnerTexts()).toEqual(['book-1']);
    // The recommendations the page shows are the API's, for reasons of the user's own purchase.
    const served = async () => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ _entities(representations: [{ __typename: "User", id: "${DEMO_USERS[0]}" }]) { ... on User { recommendations(limit: 5) { item { id } reason } } } }` }),
      });
      const body = (await res.json()) as { data: { _entities: { recommendations: { item: { id: string }; reason: string }[] }[] } };
      return body.data._entities[0]!.recommendations.map((r) => `${r.item.id} (${r.reason.toLowerCase().replace('_', ' ')})`);
    };
    let shown: string[] = [];
    let expected: string[] = [];
    await waitFor(
      async () => {
        [shown, expected] = await Promise.all([card.locator('.recs li').allInnerTexts(), served()]);
        return shown.length > 0 && JSON.stringify(shown) === JSON.stringify(expected) && shown.every((r) => r.includes('(also '));
      },
      { timeoutMs: 10_000, what: 'recommendations from the purchase, as the API serves them' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the page shows ${JSON.stringify(shown)}, the API ${JSON.stringify(expected)}`);
    });
    expect(shown.some((r) => r.startsWith('book-1'))).toBe(false);
    expect(await card.locator('.error').innerText()).toBe('');
    await page.screenshot({ path: join(ROOT, 'docs/live-page.png') });
  }, 120_000);
});
