/**
 * The access checks resolvers make before they read: public fields (score,
 * tier) need an authenticated caller, private ones (features,
 * recommendations, subscriptions) the user themself or an internal caller.
 * The rules are access/viewer.ts's; here they become coded GraphQL errors.
 */
import { mayReadPrivate, mayReadPublic } from '../access/viewer.js';
import type { GraphQLContext } from './context.js';
import { forbidden, unauthenticated } from './errors.js';

export const requirePublic = (ctx: GraphQLContext): void => {
  if (!mayReadPublic(ctx.viewer)) throw unauthenticated();
};

export const requirePrivate = (ctx: GraphQLContext, userId: string): void => {
  requirePublic(ctx);
  if (!mayReadPrivate(ctx.viewer, userId)) throw forbidden();
};
