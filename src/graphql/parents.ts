/**
 * What a resolver receives as `parent` for each object type (codegen mappers).
 * A User is only its key here: fields are loaded through the request's
 * DataLoader, so every User in one request shares one store round trip.
 */
export interface UserParent {
  readonly id: string;
}
