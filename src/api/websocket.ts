/**
 * Subscriptions over graphql-ws, on the API's HTTP server and path.
 *
 * The socket is authenticated once, at `connection_init`: the router secret
 * (upgrade header or connection param) when one is configured, then the
 * user's JWT from the connection params (`authorization: "Bearer …"`). A
 * refused connection closes with 4403; one that never initialises closes
 * with 4408 after the init timeout. Each subscription is then authorized by
 * its resolver (a router deduplicates upstream subscriptions, so it must not
 * be trusted with per-user access), checked against the same limits as
 * queries, and counted against a per-socket cap. Frames are capped by
 * `maxPayload` in ws.
 */
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, parse, specifiedRules, validate, type GraphQLSchema, type ValidationRule } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GraphQLContext } from '../graphql/context.js';
import { ErrorCode } from '../graphql/errors.js';
import type { Metrics } from '../observability/metrics.js';
import { ROUTER_SECRET_HEADER, secretMatches, type Authenticator, type Viewer } from './auth.js';

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly context: (viewer: Viewer) => GraphQLContext;
  readonly authenticator: Authenticator;
  readonly routerSecret?: string | undefined;
  /** The same limits queries get (depth, aliases, cost…). */
  readonly validationRules: readonly ValidationRule[];
  readonly maxSubscriptionsPerSocket: number;
  readonly connectionInitTimeoutMs: number;
  /** Largest frame accepted, in bytes; ws closes the socket with 1009 above it. */
  readonly maxPayloadBytes: number;
  readonly metrics: Metrics;
}

// A type alias, not an interface: graphql-ws wants an indexable record.
type Extra = {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  viewer?: Viewer;
  subscriptions?: number;
};

const param = (params: Readonly<Record<string, unknown>> | undefined, name: string): string | undefined => {
  const value = params?.[name] ?? params?.[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
};

export function startSubscriptionServer(o: SubscriptionServerOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server: o.httpServer, path: o.path, maxPayload: o.maxPayloadBytes });
  wss.on('connection', (socket) => {
    o.metrics.live.sockets.inc();
    socket.once('close', () => o.metrics.live.sockets.dec());
  });
  const rules = [...specifiedRules, ...o.validationRules];

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: o.schema,
      connectionInitWaitTimeout: o.connectionInitTimeoutMs,
      onConnect: async (ctx: Context<Record<string, unknown> | undefined, Extra>) => {
        const params = ctx.connectionParams;
        if (o.routerSecret) {
          const given = ctx.extra.request.headers[ROUTER_SECRET_HEADER] ?? param(params, ROUTER_SECRET_HEADER);
          if (!secretMatches(Array.isArray(given) ? given[0] : given, o.routerSecret)) return false;
        }
        try {
          const viewer = await o.authenticator.viewer(param(params, 'Authorization'));
          if (viewer.kind === 'anonymous') return false;
          ctx.extra.viewer = viewer;
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const extra = ctx.extra;
        if ((extra.subscriptions ?? 0) >= o.maxSubscriptionsPerSocket) {
          return [new GraphQLError(`at most ${o.maxSubscriptionsPerSocket} subscriptions per connection`, { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: 2000 });
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
        }
        const errors = validate(o.schema, document, rules);
        if (errors.length > 0) return errors;
        extra.subscriptions = (extra.subscriptions ?? 0) + 1;
        return {
          schema: o.schema,
          document,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
          contextValue: o.context(extra.viewer!),
        };
      },
      onComplete: (ctx) => {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
      },
    },
    wss,
  );
  return {
    async close() {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export { CloseCode };
