import type { Resolvers } from '../__generated__/resolvers-types.js';
import { DateTime } from './DateTime.js';
import { Item } from './Item.js';
import { User } from './User.js';
import { UserFeatures } from './UserFeatures.js';

export const resolvers: Resolvers = { DateTime, Item, User, UserFeatures };
