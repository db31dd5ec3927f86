/**
 * graphql-ws on the API's HTTP server and path: a thin adapter over the
 * GraphQL policy (graphql/policy.ts), the same one HTTP uses.
 *
 * - At the upgrade (ws-binding.ts): the path, and the instance's socket cap (503).
 * - At `connection_init`: the policy admits the router secret (upgrade
 *   header or connection param) and the user's JWT (connection param
 *   `authorization: "Bearer …"`), then, on a client's socket, the per-user
 *   socket cap. The socket is closed when its token expires.
 * - Per subscription: the policy parses and validates it; a per-socket cap
 *   (a router's socket, which a gateway multiplexes, has a larger one); the
 *   resolver authorizes it (a router deduplicates upstream subscriptions, so
 *   it is not trusted with per-user access); every error is formatted by the
 *   policy. A failure inside one subscription ends that one only, with a
 *   coded error.
 * - Pushes: every subscriber woken by one update shares one execution of
 *   its selection, formatted and serialised once (shared-pushes.ts).
 * - Frames: `maxPayload`, and bounded fragments and buffered chunks (ws).
 */
import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { ROUTER_SECRET_HEADER, type Session } from '../access/credentials.js';
import { principalOf } from '../access/viewer.js';
import { ErrorCode } from '../graphql/errors.js';
import type { GraphQLPolicy } from '../graphql/policy.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createSharedPushes } from '../graphql/subscriptions/shared-pushes.js';
import { bindGraphQLWs, Serialised, type SocketExtra } from './ws-binding.js';

/** The bounds of the socket transport (config `api.subscriptions`). */
export interface SocketLimits {
  /** Subscriptions on a client's socket. */
  readonly maxSubscriptionsPerSocket: number;
  /** Subscriptions on a router's socket: a gateway puts every client with the same credentials on one. */
  readonly maxSubscriptionsPerRouterSocket: number;
  /** Open sockets on this instance; an upgrade past it is answered 503. */
  readonly maxSockets: number;
  /** Open sockets of one principal on a client's sockets (not a router's); past it, `connection_init` is refused with {@link SocketClose.TooManySockets}. */
  readonly maxSocketsPerUser: number;
  /** A socket that sends no `connection_init` this long is closed with 4408. */
  readonly connectionInitTimeoutMs: number;
  /** Largest message accepted, in bytes; ws closes the socket with 1009 above it. */
  readonly maxPayloadBytes: number;
}

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly policy: GraphQLPolicy;
  readonly limits: SocketLimits;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * Close codes this service sends, beside graphql-ws's own (4400 bad
 * message, 4401 subscribe before init, 4403 refused credentials, 4408 init
 * timeout, 4409 duplicate subscription id) and ws's (1008 too many
 * fragments, 1009 too big).
 */
export const SocketClose = {
  /** The token expired while the socket was open: connect again with a fresh one. */
  TokenExpired: { code: CloseCode.Forbidden, reason: 'Token expired' },
  /** The principal already holds `maxSocketsPerUser` sockets here. */
  TooManySockets: { code: 4029, reason: 'Too many sockets for this user' },
} as const;

/** ws's limits on a message in parts: a 1-byte fragment flood ends at the first of these. */
const MAX_FRAGMENTS = 1024;
const MAX_BUFFERED_CHUNKS = 4096;
/** Keep-alive pings, as graphql-ws's own binding sends them. */
const KEEP_ALIVE_MS = 12_000;
/** setTimeout's largest delay: a token valid for longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

// A type alias, not an interface: graphql-ws wants an indexable record.
/** A shared result, with its payload as the policy formats it, serialised. */
type SharedResult = ExecutionResult & { readonly [SERIALISED]: Serialised };
const SERIALISED = Symbol('serialised payload');

type Extra = SocketExtra & {
  session?: Session;
  subscriptions?: number;
};

