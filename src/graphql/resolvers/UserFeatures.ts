import { ACTIVITY_TYPES } from '../../features/activity.js';
import { WINDOW_NAMES } from '../../features/windows.js';
import type { UserFeaturesResolvers } from '../__generated__/resolvers-types.js';

export const UserFeatures: UserFeaturesResolvers = {
  version: ({ view }) => view.version,
  asOf: ({ view }) => (view.asOf > 0 ? view.asOf : null),
  isStale: ({ view }) => view.isStale,
  lastActivity: ({ view }) => view.lastActivity && { type: view.lastActivity.type, at: view.lastActivity.at },
  lastViewedItem: ({ view }) => view.lastViewed && { id: view.lastViewed.itemId },
  lastViewedAt: ({ view }) => view.lastViewed?.at ?? null,
  counts: ({ view }, { window, type }) =>
    WINDOW_NAMES.filter((w) => !window || w === window).flatMap((w) =>
      ACTIVITY_TYPES.filter((t) => !type || t === type).map((t) => ({ window: w, type: t, count: view.counts[w][t] })),
    ),
  recentItems: ({ view }) => view.recentItems.map((r) => ({ item: { id: r.itemId }, at: r.at })),
  topCategories: ({ view }) => [...view.topCategories],
};
