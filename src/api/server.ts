/**
 * The API role's HTTP server: GraphQL on /graphql (Apollo Server through its
 * Express integration), /health/live, /health/ready and /metrics.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../graphql/context.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { readiness, type DependencyCheck } from './health.js';

export interface ApiServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly schema: GraphQLSchema;
  readonly context: () => Promise<GraphQLContext>;
  readonly dependencies: readonly DependencyCheck[];
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Serve introspection queries (off in production unless asked for). */
  readonly introspection: boolean;
}

export interface ApiServer {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4001/graphql. */
  readonly url: string;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const app = express();
  const httpServer = createServer(app);
  const apollo = new ApolloServer<GraphQLContext>({
    schema: o.schema,
    introspection: o.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // Federated tracing feeds Apollo's usage reporting, which this service keeps off.
      ApolloServerPluginInlineTraceDisabled(),
    ],
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
  app.use('/graphql', express.json({ limit: '1mb' }), expressMiddleware(apollo, { context: o.context }));

  httpServer.listen(o.port, o.host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${o.host}:${port}/graphql`,
    httpServer,
    stop: () => apollo.stop(),
  };
}
