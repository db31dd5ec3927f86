/**
 * What a resolver receives as `parent` for each object type (codegen mappers).
 * A User is only its key: its fields load through the request's DataLoader,
 * so every User in one request shares one store round trip.
 */
import type { UserView } from '../features/view.js';

export interface UserParent {
  readonly id: string;
}

/** A user's features: the read-time view, computed once per user per request. */
export interface UserFeaturesParent {
  readonly userId: string;
  readonly view: UserView;
}

export interface ItemParent {
  readonly id: string;
}
