/**
 * The live page (DEMO_PAGE): plain HTML and one small script from
 * public/demo, served at the API's `/`, with graphql-ws' own browser build.
 * No build step: what is in public/demo is what the browser runs.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { DEMO_ITEMS, DEMO_USERS } from './traffic.js';

const PUBLIC = fileURLToPath(new URL('../../public/demo/', import.meta.url));
const GRAPHQL_WS_BROWSER = join(dirname(createRequire(import.meta.url).resolve('graphql-ws')), '../umd/graphql-ws.min.js');

export interface DemoPageOptions {
  /** The collector's port, on the host the browser reached the page by (a container's listen address means nothing to it). */
  readonly collectorPort: number;
}

export function demoPage(o: DemoPageOptions): Router {
  const router = express.Router();
  const settings = { collectorPort: o.collectorPort, users: DEMO_USERS, items: DEMO_ITEMS.map((i) => i.id) };
  router.get('/', (_req, res) => res.sendFile(join(PUBLIC, 'index.html')));
  router.get('/favicon.ico', (_req, res) => res.status(204).end());
  router.get('/demo/settings.json', (_req, res) => res.json(settings));
  router.get('/demo/graphql-ws.js', (_req, res) => res.sendFile(GRAPHQL_WS_BROWSER));
  router.use('/demo', express.static(PUBLIC, { index: false }));
  return router;
}
