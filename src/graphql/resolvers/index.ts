import type { Resolvers } from '../__generated__/resolvers-types.js';
import { DateTime } from './DateTime.js';
import { Item } from './Item.js';
import { User } from './User.js';
import { Subscription } from './Subscription.js';
import { UserFeatures } from './UserFeatures.js';

export const resolvers: Resolvers = { DateTime, Item, Subscription, User, UserFeatures };
