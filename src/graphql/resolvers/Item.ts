import type { Relation } from '../../features/cooccurrence.js';
import type { ItemResolvers } from '../__generated__/resolvers-types.js';
import { listLimit } from '../arguments.js';
import type { GraphQLContext } from '../context.js';
import type { ItemParent } from '../parents.js';

/** An item's neighbours in one relation, through the request's item graph loader (one round trip for all items). */
async function neighbours(item: ItemParent, relation: Relation, limit: number, ctx: GraphQLContext): Promise<ItemParent[]> {
  const n = listLimit(limit, ctx.recommendations.maxLimit);
  const list = await ctx.loaders.itemGraph.load({ itemId: item.id, relation });
  return list.slice(0, n).map((s) => ({ id: s.itemId }));
}

/** Item lists are aggregates over all users, so any caller the router lets through may read them. */
export const Item: ItemResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  alsoViewed: (item, { limit }, ctx) => neighbours(item, 'viewed', limit, ctx),
  alsoBought: (item, { limit }, ctx) => neighbours(item, 'bought', limit, ctx),
};
