import { createMongoProfileStore } from '../../src/stores/mongo-profile-store.js';
import { profileStoreContract } from '../contract/profile-store.contract.js';
import { servers, unique } from '../support/servers.js';

profileStoreContract('MongoDB protocol', () =>
  createMongoProfileStore({ url: servers().MONGO_URL, db: unique('test').replace('-', '_') }),
);
