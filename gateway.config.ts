/**
 * Hive Gateway's configuration for `npm run gateway` (and the compose
 * stack's gateway image): the supergraph that scripts/gateway.ts composes,
 * the client's Authorization forwarded to every subgraph, the router secret
 * added for this one, and subscriptions taken upstream over graphql-ws with
 * both as connection parameters. Clients subscribe over graphql-ws or SSE.
 */
import { defineConfig } from '@graphql-hive/gateway';

/** Header and subscription forwarding for a router secret (or none); shared with the tests' in-process gateway. */
export function forwarding(routerSecret: string | undefined) {
  const secret = routerSecret ? { 'router-authorization': routerSecret } : {};
  return {
    propagateHeaders: {
      fromClientToSubgraphs: ({ request, subgraphName }: { request: Request; subgraphName: string }) => ({
        ...(request.headers.get('authorization') ? { authorization: request.headers.get('authorization')! } : {}),
        ...(subgraphName === 'activity' ? secret : {}),
      }),
    },
    transportEntries: {
      '*.http': {
        options: {
          subscriptions: { kind: 'ws' as const, location: '/graphql', options: { connectionParams: { authorization: '{context.headers.authorization}', ...secret } } },
        },
      },
    },
  };
}

// `none` is the service's own opt-out of the router check (see README, Access).
const routerSecret = process.env.ROUTER_SECRET && process.env.ROUTER_SECRET !== 'none' ? process.env.ROUTER_SECRET : undefined;

export const gatewayConfig = defineConfig({
  supergraph: process.env.SUPERGRAPH_FILE ?? '.run/supergraph.graphql',
  // The composed file is written once at start; nothing to poll.
  pollingInterval: 0,
  ...forwarding(routerSecret),
});
