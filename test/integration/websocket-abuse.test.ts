/**
 * The socket transport under abuse (fault rows 27, 29 and 38): handshake
 * misuse, subscription and socket caps, oversized and fragmented frames, a
 * header flood, a token that expires while subscribed, and a store failure
 * inside one subscription. Real sockets on loopback; the live updates come
 * from a hub the test publishes to.
 */
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyError } from '../../src/errors.js';
import { DEFAULT_USER_STATE, type UserState } from '../../src/features/state.js';
import type { LiveDeps } from '../../src/graphql/context.js';
import { createItemGraphLoader } from '../../src/graphql/loaders/item-graph-loader.js';
import { UpdateHub } from '../../src/graphql/subscriptions/hub.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import { JWT_SECRET, ROUTER_SECRET, startApi, token } from '../support/api-harness.js';
import { isolatedConfig } from '../support/processor-harness.js';
import { connectionParams, RawSocket } from '../support/transports.js';
import { waitFor } from '../support/wait-for.js';

const QUERY = 'subscription ($id: ID!) { userActivityChanged(userId: $id) { id features { version } } }';

/** Live updates the test drives: `bump` gives a user a newer version and wakes its subscribers. */
function fakeLive(config: ReturnType<typeof isolatedConfig>) {
  const hub = new UpdateHub();
  const versions = new Map<string, number>();
  const live: LiveDeps = {
    hub,
    load: async (userId): Promise<UserState> => {
      if (userId === 'broken') throw new DependencyError('redis', new Error('Connection is closed.'));
      if (userId === 'boom') throw new Error('TypeError at /srv/app/secret.ts:7');
      return { ...DEFAULT_USER_STATE, version: versions.get(userId) ?? 0 };
    },
    itemGraph: createItemGraphLoader(createMemoryItemGraphStore(config.recommendations), { maxBatchSize: 100, trendingCount: 10, clock: Date.now, cache: false }),
    pushed: () => undefined,
    opened: () => undefined,
  };
  const bump = (userId: string) => {
    const version = (versions.get(userId) ?? 0) + 1;
    versions.set(userId, version);
    hub.publish(userId, { version, eventTime: Date.now() });
    return version;
  };
  return { live, bump };
}

async function startSocketApi(extra: Record<string, string>) {
  const config = isolatedConfig({ JWT_SECRET, NODE_ENV: 'production', WS_INIT_TIMEOUT_MS: '500', ...extra });
  const { live, bump } = fakeLive(config);
  const metrics = createMetrics();
  const api = await startApi(config, createMemoryUserStateStore(config.features), undefined, { live, metrics });
  const sockets = async () => (await metrics.live.sockets.get()).values[0]?.value ?? 0;
  return { wsUrl: api.url.replace('http://', 'ws://'), url: api.url, bump, sockets, stop: () => api.stop() };
}

/** A socket admitted as `sub` (with the router secret unless `routerSecret: null`). */
async function admitted(wsUrl: string, sub: string, opts: { scope?: string; routerSecret?: string | null } = {}): Promise<RawSocket> {
  const socket = new RawSocket(wsUrl);
  const ack = await socket.init(connectionParams({ token: await token(sub, opts.scope), routerSecret: opts.routerSecret }));
  if (ack !== 'ack') throw new Error(`socket for ${sub} closed with ${ack}`);
  return socket;
}

const versionsOf = (socket: RawSocket, id: string) =>
  socket.results(id).next.map((r) => (r.data as { userActivityChanged: { features: { version: number } } }).userActivityChanged.features.version);

