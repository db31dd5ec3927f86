/**
 * Live subscriptions. Each opens its mailbox on the hub before reading the
 * snapshot, so no update can fall between the two; it then reads the newest
 * state for every version it takes and sends it only if its version is above
 * the last one sent (or above `since`): versions only increase.
 *
 * A recommendations subscription also watches its user's anchors (or the
 * trending list): set before the lists are read, so a change that lands
 * after the read still wakes it. It re-ranks on every wake-up and sends the
 * list only when it differs from the last one sent.
 *
 * Each event names what it shows ({@link PUSH_KEY}): the user and version,
 * or the list, so that every subscriber woken by one update shares one
 * execution of its selection (subscriptions/shared-pushes.ts). A
 * subscription reads a user's collections only when its selection needs them.
 */
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { anchorsOf } from '../../features/recommend.js';
import type { UserState } from '../../features/state.js';
import { recentItemsOf } from '../../features/view.js';
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.js';
import { listLimit } from '../arguments.js';
import type { GraphQLContext, LiveDeps } from '../context.js';
import { requirePrivate } from '../guards.js';
import { recommendationsOf } from '../loaders/item-graph-loader.js';
import { recommendationParent, type RecommendationParent, type UserParent } from '../parents.js';
import { endable } from '../subscriptions/endable.js';
import { TRENDING, type Mailbox } from '../subscriptions/hub.js';
import { PUSH_KEY } from '../subscriptions/shared-pushes.js';

/** Fields a user's scalars answer (the rest, or any field added later, read the collections too). */
const SCALAR_USER_FIELDS = new Set(['__typename', 'id', 'activityScore', 'tier', 'features']);
const SCALAR_FEATURE_FIELDS = new Set(['__typename', 'version', 'asOf', 'isStale', 'lastActivity', 'lastViewedItem', 'lastViewedAt']);

/** The fields of `set`, through fragments. */
function fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo): FieldNode[] {
  return (set?.selections ?? []).flatMap((s) => {
    if (s.kind === Kind.FIELD) return [s];
    if (s.kind === Kind.INLINE_FRAGMENT) return fieldsOf(s.selectionSet, info);
    return fieldsOf(info.fragments[s.name.value]?.selectionSet, info);
  });
}

/** Whether the User selected under this root field needs more than the scalars. */
function needsCollections(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes
    .flatMap((node) => fieldsOf(node.selectionSet, info))
    .some(
      (f) =>
        !SCALAR_USER_FIELDS.has(f.name.value) ||
        (f.name.value === 'features' && fieldsOf(f.selectionSet, info).some((g) => !SCALAR_FEATURE_FIELDS.has(g.name.value))),
    );
}

function liveOf(ctx: GraphQLContext): LiveDeps {
  if (!ctx.live) throw new Error('subscriptions are not served by this instance');
  return ctx.live;
}

/**
 * A mailbox on the hub for `userId`, open (and counted) while `body` runs,
 * and closed as soon as `ended` aborts (the client left): a body waiting on
 * it then ends at once, and a read cut short by it ends quietly.
 */
async function* withMailbox<T>(live: LiveDeps, userId: string, ended: AbortSignal, body: (mailbox: Mailbox) => AsyncGenerator<T>): AsyncGenerator<T> {
  const mailbox = live.hub.subscribe(userId);
  live.opened(1);
  const close = () => void mailbox.return();
  ended.addEventListener('abort', close, { once: true });
  try {
    yield* body(mailbox);
  } catch (error) {
    if (!ended.aborted) throw error;
  } finally {
    ended.removeEventListener('abort', close);
    await mailbox.return();
    live.opened(-1);
  }
}

/** The user's states, newest first taken, each newer than the last yielded; the snapshot first. */
const states = (live: LiveDeps, userId: string, since: number, whole: boolean, ended: AbortSignal) =>
  withMailbox(live, userId, ended, async function* (mailbox): AsyncGenerator<{ state: UserState; eventTime: number }> {
    let last = since;
    const snapshot = await live.load(userId, whole);
    if (snapshot.version > last) {
      last = snapshot.version;
      yield { state: snapshot, eventTime: snapshot.updatedAt };
    }
    for await (const pending of mailbox) {
      if (pending.version <= last) continue;
      const state = await live.load(userId, whole, pending.version, ended);
      if (state.version <= last) continue;
      last = state.version;
      yield { state, eventTime: pending.eventTime };
    }
  });

/** The user's list now, then after every wake-up that changes it. */
const recommendations = (live: LiveDeps, ctx: GraphQLContext, userId: string, limit: number, ended: AbortSignal) =>
  withMailbox(live, userId, ended, async function* (mailbox): AsyncGenerator<{ list: RecommendationParent[]; key: string; eventTime: number }> {
    let sent: string | undefined;
    let eventTime = 0;
    for (;;) {
      const state = await live.load(userId, true);
      const anchors = anchorsOf(recentItemsOf(state, ctx.features), ctx.recommendations).map((a) => a.itemId);
      live.hub.watch(mailbox, [...anchors, TRENDING]);
      const list = await recommendationsOf(live.itemGraph, state, limit, ctx);
      // Trending moves with every batch: only subscribers shown trending items follow it.
      if (list.length > 0 && list[0]!.reason !== 'TRENDING') live.hub.watch(mailbox, anchors);
      const key = JSON.stringify(list);
      if (key !== sent) {
        sent = key;
        yield { list: list.map(recommendationParent), key, eventTime: eventTime || state.updatedAt };
      }
      const next = await mailbox.next();
      if (next.done) return;
      eventTime = next.value.eventTime;
    }
  });

// Each subscription is `endable`, so that its client leaving ends it at once (see endable.ts).
export const Subscription: SubscriptionResolvers = {
  userActivityChanged: {
    subscribe: (_root, { userId, since }, ctx, info) =>
      endable(async function* (ended) {
        requirePrivate(ctx, userId);
        const live = liveOf(ctx);
        for await (const { state, eventTime } of states(live, userId, since ?? -1, needsCollections(info), ended)) {
          live.pushed('userActivityChanged', eventTime);
          yield { userActivityChanged: { id: userId, state } satisfies UserParent, [PUSH_KEY]: `user\n${userId}\n${state.version}` };
        }
      }),
  },
  recommendationsChanged: {
    subscribe: (_root, { userId, limit }, ctx) =>
      endable(async function* (ended) {
        requirePrivate(ctx, userId);
        const n = listLimit(limit, ctx.recommendations.maxLimit);
        const live = liveOf(ctx);
        for await (const { list, key, eventTime } of recommendations(live, ctx, userId, n, ended)) {
          live.pushed('recommendationsChanged', eventTime);
          yield { recommendationsChanged: list, [PUSH_KEY]: `recommendations\n${userId}\n${n}\n${key}` };
        }
      }),
  },
};
