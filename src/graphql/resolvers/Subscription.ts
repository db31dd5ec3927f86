/**
 * Live subscriptions. Each opens its mailbox on the hub before reading the
 * snapshot, so no update can fall between the two; it then reads the newest
 * state for every version it takes and sends it only if its version is above
 * the last one sent (or above `since`): versions only increase.
 */
import type { UserState } from '../../features/state.js';
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.js';
import type { GraphQLContext, LiveDeps } from '../context.js';
import type { UserParent } from '../parents.js';
import { requirePrivate } from './User.js';

function liveOf(ctx: GraphQLContext): LiveDeps {
  if (!ctx.live) throw new Error('subscriptions are not served by this instance');
  return ctx.live;
}

/** The user's states, newest first taken, each newer than the last yielded; the snapshot first. */
async function* states(live: LiveDeps, userId: string, since: number): AsyncGenerator<{ state: UserState; eventTime: number }> {
  const mailbox = live.hub.subscribe(userId);
  live.opened(1);
  try {
    let last = since;
    const snapshot = await live.load(userId);
    if (snapshot.version > last) {
      last = snapshot.version;
      yield { state: snapshot, eventTime: snapshot.updatedAt };
    }
    for await (const pending of mailbox) {
      if (pending.version <= last) continue;
      const state = await live.load(userId);
      if (state.version <= last) continue;
      last = state.version;
      yield { state, eventTime: pending.eventTime };
    }
  } finally {
    await mailbox.return();
    live.opened(-1);
  }
}

export const Subscription: SubscriptionResolvers = {
  userActivityChanged: {
    subscribe: async function* (_root, { userId, since }, ctx) {
      requirePrivate(ctx, userId);
      const live = liveOf(ctx);
      for await (const { state, eventTime } of states(live, userId, since ?? -1)) {
        live.pushed('userActivityChanged', eventTime);
        yield { userActivityChanged: { id: userId, state } satisfies UserParent };
      }
    },
  },
  recommendationsChanged: {
    subscribe: async function* (_root, { userId }, ctx) {
      requirePrivate(ctx, userId);
      const live = liveOf(ctx);
      let sent: string | undefined;
      for await (const { eventTime } of states(live, userId, -1)) {
        // Recommendations are not computed yet: every user has none, so only the first list is new.
        const list: never[] = [];
        const key = JSON.stringify(list);
        if (key === sent) continue;
        sent = key;
        live.pushed('recommendationsChanged', eventTime);
        yield { recommendationsChanged: list };
      }
    },
  },
};
