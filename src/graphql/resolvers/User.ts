import { mayReadPrivate, mayReadPublic } from '../../access/viewer.js';
import { scoreOf } from '../../features/view.js';
import type { Recommended } from '../../features/recommend.js';
import type { UserResolvers } from '../__generated__/resolvers-types.js';
import { listLimit } from '../arguments.js';
import type { GraphQLContext } from '../context.js';
import { forbidden, unauthenticated } from '../errors.js';
import { recommendationsOf } from '../loaders/item-graph-loader.js';
import type { RecommendationParent } from '../parents.js';
import { selectsAny } from '../selection.js';

/** UserFeatures fields computed from the collections (buckets, recent items, categories). */
const COLLECTION_FIELDS = new Set(['counts', 'recentItems', 'topCategories']);

const requirePublic = (ctx: GraphQLContext) => {
  if (!mayReadPublic(ctx.viewer)) throw unauthenticated();
};
export const requirePrivate = (ctx: GraphQLContext, userId: string) => {
  if (!mayReadPublic(ctx.viewer)) throw unauthenticated();
  if (!mayReadPrivate(ctx.viewer, userId)) throw forbidden();
};

export const recommendationParent = (r: Recommended): RecommendationParent => ({
  item: { id: r.itemId },
  score: r.score,
  reason: r.reason,
  because: r.because === null ? null : { id: r.because },
});

export const User: UserResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  activityScore: async (user, _args, ctx) => {
    requirePublic(ctx);
    return (user.state ? scoreOf(user.state, ctx.now, ctx.features) : await ctx.score(user.id)).activityScore;
  },
  tier: async (user, _args, ctx) => {
    requirePublic(ctx);
    return (user.state ? scoreOf(user.state, ctx.now, ctx.features) : await ctx.score(user.id)).tier;
  },
  features: async (user, _args, ctx, info) => {
    requirePrivate(ctx, user.id);
    return { userId: user.id, state: user.state ?? (await ctx.state(user.id, selectsAny(info, COLLECTION_FIELDS))) };
  },
  recommendations: async (user, { limit }, ctx) => {
    requirePrivate(ctx, user.id);
    const n = listLimit(limit, ctx.recommendations.maxLimit);
    const state = user.state ?? (await ctx.state(user.id, true));
    return (await recommendationsOf(ctx.loaders.itemGraph, state, n, ctx)).map(recommendationParent);
  },
};
