import { viewOf } from '../../features/view.js';
import type { UserResolvers } from '../__generated__/resolvers-types.js';
import type { GraphQLContext } from '../context.js';
import type { UserParent } from '../parents.js';

const view = async (user: UserParent, ctx: GraphQLContext) =>
  viewOf(await ctx.loaders.userState.load(user.id), ctx.now, ctx.features);

export const User: UserResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  activityScore: async (user, _args, ctx) => (await view(user, ctx)).activityScore,
  tier: async (user, _args, ctx) => (await view(user, ctx)).tier,
};
