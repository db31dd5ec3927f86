/**
 * A real supergraph for e2e tests: the example legacy users subgraph, this
 * subgraph, and @graphql-hive/gateway-runtime in front, all on loopback. The
 * gateway forwards the client's Authorization header to every subgraph and
 * adds the router secret for this one, as a production router would.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { startLegacyUsers } from '../../examples/legacy-users/server.js';
import { composeSupergraph, standardSubgraphs } from '../../scripts/compose-supergraph.js';
import { forwarding } from '../../gateway.config.js';
import { ROUTER_SECRET } from './api-harness.js';

export interface Supergraph {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startSupergraph(activityUrl: string): Promise<Supergraph> {
  const users = await startLegacyUsers(0);
  const gateway = createGatewayRuntime({
    supergraph: composeSupergraph(standardSubgraphs(activityUrl, users.url)),
    logging: false,
    // The same forwarding as `npm run gateway` (gateway.config.ts), with the tests' router secret.
    ...forwarding(ROUTER_SECRET),
  });
  // The gateway is a fetch-style handler that also accepts Node's (req, res); its promise is its own to settle.
  const server: Server = createServer((req, res) => void gateway(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async stop() {
      server.closeAllConnections();
      server.close();
      await gateway.dispose();
      await users.stop();
    },
  };
}

/** A client's subscription through the gateway over SSE; events are parsed as they arrive. */
export function sseSubscribe(url: string, q: string, authorization: string): { events: unknown[]; close: () => void } {
  const events: unknown[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${authorization}` },
      body: JSON.stringify({ query: q }),
      signal: abort.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (/^event: next$/m.test(block) && data) events.push(JSON.parse(data));
      }
    }
  })().catch(() => undefined);
  return { events, close: () => abort.abort() };
}

/** A client's query through the gateway. */
export async function query(url: string, q: string, authorization?: string): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization: `Bearer ${authorization}` } : {}) },
    body: JSON.stringify({ query: q }),
  });
  return (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}
