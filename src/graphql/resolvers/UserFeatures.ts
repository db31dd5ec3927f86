import { ACTIVITY_TYPES } from '../../features/activity.js';
import { isStale, recentItemsOf, topCategoriesOf, windowCount } from '../../features/view.js';
import type { UserFeaturesResolvers } from '../__generated__/resolvers-types.js';

export const UserFeatures: UserFeaturesResolvers = {
  version: ({ state }) => state.version,
  asOf: ({ state }) => (state.updatedAt > 0 ? state.updatedAt : null),
  isStale: ({ state }, _args, ctx) => isStale(state, ctx.now, ctx.features),
  lastActivity: ({ state }) => state.lastActivity && { type: state.lastActivity.type, at: state.lastActivity.at },
  lastViewedItem: ({ state }) => state.lastViewed && { id: state.lastViewed.itemId },
  lastViewedAt: ({ state }) => state.lastViewed?.at ?? null,
  counts: ({ state }, { window, type }, ctx) =>
    ctx.features.windows.flatMap((w, i) =>
      window && w.name !== window
        ? []
        : ACTIVITY_TYPES.filter((t) => !type || t === type).map((t) => ({ window: w.name, type: t, count: windowCount(state, ctx.now, w, i, t) })),
    ),
  recentItems: ({ state }, _args, ctx) => recentItemsOf(state, ctx.features).map((r) => ({ item: { id: r.itemId }, at: r.at })),
  topCategories: ({ state }, _args, ctx) => topCategoriesOf(state, ctx.now, ctx.features),
};
