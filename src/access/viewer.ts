/**
 * src/access: who is asking (viewer.ts) and how a caller proves it
 * (credentials.ts: JWTs, the router secret). It may import only the base
 * modules (config, errors, lifecycle, observability) and features/.
 *
 * Who is asking, and what they may read. Both transports (HTTP and
 * graphql-ws) and every resolver decide access from these rules alone.
 */

export type Viewer =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'internal'; readonly subject: string };

/** Whether `viewer` may read `userId`'s private fields (features, recommendations, their subscriptions). */
export const mayReadPrivate = (viewer: Viewer, userId: string): boolean =>
  viewer.kind === 'internal' || (viewer.kind === 'user' && viewer.userId === userId);

/** Whether `viewer` may read public fields (score, tier): anyone signed in. */
export const mayReadPublic = (viewer: Viewer): boolean => viewer.kind !== 'anonymous';

/** One key per principal, for per-user quotas (sockets). */
export const principalOf = (viewer: Viewer): string =>
  viewer.kind === 'user' ? `user:${viewer.userId}` : viewer.kind === 'internal' ? `internal:${viewer.subject}` : 'anonymous';
