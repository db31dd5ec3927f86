import { createMemoryKafka } from '../../src/ingest/memory-kafka.js';
import { eventLogContract } from '../contract/event-log.contract.js';

eventLogContract('in-process log', () => createMemoryKafka());
