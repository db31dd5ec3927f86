/**
 * src/api: the API's transports, thin adapters over graphql/policy.ts: HTTP
 * (server.ts) and graphql-ws (websocket.ts, ws-binding.ts). It may import
 * live/, graphql/, sync/, ingest/, stores/, access/, contracts/, features/
 * and the base modules; never collector/, demo/ or roles/.
 *
 * The API role's HTTP server (node:http): GraphQL on /graphql (Apollo Server's
 * executeHTTPGraphQLRequest), /health/live and /health/ready, the pages (an
 * Express router) on the rest; graphql-ws on the
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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express, { type Router } from 'express';
import { GraphQLError } from 'graphql';
import { ROUTER_SECRET_HEADER, type Session } from '../access/credentials.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { GraphQLPolicy } from '../graphql/policy.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { readiness, type DependencyCheck } from '../observability/health.js';
import { startSubscriptionServer, type SocketLimits } from './websocket.js';

/** Pending connections the kernel may queue for accept (see the listen call). */
const ACCEPT_BACKLOG = 4096;

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
const GRAPHQL_PATH = '/graphql';
const MAX_BODY_BYTES = 1024 * 1024;

/** A coded GraphQL-shaped error reply: what every refusal of this server looks like. */
function refuse(res: ServerResponse, status: number, message: string, code: string): void {
  const text = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Thrown for a body the server will not take: answered with its status and BAD_REQUEST. */
class BodyRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The body as text; past `MAX_BODY_BYTES` a 413, and the rest is read and dropped so the sender sees the answer. */
function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return req.resume(), reject(new BodyRefused(413, 'request entity too large'));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off('data', onData).resume();
      reject(new BodyRefused(413, 'request entity too large'));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** The body, parsed when it is JSON; Apollo refuses the rest itself (CSRF, content type) before it looks at it. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req);
  if (text.length === 0) return undefined;
  if (!/^application\/(.+\+)?json\b/i.test(req.headers['content-type'] ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BodyRefused(400, (error as Error).message);
  }
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const log = o.logger.child({ component: 'api' });
  const { policy } = o;
  // Pages are the only Express part: /graphql and health are served by node:http directly (a third of a small request was Express).
  const pages = o.pages ? express().disable('x-powered-by').use(o.pages) : undefined;
  // Stated, not left to defaults: a request's headers are bounded in size and in time.
  const httpServer = createServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = routeOf(path);
    const stop = o.metrics.httpDuration.startTimer({ route });
    res.once('finish', () => {
      stop();
      o.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
    });
    const failed = (error: unknown) => {
      log.error({ err: error }, 'unexpected error in an HTTP request');
      if (!res.headersSent) refuse(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    };
    if (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`)) return void graphql(req, res).catch(failed);
    if (path === '/health/live' && (req.method === 'GET' || req.method === 'HEAD')) return json(res, o.lifecycle.state === 'stopped' ? 503 : 200, { status: o.lifecycle.state });
    if (path === '/health/ready' && (req.method === 'GET' || req.method === 'HEAD')) {
      return void readiness(o.lifecycle, o.dependencies).then((report) => json(res, report.ready ? 200 : 503, report), failed);
    }
    if (pages) return void pages(req, res);
    refuse(res, 404, `Cannot ${req.method ?? 'GET'} ${path}`, 'NOT_FOUND');
  });
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

  /** Admission before the body is read (a caller without the router secret is refused unparsed), then Apollo. */
  async function graphql(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = (name: string) => req.headers[name] as string | undefined;
    let session: Session;
    try {
      session = await policy.admit({ routerSecret: header(ROUTER_SECRET_HEADER), authorization: header('authorization') });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      req.resume();
      return refuse(res, (error.extensions.http as { status: number }).status, error.message, error.extensions.code as string);
    }
    let body: unknown;
    try {
      body = await readBody(req);
    } catch (error) {
      if (!(error instanceof BodyRefused)) throw error;
      res.setHeader('connection', 'close'); // the rest of a refused body is not read
      return refuse(res, error.status, error.message, 'BAD_REQUEST');
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const reply = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: query < 0 ? '' : url.slice(query), body },
      context: async () => policy.context(session.viewer),
    });
    for (const [key, value] of reply.headers) res.setHeader(key, value);
    res.statusCode = reply.status ?? 200;
    if (reply.body.kind === 'complete') return void res.end(reply.body.string);
    for await (const chunk of reply.body.asyncIterator) res.write(chunk);
    res.end();
  }

  const ws = o.subscriptions ? startSubscriptionServer({ limits: o.subscriptions, httpServer, path: '/graphql', policy, metrics: o.metrics, logger: o.logger }) : undefined;

  // Clients reconnect together after an instance restarts: a deeper accept queue than Node's 511
  // (the kernel caps it at net.core.somaxconn) keeps a burst of handshakes from being reset.
  httpServer.listen({ port: o.port, host: o.host, backlog: ACCEPT_BACKLOG });
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
