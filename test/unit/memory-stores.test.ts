import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { GRAPH_PARAMS, itemGraphStoreContract } from '../contract/item-graph-store.contract.js';
import { createMemoryProfileStore } from '../../src/stores/memory-profile-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import { profileStoreContract } from '../contract/profile-store.contract.js';
import { CONTRACT_PARAMS, userStateStoreContract } from '../contract/user-state-store.contract.js';

userStateStoreContract('in-process', async () => createMemoryUserStateStore(CONTRACT_PARAMS));
profileStoreContract('in-process', async () => createMemoryProfileStore());
itemGraphStoreContract('in-process', async () => createMemoryItemGraphStore(GRAPH_PARAMS));
