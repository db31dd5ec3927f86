/**
 * The order of a batch's notices: a user's feature update does not wait for
 * the item graph write (a push needs only the user's state), the changed
 * items are named only once that write has landed, and the batch is done
 * only when both are out.
 */
import type { KafkaMessage, Message, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { BatchApplier } from '../../src/ingest/batch-applier.js';
import type { ItemGraphStore } from '../../src/stores/item-graph.js';
import { createMemoryItemGraphStore } from '../../src/stores/memory-item-graph-store.js';
import { createMemoryUserStateStore } from '../../src/stores/memory-user-state-store.js';
import { RECS_ENV } from '../support/recommendations-dataset.js';
import { waitFor } from '../support/wait-for.js';

const config = loadConfig(RECS_ENV, {});
const NOW = Date.UTC(2026, 10, 21, 12);

const message = (offset: number, itemId: string): KafkaMessage =>
  ({
    key: Buffer.from('u1'),
    value: Buffer.from(JSON.stringify({ eventId: `e${offset}`, userId: 'u1', type: 'VIEW', itemId, occurredAt: NOW - 1000 + offset })),
    offset: String(offset),
    timestamp: String(NOW),
    attributes: 0,
    headers: {},
  });

describe('a batch’s notices', () => {
  it('publishes the feature update while the item graph is written, and names the items after it', async () => {
    const graph = createMemoryItemGraphStore(config.recommendations);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let recording = false;
    const itemGraph: ItemGraphStore = { ...graph, record: async (delta) => ((recording = true), await held, graph.record(delta)) };
    const sent: { topic: string; messages: Message[] }[] = [];
    const producer = {
      send: async (r: { topic: string; messages: Message[] }) => void sent.push(r),
      sendBatch: async (b: { topicMessages: { topic: string; messages: Message[] }[] }) => void sent.push(...b.topicMessages),
    } as unknown as Producer;
    const applier = new BatchApplier({
      store: createMemoryUserStateStore(config.features), producer, topics: config.kafka.topics, cdcTypeMap: {}, admission: config.features, instanceId: 'test',
      applyAttempts: 1, retryTopicAttempts: 1, retryBaseDelayMs: 0, sideEffects: true, clock: () => NOW,
      graph: { store: itemGraph, params: config.recommendations, weights: config.features.weights },
    });
    const control = { heartbeat: async () => undefined, isActive: () => true };
    // Two views of two items: a pair for the item graph.
    const applying = applier.apply('activity', 0, [message(1, 'i1'), message(2, 'i2')], control);
    let done = false;
    void applying.then(() => (done = true));
    const topics = () => sent.map((s) => s.topic);

    await waitFor(() => recording && topics().includes(config.kafka.topics.featureUpdates), { timeoutMs: 3000, what: 'the feature update, sent during the graph write' });
    expect(topics()).not.toContain(config.kafka.topics.itemUpdates);
    expect(done).toBe(false);

    release();
    expect(await applying).toBe('done');
    expect(topics()).toEqual([config.kafka.topics.featureUpdates, config.kafka.topics.itemUpdates]);
  });
});
