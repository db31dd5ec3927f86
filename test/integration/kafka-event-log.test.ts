import { createKafka } from '../../src/ingest/kafka.js';
import { createLogger } from '../../src/observability/logger.js';
import { eventLogContract } from '../contract/event-log.contract.js';
import { servers } from '../support/servers.js';

eventLogContract('Kafka (kafkajs)', () => createKafka({ brokers: servers().KAFKA_BROKERS.split(','), clientId: 'event-log-contract' }, createLogger('silent')));
