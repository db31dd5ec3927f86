/** Starts the API (HTTP and graphql-ws) on a free loopback port over the given store, for transport-level tests. */
import { SignJWT } from 'jose';
import { createAuthenticator } from '../../src/access/credentials.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import type { Config } from '../../src/config.js';
import { createContextFactory, type LiveDeps } from '../../src/graphql/context.js';
import { createGraphQLPolicy } from '../../src/graphql/policy.js';
import { createSubgraphSchema } from '../../src/graphql/schema.js';
import { Lifecycle } from '../../src/lifecycle.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { ItemGraphStore } from '../../src/stores/item-graph.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import type { UserStateStore } from '../../src/stores/user-state.js';

export const JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long';
export const ROUTER_SECRET = 'router-secret-0123456789';

export function token(sub: string, scope?: string, secret = JWT_SECRET): Promise<string> {
  return new SignJWT(scope ? { scope } : {}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(Buffer.from(secret));
}

export async function startApi(
  config: Config,
  store: UserStateStore,
  itemGraph: ItemGraphStore = createMemoryItemGraphStore(config.recommendations),
  opts: { live?: LiveDeps; metrics?: Metrics } = {},
): Promise<ApiServer & { lifecycle: Lifecycle }> {
  const logger = createLogger('silent');
  const lifecycle = new Lifecycle(logger);
  const api = await startApiServer({
    host: '127.0.0.1',
    port: 0,
    policy: createGraphQLPolicy({
      schema: createSubgraphSchema({ maxRepresentations: config.api.maxEntityRepresentations }),
      limits: config.api,
      authenticator: createAuthenticator(config.auth),
      context: createContextFactory({
        userStates: store,
        itemGraph,
        features: config.features,
        recommendations: config.recommendations,
        maxBatchSize: config.api.entityBatchSize,
        ...(opts.live ? { live: opts.live } : {}),
      }),
    }),
    subscriptions: config.api.subscriptions,
    dependencies: [{ name: 'redis', check: () => store.ping() }],
    lifecycle,
    metrics: opts.metrics ?? createMetrics(),
    logger,
  });
  lifecycle.ready();
  return Object.assign(api, { lifecycle });
}

export interface GraphQLResponse {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** POSTs a GraphQL request as the router would: JSON, with the router secret and the user's token. */
export async function post(url: string, query: string, opts: { variables?: unknown; token?: string; routerSecret?: string | null } = {}): Promise<GraphQLResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.routerSecret !== null) headers['router-authorization'] = opts.routerSecret ?? ROUTER_SECRET;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables: opts.variables }) });
  return { status: res.status, body: (await res.json()) as GraphQLResponse['body'] };
}
