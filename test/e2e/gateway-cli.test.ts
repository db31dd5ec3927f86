/**
 * `npm run gateway`: Hive Gateway's own CLI serving the composed supergraph
 * (gateway.config.ts) in front of the service, run as a separate process
 * with JWTs and the router check on, and the example legacy users subgraph.
 * A client's query joins the legacy `username` with the live `activityScore`;
 * a client's subscription is relayed upstream over graphql-ws with the
 * client's token and the router secret, and brings the user's next change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLegacyUsers } from '../../examples/legacy-users/server.js';
import { JWT_SECRET, ROUTER_SECRET, token } from '../support/api-harness.js';
import { query, sseSubscribe } from '../support/gateway.js';
import { freePort } from '../support/private-redis.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

describe('npm run gateway', () => {
  let service: ServiceProcess;
  let gateway: ServiceProcess;
  let users: Awaited<ReturnType<typeof startLegacyUsers>>;
  let url: string;
  let collector: string;

  beforeAll(async () => {
    const [port, collectorPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const secrets = { JWT_SECRET, ROUTER_SECRET };
    service = startServiceProcess(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', 'all'], {
      ...secrets,
      PORT: String(port),
      COLLECTOR_PORT: String(collectorPort),
      METRICS_PORT: '0',
      DEMO_TRAFFIC: 'off',
      LOG_LEVEL: 'warn',
    });
    users = await startLegacyUsers(0);
    const activity = (await service.printed(/GraphQL: (\S+)/))[1]!;
    await service.printed(/Collector: /);
    collector = `http://127.0.0.1:${collectorPort}/v1/events`;
    gateway = startServiceProcess('npm', ['run', 'gateway', '--', '--activity', activity, '--users', `${users.url}graphql`, '--port', String(gatewayPort)], { ROUTER_SECRET });
    await gateway.printed(new RegExp(`Listening on http://127\\.0\\.0\\.1:${gatewayPort}`), 60_000);
    url = `http://127.0.0.1:${gatewayPort}/graphql`;
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await service?.stop();
    await users?.stop();
  });

  const purchase = (userId: string, n: number) =>
    fetch(collector, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: `${userId}-buy-${n}`, userId, type: 'PURCHASE', itemId: 'book-1', occurredAt: new Date().toISOString() }),
    }).then((r) => r.status);

  it('answers a query that joins username from the legacy subgraph with activityScore from this one', async () => {
    expect(await purchase('u7', 1)).toBe(202);
    const reader = await token('u7');
    let body: Awaited<ReturnType<typeof query>> = {};
    await waitFor(async () => ((body = await query(url, '{ user(id: "u7") { username activityScore tier } }', reader)) as { data?: { user?: { activityScore: number } } }).data?.user?.activityScore !== 0, {
      timeoutMs: 10_000,
      what: 'u7’s score through the gateway',
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ user: { username: 'user7', activityScore: expect.any(Number) as number, tier: 'BRONZE' } });
    expect((body.data as { user: { activityScore: number } }).user.activityScore).toBeGreaterThan(0);
    // Without a token the gateway's request reaches the service unauthenticated, and is refused there.
    const anonymous = await query(url, '{ user(id: "u7") { activityScore } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('relays a subscription: the snapshot at once, then the change a new event makes, joined with username', async () => {
    const sub = sseSubscribe(url, 'subscription { userActivityChanged(userId: "u8") { username activityScore features { version } } }', await token('u8'));
    try {
      await waitFor(() => sub.events.length >= 1, { timeoutMs: 15_000, what: 'the first push through the gateway' });
      expect(sub.events[0]).toEqual({ data: { userActivityChanged: { username: 'user8', activityScore: 0, features: { version: 0 } } } });
      expect(await purchase('u8', 1)).toBe(202);
      await waitFor(() => sub.events.length >= 2, { timeoutMs: 15_000, what: 'the push of u8’s purchase' });
      const next = sub.events[1] as { data: { userActivityChanged: { username: string; activityScore: number; features: { version: number } } } };
      expect(next.data.userActivityChanged.username).toBe('user8');
      expect(next.data.userActivityChanged.features.version).toBe(1);
      expect(next.data.userActivityChanged.activityScore).toBeGreaterThan(0);
    } finally {
      sub.close();
    }
  });
});
