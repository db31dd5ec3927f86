import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { partitionShortfalls, serviceTopics } from '../../src/ingest/kafka.js';

const servers = { KAFKA_BROKERS: '127.0.0.1:2', MONGO_URL: 'mongodb://127.0.0.1:4' };

describe('topic layout from configuration', () => {
  it('spreads the processor and update topics over KAFKA_PARTITIONS, keeps the ordered ones on one, replicates all', () => {
    const { topics } = loadConfig({}, { KAFKA_PARTITIONS: '12', KAFKA_REPLICATION_FACTOR: '3' }).kafka;
    const layout = Object.fromEntries(serviceTopics(topics).map((t) => [t.topic, [t.numPartitions, t.replicationFactor, t.processorInput ?? false]]));
    expect(layout).toEqual({
      'user-activity': [12, 3, true],
      'user-activity.retry': [12, 3, true],
      'legacy.public.user_activity': [12, 3, true],
      'user-profile': [12, 3, true],
      'user-feature-updates': [12, 3, false],
      'user-activity.dlq': [1, 3, false],
      'item-graph-updates': [1, 3, false],
      'user-sync.parked': [1, 3, false],
    });
  });

  it('keeps today\'s layout by default: 3 partitions, one replica', () => {
    const { topics } = loadConfig({}, {}).kafka;
    expect(topics.partitions).toBe(3);
    expect(topics.replicationFactor).toBe(1);
    expect(() => loadConfig({}, { KAFKA_PARTITIONS: '0' })).toThrow(/KAFKA_PARTITIONS/);
    expect(() => loadConfig({}, { KAFKA_REPLICATION_FACTOR: 'three' })).toThrow(/KAFKA_REPLICATION_FACTOR/);
  });

  it('names each input topic that has fewer partitions than the processors may use, and no other', () => {
    const wanted = serviceTopics(loadConfig({}, { KAFKA_PARTITIONS: '6' }).kafka.topics);
    const counts = new Map([
      ['user-activity', 6],
      ['user-activity.retry', 8],
      ['legacy.public.user_activity', 1],
      ['user-profile', 3],
      ['user-feature-updates', 1], // broadcast to every API instance: no processor waits on it
      ['user-activity.dlq', 1],
    ]);
    const warnings = partitionShortfalls(wanted, counts);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^topic user-profile has 3 partitions, fewer than the 6 configured \(KAFKA_PARTITIONS\): processors past 3/);
    expect(warnings[1]).toMatch(/^topic legacy\.public\.user_activity has 1 partition, fewer than the 6/);
    // Topics created just now (absent from the counts) have the configured count.
    expect(partitionShortfalls(wanted, new Map())).toEqual([]);
  });
});

describe('Redis Cluster settings', () => {
  it('REDIS_CLUSTER_NODES stands in for REDIS_URL, and every node must be host:port', () => {
    const c = loadConfig({}, { ...servers, REDIS_CLUSTER_NODES: '127.0.0.1:61400, 127.0.0.1:61401' });
    expect(c.adapters).toBe('servers');
    expect(c.redis.clusterNodes).toEqual(['127.0.0.1:61400', '127.0.0.1:61401']);
    expect(loadConfig({}, { ...servers, REDIS_URL: 'redis://127.0.0.1:1' }).redis.clusterNodes).toEqual([]);
    expect(() => loadConfig({}, servers)).toThrow(/REDIS_URL \(or REDIS_CLUSTER_NODES\)/);
    expect(() => loadConfig({}, { ...servers, REDIS_CLUSTER_NODES: '127.0.0.1:61400,redis-7' })).toThrow(/REDIS_CLUSTER_NODES: redis-7: expected host:port/);
  });
});