describe('graphql-ws under abuse', () => {
  let routed: Awaited<ReturnType<typeof startSocketApi>>;
  let direct: Awaited<ReturnType<typeof startSocketApi>>;
  const sockets: RawSocket[] = [];
  const track = (s: RawSocket) => (sockets.push(s), s);

  beforeAll(async () => {
    routed = await startSocketApi({ ROUTER_SECRET, WS_MAX_SUBSCRIPTIONS_PER_ROUTER_SOCKET: '500', WS_MAX_SOCKETS_PER_USER: '3' });
    direct = await startSocketApi({ ROUTER_SECRET: 'none', WS_MAX_SOCKETS: '6', WS_MAX_SOCKETS_PER_USER: '3' });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await routed.stop();
    await direct.stop();
  });

  it('closes a socket that never initialises (4408) and one that subscribes before init (4401) (row 27)', async () => {
    const silent = track(new RawSocket(routed.wsUrl));
    const started = Date.now();
    await silent.until(() => silent.closed, 'the init timeout');
    expect(silent.closed!.code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    const eager = track(new RawSocket(routed.wsUrl));
    await eager.until(() => (eager.ws.readyState === WebSocket.OPEN ? true : undefined), 'open');
    eager.subscribe('1', QUERY, { id: 'alice' });
    await eager.until(() => eager.closed, 'the close');
    expect(eager.closed!.code).toBe(4401);
  });

  it('closes a socket that reuses a live subscription id (4409) (row 29)', async () => {
    const socket = track(await admitted(routed.wsUrl, 'alice'));
    socket.subscribe('same', QUERY, { id: 'alice' });
    await socket.until(() => (socket.results('same').next.length > 0 ? true : undefined), 'the snapshot');
    socket.subscribe('same', QUERY, { id: 'alice' });
    await socket.until(() => socket.closed, 'the close');
    expect(socket.closed!.code).toBe(4409);
  });

  it('caps subscriptions: 1,000 asked on a router’s socket get its 500, on a client’s socket the default 100', async () => {
    for (const [api, cap, routerSecret] of [[routed, 500, undefined], [direct, 100, null]] as const) {
      const socket = track(await admitted(api.wsUrl, 'indexer', { scope: 'activity:read:any', routerSecret }));
      for (let i = 0; i < 1_000; i++) socket.subscribe(`s${i}`, QUERY, { id: `user-${i}` });
      const settled = () => Array.from({ length: 1_000 }, (_, i) => socket.results(`s${i}`));
      await waitFor(() => settled().every((r) => r.next.length > 0 || r.error), { timeoutMs: 20_000, what: '1,000 answers' });
      const refused = settled().filter((r) => r.error);
      expect(settled().filter((r) => r.next.length > 0)).toHaveLength(cap);
      expect(refused).toHaveLength(1_000 - cap);
      expect(refused[0]!.error).toEqual([{ message: `at most ${cap} subscriptions per connection`, extensions: { code: 'BAD_USER_INPUT' } }]);
      expect(socket.closed).toBeUndefined();
      socket.close();
    }
  });

  it('closes a socket that sends a 2 MB frame (1009), and survives', async () => {
    const socket = track(await admitted(routed.wsUrl, 'alice'));
    socket.ws.send('x'.repeat(2 * 1024 * 1024));
    await socket.until(() => socket.closed, 'the close');
    expect(socket.closed!.code).toBe(1009);
    track(await admitted(routed.wsUrl, 'alice')).close();
  });

  it('caps a client’s sockets per user at init (4029), not a router’s, and every socket per instance at the upgrade (503 with Retry-After)', async () => {
    const viaRouter = [];
    for (let i = 0; i < 5; i++) viaRouter.push(track(await admitted(routed.wsUrl, 'carol')));
    for (const s of viaRouter) s.close();

    const carols = [];
    for (let i = 0; i < 3; i++) carols.push(track(await admitted(direct.wsUrl, 'carol', { routerSecret: null })));
    const fourth = track(new RawSocket(direct.wsUrl));
    expect(await fourth.init(connectionParams({ token: await token('carol'), routerSecret: null }))).toBe(4029);
    expect(fourth.closed!.reason).toBe('Too many sockets for this user');
    track(await admitted(direct.wsUrl, 'dave', { routerSecret: null })).close();
    carols[0]!.close();
    await waitFor(async () => {
      const again = new RawSocket(direct.wsUrl);
      const ack = await again.init(connectionParams({ token: await token('carol'), routerSecret: null }));
      again.close();
      return ack === 'ack';
    }, { what: 'a freed slot for carol' });
    for (const s of carols) s.close();
    await waitFor(async () => ((await direct.sockets()) === 0), { what: 'carol’s sockets to close' });

    const open = [];
    for (let i = 0; i < 6; i++) open.push(track(await admitted(direct.wsUrl, `u${i}`, { routerSecret: null })));
    const refused = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const ws = new WebSocket(direct.wsUrl, 'graphql-transport-ws');
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
      });
      ws.on('open', () => reject(new Error('the seventh socket was accepted')));
      ws.on('error', () => undefined);
    });
    expect(refused).toEqual({ status: 503, retryAfter: '5', body: JSON.stringify({ errors: [{ message: 'Too many sockets on this instance; try again shortly.', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }) });
    for (const s of open) s.close();
  });

  it('survives a 2,000-header upgrade flood and a 1-byte fragment flood, within 64 MB of RSS (row 29)', async () => {
    const rssBefore = process.memoryUsage().rss;
    const { port } = new URL(routed.url);
    const flood = () =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let reply = '';
        socket.on('data', (c) => (reply += c.toString()));
        socket.on('close', () => resolve(reply.split('\r\n', 1)[0]!));
        socket.on('error', () => undefined);
        const headers = Array.from({ length: 2_000 }, (_, i) => `x-flood-${i}: ${'a'.repeat(16)}`).join('\r\n');
        socket.write(`GET /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n\r\n`);
      });
    const replies = await Promise.all(Array.from({ length: 50 }, flood));
    expect(new Set(replies)).toEqual(new Set(['HTTP/1.1 431 Request Header Fields Too Large']));

    const fragmenters = await Promise.all(Array.from({ length: 10 }, (_, i) => admitted(routed.wsUrl, `flood-${i}`)));
    for (const s of fragmenters) {
      track(s);
      for (let i = 0; i < 5_000 && s.ws.readyState === WebSocket.OPEN; i++) s.ws.send('x', { fin: false });
    }
    await Promise.all(fragmenters.map((s) => s.until(() => s.closed, 'the close')));
    expect(new Set(fragmenters.map((s) => s.closed!.code))).toEqual(new Set([1008]));

    const after = track(await admitted(routed.wsUrl, 'erin'));
    after.subscribe('1', QUERY, { id: 'erin' });
    await after.until(() => (after.results('1').next.length > 0 ? true : undefined), 'a snapshot after the floods');
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('closes a socket with 4403 when its token expires; the other sockets live on (row 38)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const short = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('frank').setExpirationTime(exp).sign(Buffer.from(JWT_SECRET));
    const expiring = track(new RawSocket(routed.wsUrl));
    expect(await expiring.init(connectionParams({ token: short }))).toBe('ack');
    expiring.subscribe('1', QUERY, { id: 'frank' });
    const other = track(await admitted(routed.wsUrl, 'grace'));
    other.subscribe('1', QUERY, { id: 'grace' });
    await other.until(() => (other.results('1').next.length > 0 ? true : undefined), 'grace’s snapshot');

    await expiring.until(() => expiring.closed, 'the expiry', 5_000);
    const closedAt = Date.now();
    expect(expiring.closed).toEqual({ code: 4403, reason: 'Token expired' });
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000 - 50);
    expect(closedAt).toBeLessThan(exp * 1000 + 1_000);

    const version = routed.bump('grace');
    await other.until(() => (versionsOf(other, '1').includes(version) ? true : undefined), 'grace’s push after frank’s expiry');
    expect(other.closed).toBeUndefined();
  });

  it('ends only the subscription whose store read fails, with a coded error; the socket and its others live on', async () => {
    const socket = track(await admitted(routed.wsUrl, 'monitor', { scope: 'activity:read:any' }));
    socket.subscribe('ok', QUERY, { id: 'heidi' });
    await socket.until(() => (socket.results('ok').next.length > 0 ? true : undefined), 'heidi’s snapshot');
    socket.subscribe('down', QUERY, { id: 'broken' });
    socket.subscribe('bug', QUERY, { id: 'boom' });
    const down = await socket.ended('down');
    const bug = await socket.ended('bug');
    expect(down.error).toEqual([{ message: 'The activity data is unavailable right now; try again shortly.', extensions: { code: 'SERVICE_UNAVAILABLE' } }]);
    expect(bug.error).toEqual([{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    const version = routed.bump('heidi');
    await socket.until(() => (versionsOf(socket, 'ok').includes(version) ? true : undefined), 'heidi’s push');
    expect(socket.closed).toBeUndefined();
  });
});
