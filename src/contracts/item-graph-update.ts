/**
 * What the processor announces on `item-graph-updates` after a batch changed
 * the item graph (no key, JSON): the items whose neighbour lists changed, so
 * that API instances re-rank the recommendations subscriptions watching them.
 */
import { z } from 'zod';
import type { ItemGraphDelta } from '../features/cooccurrence.js';
import { parseMessage } from './feature-update.js';

export const ItemGraphUpdateSchema = z
  .object({
    items: z.array(z.string()).readonly(),
    /** The trending list changed too. */
    trending: z.boolean(),
    /** Latest event time in the batch (epoch ms), for end-to-end latency. */
    eventTime: z.number(),
    at: z.number(),
  })
  .readonly();

export type ItemGraphUpdate = z.infer<typeof ItemGraphUpdateSchema>;

/** Items per message: keeps each well under Kafka's message size limit. */
const ITEMS_PER_MESSAGE = 1000;

/** The messages that announce `delta`: at least one, the first naming the trending change. */
export function itemGraphMessages(delta: ItemGraphDelta, eventTime: number, at: number): { key: null; value: string }[] {
  const items = [...delta.edges.keys()];
  const messages: { key: null; value: string }[] = [];
  for (let i = 0; i === 0 || i < items.length; i += ITEMS_PER_MESSAGE) {
    const update: ItemGraphUpdate = { items: items.slice(i, i + ITEMS_PER_MESSAGE), trending: i === 0 && delta.popularity.size > 0, eventTime, at };
    messages.push({ key: null, value: JSON.stringify(update) });
  }
  return messages;
}

export const parseItemGraphUpdate = (value: Buffer | null): ItemGraphUpdate | undefined => parseMessage(ItemGraphUpdateSchema, value);
