import { scoreOf } from '../../features/view.js';
import type { UserResolvers } from '../__generated__/resolvers-types.js';
import { listLimit } from '../arguments.js';
import { requirePrivate, requirePublic } from '../guards.js';
import { recommendationsOf } from '../loaders/item-graph-loader.js';
import { recommendationParent } from '../parents.js';
import { selectsAny } from '../selection.js';

/** UserFeatures fields computed from the collections (buckets, recent items, categories). */
const COLLECTION_FIELDS = new Set(['counts', 'recentItems', 'topCategories']);

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
