import type { ItemResolvers } from '../__generated__/resolvers-types.js';

export const Item: ItemResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
};
