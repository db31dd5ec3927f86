/**
 * graphql-ws's server core bound to `ws` sockets, in place of its `use/ws`:
 * the same binding, with this service's logger instead of console.error (a
 * client sending bad frames must not be able to flood stderr), and the
 * upgrade refused, with a status, past the instance's socket cap; and a
 * `next` payload serialised once may go out to many sockets as those bytes.
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../observability/logger.js';

/** What each graphql-ws context carries of its socket (a type alias: graphql-ws wants an indexable record). */
export type SocketExtra = {
  readonly socket: WebSocket;
  /** The upgrade request: for admission only, then dropped (`undefined`), since a socket may live for hours. */
  request: IncomingMessage | undefined;
};

/**
 * A `next` payload serialised once, for every subscriber it is shared with.
 * graphql-ws serialises each message whole: its replacer swaps this for a
 * placeholder, and the socket's send splices the bytes in. Both happen in one
 * synchronous step (graphql-ws stringifies, then sends), so the payload taken
 * by the replacer is the one of the message being sent.
 */
export class Serialised {
  constructor(readonly json: string) {}
}

/** What the replacer took out of the message being serialised, until its send. */
let taken: Serialised | undefined;
const PLACEHOLDER = 0;
const TAIL = `:${PLACEHOLDER}}`;

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (!(value instanceof Serialised)) return value;
  taken = value;
  return PLACEHOLDER;
}

/** The message graphql-ws serialised, with the payload the replacer took put back. */
function spliced(data: string): string {
  const payload = taken;
  taken = undefined;
  if (!payload) return data;
  if (!data.endsWith(TAIL)) throw new Error('a serialised payload outside the tail of a message');
  return `${data.slice(0, -TAIL.length + 1)}${payload.json}}`;
}

export interface BindingOptions {
  readonly httpServer: Server;
  readonly path: string;
  /** Open sockets on this instance; the upgrade past it is answered 503. */
  readonly maxSockets: number;
  /** ws's frame bounds. */
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly maxBufferedChunks: number;
  /** A ping this often; a socket that has not answered the last one by the next is dropped. */
  readonly keepAliveMs: number;
  readonly logger: Logger;
  /** Called with every socket opened, before graphql-ws sees it. */
  readonly onSocket?: (socket: WebSocket) => void;
}

/** Answers an upgrade with a plain HTTP refusal and drops the connection. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const all = { connection: 'close', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
}

export function bindGraphQLWs<P extends Record<string, unknown> | undefined, E extends SocketExtra>(
  options: ServerOptions<P, E>,
  o: BindingOptions,
): { close(): Promise<void> } {
  const log = o.logger.child({ component: 'websocket' });
  if (options.jsonMessageReplacer) throw new Error('the binding brings its own message replacer');
  const server = makeServer<P, E>({ ...options, jsonMessageReplacer: replacer });
  const wss = new WebSocketServer({ noServer: true, handleProtocols, maxPayload: o.maxPayload, maxFragments: o.maxFragments, maxBufferedChunks: o.maxBufferedChunks });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?', 1)[0] !== o.path) return refuseUpgrade(socket, 404, 'BAD_REQUEST', 'No WebSocket endpoint here.');
    if (wss.clients.size >= o.maxSockets) {
      return refuseUpgrade(socket, 503, 'SERVICE_UNAVAILABLE', 'Too many sockets on this instance; try again shortly.', { 'retry-after': '5' });
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  o.httpServer.on('upgrade', onUpgrade);

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    o.onSocket?.(socket);
    // ws has already closed the socket with the right code (1008 fragments, 1009 too big, 1002 bad frame).
    socket.on('error', (error) => log.debug({ err: error }, 'socket closed for a protocol error'));
    let answered = true;
    const ping = setInterval(() => {
      if (!answered) return socket.terminate();
      answered = false;
      socket.ping();
    }, o.keepAliveMs);
    socket.on('pong', () => (answered = true));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (message) => {
          const data = spliced(message);
          return new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          });
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            handle(data.toString()).catch((error: unknown) => {
              log.error({ err: error }, 'unexpected error handling a socket message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request } as E,
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      void closed(code, reason.toString());
    });
  });

  return {
    async close() {
      o.httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
