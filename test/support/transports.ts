/**
 * One GraphQL operation over either transport, so that every access rule is
 * tested the same way on both: an HTTP POST as the router sends it, or a
 * graphql-ws socket opened for it. The socket side speaks the protocol by
 * hand (ws), so that tests see close codes and frames exactly.
 */
import WebSocket from 'ws';
import { post, ROUTER_SECRET } from './api-harness.js';

export const TRANSPORTS = ['http', 'ws'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface Answer {
  /** HTTP status; for a socket, 200 once acknowledged. */
  readonly status: number;
  /** Set when the socket was closed instead of answering. */
  readonly closeCode?: number;
  readonly data?: unknown;
  readonly errors?: { message: string; extensions?: Record<string, unknown>; locations?: unknown }[];
}

export interface Caller {
  readonly token?: string;
  /** null: send none. */
  readonly routerSecret?: string | null;
  readonly variables?: Record<string, unknown>;
}

type Message = { type: string; id?: string; payload?: unknown };

/** A graphql-transport-ws socket whose messages and close can be awaited. */
export class RawSocket {
  readonly messages: Message[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    this.ws.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString()) as Message);
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('open', () => this.wake());
    this.ws.on('error', () => this.wake());
  }

  private wake() {
    for (const w of this.waiters) w();
  }

  /** Resolves once `condition` holds, or fails after `timeoutMs`. */
  until<T>(condition: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (value === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 500)}, closed ${JSON.stringify(this.closed)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  send(message: Message): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends connection_init; resolves with 'ack' or the close code. */
  async init(payload: Record<string, unknown>): Promise<'ack' | number> {
    await this.until(() => (this.ws.readyState === WebSocket.OPEN ? true : this.closed ? true : undefined), 'the socket to open');
    if (this.closed) return this.closed.code;
    this.send({ type: 'connection_init', payload });
    return this.until(() => (this.messages.some((m) => m.type === 'connection_ack') ? 'ack' : this.closed?.code), 'connection_ack or close');
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send({ type: 'subscribe', id, payload: { query, ...(variables ? { variables } : {}) } });
  }

  /** The `next` payloads and the `error` payload of operation `id` so far. */
  results(id: string): { next: Answer[]; error?: Answer['errors']; complete: boolean } {
    const mine = this.messages.filter((m) => m.id === id);
    const error = mine.find((m) => m.type === 'error')?.payload as Answer['errors'];
    return { next: mine.filter((m) => m.type === 'next').map((m) => m.payload as Answer), ...(error ? { error } : {}), complete: mine.some((m) => m.type === 'complete') };
  }

  /** Resolves when operation `id` has ended (complete or error). */
  ended(id: string, timeoutMs?: number) {
    return this.until(() => {
      const r = this.results(id);
      return r.complete || r.error ? r : this.closed ? r : undefined;
    }, `operation ${id} to end`, timeoutMs);
  }

  close(): void {
    this.ws.terminate();
  }
}

export const connectionParams = (caller: Caller): Record<string, unknown> => ({
  ...(caller.routerSecret === null ? {} : { 'router-authorization': caller.routerSecret ?? ROUTER_SECRET }),
  ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}),
});

/** Runs one query over `transport` (the API's /graphql URL, http://…) as `caller`. */
export async function operate(transport: Transport, url: string, query: string, caller: Caller = {}): Promise<Answer> {
  if (transport === 'http') {
    const res = await post(url, query, caller);
    return { status: res.status, ...res.body };
  }
  const socket = new RawSocket(url.replace('http://', 'ws://'));
  try {
    const acked = await socket.init(connectionParams(caller));
    if (acked !== 'ack') return { status: 0, closeCode: acked };
    socket.subscribe('1', query, caller.variables);
    const { next, error } = await socket.ended('1');
    if (socket.closed) return { status: 0, closeCode: socket.closed.code };
    if (error) return { status: 200, errors: error };
    return { status: 200, ...next[0] };
  } finally {
    socket.close();
  }
}
