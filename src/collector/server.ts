/**
 * src/collector: the HTTP front door for events: parsing and validation
 * (intake.ts, with contracts/activity-event.ts), rate limits (rate-limit.ts)
 * and the acknowledged produce to Kafka (producer.ts). It may import ingest/
 * and what lies below it; never api/ or roles/.
 *
 * The collector's HTTP server (node:http): `POST /v1/events` and health.
 *
 * In order, for an event request: CORS (browser origins from an
 * allow-list, preflight answered), the app key (`X-App-Key`, or `?appKey=`
 * for beacons; 401 when unknown), the content type (415), the declared and
 * the streamed body size (413, keeping none of the rest), the events
 * (intake.ts: 400 when none is valid), the per-app and per-IP limits (429
 * with Retry-After), then Kafka's acknowledgement of the valid ones: 202, or
 * 503 with Retry-After past `ackTimeoutMs`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import type { FeatureParams } from '../features/params.js';
import type { Lifecycle } from '../lifecycle.js';
import { readiness, type DependencyCheck } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BodyError, formatOf, intake } from './intake.js';
import type { EventProducer } from './producer.js';
import type { EventLimiter } from './rate-limit.js';

export interface CollectorOptions {
  readonly config: Config['collector'];
  readonly bounds: Pick<FeatureParams, 'maxEventAgeMs' | 'maxClockSkewMs'>;
  readonly producer: EventProducer;
  readonly limiter: EventLimiter;
  readonly dependencies: readonly DependencyCheck[];
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock?: () => number;
}

export interface CollectorServer {
  /** e.g. http://127.0.0.1:4003 */
  readonly url: string;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

const EVENTS_PATH = '/v1/events';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

const refusal = (message: string) => ({ accepted: 0, rejected: [], error: message });

/** How long the rest of a refused body is let through (and dropped), so the sender can read the 413. */
const LINGER_MS = 2000;

/**
 * After a 413: drops what the sender is still uploading, for a while, then
 * drops the connection. Closing at once would make most clients (fetch
 * among them) fail writing the body and never see the answer; nothing of it
 * is kept.
 */
function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  req.once('end', () => clearTimeout(timer));
  req.resume();
}

/** The body as text, or undefined once past `max` (then paused: see discardRest). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

export async function startCollectorServer(o: CollectorOptions): Promise<CollectorServer> {
  const c = o.config;
  const clock = o.clock ?? Date.now;
  const log = o.logger.child({ component: 'collector' });
  const m = o.metrics.collector;
  const keyed = Object.keys(c.appKeys).length > 0;
  const anyOrigin = c.corsOrigins.includes('*');

  /** Sets the CORS headers for an allowed origin; false for a browser origin not on the list. */
  function cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (!anyOrigin && !c.corsOrigins.includes(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'origin');
    return true;
  }

  async function events(req: IncomingMessage, res: ServerResponse, url: URL, done: (status: number, app: string) => void): Promise<void> {
    const given = (req.headers['x-app-key'] as string | undefined) ?? url.searchParams.get('appKey') ?? undefined;
    const app = keyed ? (given === undefined ? undefined : c.appKeys[given]) : 'default';
    if (app === undefined) return done(401, 'unknown'), send(res, 401, refusal('an app key (X-App-Key or ?appKey=) of a configured app is required'));
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => (done(status, app), send(res, status, body, headers));

    const format = formatOf(req.headers['content-type']);
    if (format === undefined) return answer(415, refusal('send application/json, text/plain (JSON) or application/x-ndjson'));
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => (answer(413, refusal(`at most ${c.maxBodyBytes} bytes per request`)), discardRest(req));
    if (declared > c.maxBodyBytes) return tooLarge();
    const body = await readBody(req, c.maxBodyBytes);
    if (body === undefined) return tooLarge();
    m.bodyBytes.observe(Buffer.byteLength(body));

    const receivedAt = clock();
    let result;
    try {
      result = intake(body, format, receivedAt, { ...o.bounds, maxBatch: c.maxBatch });
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      if (error.status === 400) m.events.inc({ outcome: 'rejected', reason: 'not_json' });
      return answer(error.status, error.status === 400 ? { accepted: 0, rejected: [{ index: 0, errors: [{ path: '(root)', message: error.message }] }] } : refusal(error.message));
    }
    const { accepted, rejected } = result;
    if (rejected.length > 0) m.events.inc({ outcome: 'rejected', reason: 'invalid' }, rejected.length);
    if (accepted.length === 0) return answer(400, { accepted: 0, rejected });

    const verdict = await o.limiter.take(app, req.socket.remoteAddress ?? 'unknown', accepted.length);
    if (!verdict.ok) {
      m.rateLimited.inc({ scope: verdict.scope });
      return answer(429, refusal(`over the ${verdict.scope === 'app' ? 'app' : 'client address'}'s event rate; retry after ${verdict.retryAfterSeconds} s`), { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    const stop = m.produceDuration.startTimer();
    try {
      await o.producer.send(accepted, { receivedAt, app }, c.ackTimeoutMs);
    } catch (error) {
      log.warn({ err: error, events: accepted.length }, 'Kafka did not acknowledge; answered 503');
      return answer(503, refusal('Kafka did not acknowledge in time; send the same events again (same eventIds) shortly'), { 'retry-after': '1' });
    } finally {
      stop();
    }
    m.events.inc({ outcome: 'accepted', reason: '' }, accepted.length);
    answer(202, { accepted: accepted.length, rejected });
  }

  const httpServer = createServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://collector');
    const done = (status: number, app: string) => m.requests.inc({ status: String(status), app });
    if (url.pathname === '/health/live' && req.method === 'GET') return send(res, o.lifecycle.state === 'stopped' ? 503 : 200, { status: o.lifecycle.state });
    if (url.pathname === '/health/ready' && req.method === 'GET') {
      return void readiness(o.lifecycle, o.dependencies).then((r) => send(res, r.ready ? 200 : 503, r));
    }
    if (url.pathname !== EVENTS_PATH) return done(404, 'unknown'), send(res, 404, refusal('not found'));
    if (!cors(req, res)) return done(403, 'unknown'), send(res, 403, refusal('this origin may not send events'));
    if (req.method === 'OPTIONS') {
      return res.writeHead(204, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type, x-app-key', 'access-control-max-age': '600' }).end();
    }
    if (req.method !== 'POST') return done(405, 'unknown'), send(res, 405, refusal('POST events here'), { allow: 'POST, OPTIONS' });
    events(req, res, url, done).catch((error: unknown) => {
      log.error({ err: error }, 'unexpected error in a collector request');
      if (!res.headersSent) send(res, 500, refusal('internal error'));
    });
  });
  httpServer.listen(c.port, c.host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${c.host}:${port}`,
    httpServer,
    stop: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
      }),
  };
}
