/**
 * The API role's HTTP server: GraphQL on /graphql (Apollo Server through its
 * Express integration), /health/live, /health/ready and /metrics.
 *
 * In front of GraphQL, in order: the router secret (when configured, any
 * caller without it is refused before any parsing), the caller's JWT (a bad
 * token is refused; none makes an anonymous viewer), then Apollo's CSRF
 * prevention, graphql-armor's depth, alias, token, directive and cost limits,
 * and the `_entities` cap inside the schema. Errors a client sees come from
 * the catalogue in graphql/errors.ts; anything else is masked and logged.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import express, { type RequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { ErrorCode, isRequestError, maskError } from '../graphql/errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { InvalidTokenError, ROUTER_SECRET_HEADER, secretMatches, type Authenticator, type Viewer } from './auth.js';
import { readiness, type DependencyCheck } from './health.js';
import { startSubscriptionServer, type SubscriptionServerOptions } from './websocket.js';

export interface ApiLimits {
  /** Serve introspection queries (off in production unless asked for). */
  readonly introspection: boolean;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
}

export interface ApiServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly schema: GraphQLSchema;
  /** A fresh context for one request of `viewer`. */
  readonly context: (viewer: Viewer) => GraphQLContext;
  readonly authenticator: Authenticator;
  /** When set, only callers sending it in the router-authorization header are served. */
  readonly routerSecret?: string | undefined;
  readonly limits: ApiLimits;
  readonly dependencies: readonly DependencyCheck[];
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Serve subscriptions over graphql-ws on the same path, with these bounds. */
  readonly subscriptions?: Pick<SubscriptionServerOptions, 'maxSubscriptionsPerSocket' | 'connectionInitTimeoutMs' | 'maxPayloadBytes'>;
}

export interface ApiServer {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4001/graphql. */
  readonly url: string;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

const errorBody = (code: ErrorCode, message: string) => ({ errors: [{ message, extensions: { code } }] });

/** Refuses callers that do not present the router secret: 401 without it, 403 with a wrong one. */
function routerGate(secret: string): RequestHandler {
  return (req, res, next) => {
    const given = req.get(ROUTER_SECRET_HEADER);
    if (given === undefined) res.status(401).json(errorBody(ErrorCode.UNAUTHENTICATED, 'Only the router may call this subgraph.'));
    else if (!secretMatches(given, secret)) res.status(403).json(errorBody(ErrorCode.FORBIDDEN, 'The router secret does not match.'));
    else next();
  };
}

/**
 * graphql-armor's token limit throws while parsing; Apollo treats that as an
 * unexpected error, and armor's handler for those re-throws it coded but
 * without a status, so Apollo answers 500. A request refused for its own
 * shape is the client's fault: re-throw it as a 400.
 */
function refusalsAre400(plugin: ApolloServerPlugin<GraphQLContext>): ApolloServerPlugin<GraphQLContext> {
  const handle = plugin.unexpectedErrorProcessingRequest?.bind(plugin);
  if (!handle) return plugin;
  return {
    ...plugin,
    async unexpectedErrorProcessingRequest(args) {
      try {
        await handle(args);
      } catch (error) {
        // Structural, not instanceof: armor loads as CommonJS, with its own GraphQLError class.
        const extensions = (error as { extensions?: Record<string, unknown> }).extensions;
        if (!isRequestError(extensions?.code)) throw error;
        throw new GraphQLError((error as Error).message, { extensions: { ...extensions, http: { status: 400 } } });
      }
    },
  };
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const app = express();
  const httpServer = createServer(app);
  const log = o.logger.child({ component: 'api' });
  const armor = new ApolloArmor({
    maxDepth: { n: o.limits.maxDepth },
    maxAliases: { n: o.limits.maxAliases },
    maxTokens: { n: o.limits.maxTokens },
    maxDirectives: { n: 50 },
    costLimit: { maxCost: 5000 },
    blockFieldSuggestion: { enabled: true },
  }).protect();
  const apollo = new ApolloServer<GraphQLContext>({
    schema: o.schema,
    introspection: o.limits.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    validationRules: [...armor.validationRules],
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS build; its plugins are plain hook objects.
      ...(armor.plugins as unknown as ApolloServerPlugin<GraphQLContext>[]).map(refusalsAre400),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // Federated tracing feeds Apollo's usage reporting, which this service keeps off.
      ApolloServerPluginInlineTraceDisabled(),
      // No cache hints here; left on, it wraps every field resolver of every request.
      ApolloServerPluginCacheControlDisabled(),
    ],
    formatError(formatted, error) {
      const masked = maskError(formatted);
      if (masked !== formatted) log.error({ err: error }, 'unexpected error in a GraphQL request');
      return masked;
    },
    logger: o.logger.child({ component: 'apollo' }),
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const stop = o.metrics.httpDuration.startTimer({ route: req.path });
    res.on('finish', () => {
      stop();
      o.metrics.httpRequests.inc({ route: req.path, status: String(res.statusCode) });
    });
    next();
  });
  app.get('/health/live', (_req, res) => {
    res.status(o.lifecycle.state === 'stopped' ? 503 : 200).json({ status: o.lifecycle.state });
  });
  app.get('/health/ready', async (_req, res) => {
    const report = await readiness(o.lifecycle, o.dependencies);
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
  const gate: RequestHandler[] = o.routerSecret ? [routerGate(o.routerSecret)] : [];
  app.use(
    '/graphql',
    ...gate,
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        try {
          return o.context(await o.authenticator.viewer(req.get('authorization')));
        } catch (error) {
          if (!(error instanceof InvalidTokenError)) throw error;
          throw new GraphQLError(error.message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
        }
      },
    }),
  );

  const ws = o.subscriptions
    ? startSubscriptionServer({
        ...o.subscriptions,
        httpServer,
        path: '/graphql',
        schema: o.schema,
        context: o.context,
        authenticator: o.authenticator,
        routerSecret: o.routerSecret,
        validationRules: armor.validationRules,
        metrics: o.metrics,
      })
    : undefined;

  httpServer.listen(o.port, o.host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${o.host}:${port}/graphql`,
    httpServer,
    async stop() {
      // Sockets first: their subscriptions end before the HTTP server drains.
      await ws?.close();
      await apollo.stop();
    },
  };
}
