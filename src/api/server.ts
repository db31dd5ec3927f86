/**
 * src/api: the API's transports, thin adapters over graphql/policy.ts: HTTP
 * (server.ts) and graphql-ws (websocket.ts, ws-binding.ts). It may import
 * live/, graphql/, sync/, ingest/, stores/, access/, contracts/, features/
 * and the base modules; never collector/, demo/ or roles/.
 *
 * The API role's HTTP server: GraphQL on /graphql (Apollo Server through its
 * Express integration), /health/live and /health/ready; graphql-ws on the
 * same path when subscriptions are served. Metrics are served apart
 * (observability/metrics-server.ts).
 *
 * A thin adapter over the GraphQL policy (graphql/policy.ts), which the
 * socket adapter shares: the credentials are admitted before the body is
 * read (a caller without the router secret is refused before any parsing),
 * then Apollo's CSRF prevention, and the policy's parse options, validation
 * rules and error formatting. HTTP alone adds what only HTTP has: CSRF
 * prevention, no batched requests, a body limit.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type RequestHandler, type Router } from 'express';
import { GraphQLError } from 'graphql';
import { ROUTER_SECRET_HEADER, type Session } from '../access/credentials.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { GraphQLPolicy } from '../graphql/policy.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { readiness, type DependencyCheck } from '../observability/health.js';
import { startSubscriptionServer, type SocketLimits } from './websocket.js';

export interface ApiServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly policy: GraphQLPolicy;
  readonly dependencies: readonly DependencyCheck[];
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Serve subscriptions over graphql-ws on the same path, with these bounds. */
  readonly subscriptions?: SocketLimits;
  /** Pages served beside the API (the live demo page at `/`). */
  readonly pages?: Router;
}

export interface ApiServer {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4001/graphql. */
  readonly url: string;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

/** The only values of the `route` label: a path an attacker makes up must not add a time series. */
const ROUTES = new Set(['/', '/graphql', '/health/live', '/health/ready']);
const routeOf = (path: string) => (ROUTES.has(path) ? path : 'other');

/** Admits the caller before the body is read; a refusal is answered at once, coded, with its status. */
function admission(policy: GraphQLPolicy): RequestHandler {
  return (req, res, next) => {
    policy.admit({ routerSecret: req.get(ROUTER_SECRET_HEADER), authorization: req.get('authorization') }).then(
      (session) => {
        res.locals.session = session;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof GraphQLError)) return next(error);
        const status = (error.extensions.http as { status: number }).status;
        res.status(status).json({ errors: [{ message: error.message, extensions: { code: error.extensions.code } }] });
      },
    );
  };
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const app = express();
  // Stated, not left to defaults: a request's headers are bounded in size and in time.
  const httpServer = createServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, app);
  const log = o.logger.child({ component: 'api' });
  const { policy } = o;
  const apollo = new ApolloServer<GraphQLContext>({
    schema: policy.schema,
    // The policy's rules refuse introspection where it is off, on both transports alike.
    introspection: true,
    parseOptions: policy.parseOptions,
    validationRules: [...policy.validationRules],
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // Federated tracing feeds Apollo's usage reporting, which this service keeps off.
      ApolloServerPluginInlineTraceDisabled(),
      // No cache hints here; left on, it wraps every field resolver of every request.
      ApolloServerPluginCacheControlDisabled(),
    ],
    formatError: (formatted, error) => policy.formatError(formatted, error),
    logger: o.logger.child({ component: 'apollo' }),
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const route = routeOf(req.path);
    const stop = o.metrics.httpDuration.startTimer({ route });
    res.on('finish', () => {
      stop();
      o.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
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
  app.use(
    '/graphql',
    admission(policy),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, { context: async ({ res }) => policy.context((res.locals.session as Session).viewer) }),
  );
  if (o.pages) app.use(o.pages);
  // Express's own handler would answer a malformed body with an HTML page and, outside production, a stack.
  app.use(((error: unknown, _req, res, _next) => {
    const { status: given, message } = error as { status?: unknown; message?: unknown };
    const status = typeof given === 'number' && given >= 400 && given < 500 ? given : 500;
    if (status === 500) log.error({ err: error }, 'unexpected error in an HTTP request');
    const body = status === 500 ? { message: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' } : { message: String(message), code: 'BAD_REQUEST' };
    res.status(status).json({ errors: [{ message: body.message, extensions: { code: body.code } }] });
  }) as express.ErrorRequestHandler);

  const ws = o.subscriptions ? startSubscriptionServer({ limits: o.subscriptions, httpServer, path: '/graphql', policy, metrics: o.metrics, logger: o.logger }) : undefined;

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