const param = (params: Readonly<Record<string, unknown>> | undefined, name: string): string | undefined => {
  const value = params?.[name] ?? params?.[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
};

/** Query text kept by the prepared-operation cache, at most (its keys, and about what their documents weigh). */
const PREPARED_CACHE_CHARS = 1_000_000;

/**
 * The policy's prepared operations, by query text. Parsing and validation
 * depend on the text alone (schema and limits are the instance's), and
 * subscribers mostly send the same few operations: each then costs neither
 * a validation (about a millisecond) nor a document of its own for its life.
 * Only the context and the request's variables and operation name are its
 * own. Refusals are not kept: they are the policy's to answer each time.
 */
function preparedCache(policy: GraphQLPolicy): GraphQLPolicy['prepare'] {
  const prepared = new Map<string, ExecutionArgs>();
  let chars = 0;
  return (request, viewer) => {
    const known = prepared.get(request.query);
    if (known) {
      return { ...known, variableValues: request.variables ?? undefined, operationName: request.operationName ?? undefined, contextValue: policy.context(viewer) };
    }
    const args = policy.prepare(request, viewer);
    if ('document' in args && request.query.length <= PREPARED_CACHE_CHARS) {
      // Oldest first out, until the new text fits.
      for (const [query] of prepared) {
        if (chars + request.query.length <= PREPARED_CACHE_CHARS) break;
        prepared.delete(query);
        chars -= query.length;
      }
      prepared.set(request.query, args);
      chars += request.query.length;
    }
    return args;
  };
}

/** Closes `socket` when its session's token expires. */
function closeAtExpiry(socket: WebSocket, expiresAt: number | undefined): void {
  if (expiresAt === undefined) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return socket.close(SocketClose.TokenExpired.code, SocketClose.TokenExpired.reason);
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

export function startSubscriptionServer(o: SubscriptionServerOptions): { close(): Promise<void> } {
  const { policy, limits } = o;
  const log = o.logger.child({ component: 'websocket' });
  const perPrincipal = new Map<string, number>();
  const prepare = preparedCache(policy);

  /** Counts the socket against its principal while it is open; false when over the cap. */
  function claimSlot(socket: WebSocket, principal: string): boolean {
    const held = perPrincipal.get(principal) ?? 0;
    if (held >= limits.maxSocketsPerUser) return false;
    perPrincipal.set(principal, held + 1);
    socket.once('close', () => {
      const left = (perPrincipal.get(principal) ?? 1) - 1;
      if (left > 0) perPrincipal.set(principal, left);
      else perPrincipal.delete(principal);
    });
    return true;
  }

  const subscribe = createSharedPushes<SharedResult>({
    context: (args) => policy.context((args.contextValue as GraphQLContext).viewer),
    prepare: (result) => ({ ...result, [SERIALISED]: new Serialised(JSON.stringify(policy.formatResult(result))) }),
  });

  return bindGraphQLWs<Record<string, unknown> | undefined, Extra>(
    {
      schema: policy.schema,
      subscribe,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      onConnect: async (ctx: Context<Record<string, unknown> | undefined, Extra>) => {
        const { socket, request } = ctx.extra;
        const header = request?.headers[ROUTER_SECRET_HEADER];
        const params = ctx.connectionParams;
        // Neither is read again: a socket that lives for hours should not keep its headers and token text.
        ctx.extra.request = undefined;
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        let session: Session;
        try {
          session = await policy.admit({
            routerSecret: (Array.isArray(header) ? header[0] : header) ?? param(params, ROUTER_SECRET_HEADER),
            authorization: param(params, 'Authorization'),
          });
        } catch (error) {
          if (!(error instanceof GraphQLError)) log.error({ err: error }, 'unexpected error admitting a socket');
          return false;
        }
        if (session.viewer.kind === 'anonymous') return false;
        // A router's sockets carry many users' subscriptions (and a gateway opens several at once): the instance cap bounds them.
        if (!session.router && !claimSlot(socket, principalOf(session.viewer))) {
          socket.close(SocketClose.TooManySockets.code, SocketClose.TooManySockets.reason);
          return false;
        }
        ctx.extra.session = session;
        closeAtExpiry(socket, session.expiresAt);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const extra = ctx.extra;
        const session = extra.session!;
        const cap = session.router ? limits.maxSubscriptionsPerRouterSocket : limits.maxSubscriptionsPerSocket;
        if ((extra.subscriptions ?? 0) >= cap) {
          return [new GraphQLError(`at most ${cap} subscriptions per connection`, { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        }
        const prepared = prepare(payload, session.viewer);
        if (!('document' in prepared)) return prepared;
        extra.subscriptions = (extra.subscriptions ?? 0) + 1;
        return prepared;
      },
      // The binding sends a Serialised payload as its bytes, in place of a formatted result.
      onNext: (_ctx, _id, _payload, _args, result) =>
        ((result as Partial<SharedResult>)[SERIALISED] as FormattedExecutionResult | undefined) ?? policy.formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => policy.formatError(e.toJSON(), e)),
      onComplete: (ctx) => {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
      },
    },
    {
      httpServer: o.httpServer,
      path: o.path,
      maxSockets: limits.maxSockets,
      maxPayload: limits.maxPayloadBytes,
      maxFragments: MAX_FRAGMENTS,
      maxBufferedChunks: MAX_BUFFERED_CHUNKS,
      keepAliveMs: KEEP_ALIVE_MS,
      logger: o.logger,
      onSocket: (socket) => {
        o.metrics.live.sockets.inc();
        socket.once('close', () => o.metrics.live.sockets.dec());
      },
    },
  );
}
