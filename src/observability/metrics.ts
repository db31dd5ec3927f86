/**
 * src/observability: logs (logger.ts), Prometheus metrics and their server,
 * health checks. Part of the base every layer may use; it may import only
 * config, errors, lifecycle and features/.
 *
 * Prometheus metrics (prom-client), one registry per process, served on /metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly httpDuration: Histogram<'route'>;
  readonly loaderBatchSize: Histogram<'loader'>;
  /** Latency of store calls (Redis round trips), by store and operation. */
  readonly storeDuration: Histogram<'store' | 'op'>;
  readonly live: {
    readonly sockets: Gauge;
    readonly subscriptions: Gauge;
    readonly pushes: Counter<'field'>;
    /** Event time → message handed to the socket. */
    readonly pushLatency: Histogram;
    readonly superseded: Counter;
  };
  readonly sync: {
    readonly backlog: Gauge<'state'>;
    readonly lagSeconds: Gauge;
    /** 0 closed, 1 half-open, 2 open. */
    readonly breaker: Gauge;
    readonly written: Counter<'outcome'>;
    readonly readThrough: Counter;
    /** Seconds since the offsets of the newest recorded checkpoint were read, per `topic/partition`. */
    readonly checkpointAge: Gauge<'partition'>;
    /** Seconds the oldest unrecorded offsets have waited, by the rule holding them (0 when none holds). */
    readonly checkpointHeld: Gauge<'reason'>;
  };
  /** Redis as the hot set: users restored from MongoDB, and how long a restore took. */
  readonly hotSet: {
    /** Users brought back from MongoDB, by reason: `event` (the processor, before applying), `read` (the API's read-through). */
    readonly restored: Counter<'reason'>;
    readonly restoreDuration: Histogram<'reason'>;
  };
  /** Degraded modes: reads served by MongoDB, recoveries of a lost Redis, users parked by the sync. */
  readonly degraded: {
    readonly readFallback: Counter<'reason'>;
    readonly recovering: Gauge;
    readonly recoveries: Counter;
    readonly parked: Counter;
  };
  readonly collector: {
    readonly requests: Counter<'status' | 'app'>;
    /** Events accepted (acknowledged by Kafka) or rejected, by reason. */
    readonly events: Counter<'outcome' | 'reason'>;
    readonly produceDuration: Histogram;
    readonly rateLimited: Counter<'scope'>;
    readonly bodyBytes: Histogram;
  };
  /** What the processor's batches came to (counted by ingest/applier-metrics.ts). */
  readonly processor: {
    readonly events: Counter<'topic' | 'outcome' | 'reason'>;
    readonly batchDuration: Histogram;
    readonly storeUnavailable: Counter;
    readonly graphBatches: Counter<'outcome'>;
    readonly graphItems: Counter;
    readonly graphDuration: Histogram;
  };
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const events = new Counter({
    name: 'uas_processor_events_total',
    help: 'Activity messages by topic and outcome (applied, stale profile, duplicate with reason resent or redelivered, expired, future, skipped, dead_letter, retried); per topic they add up to the messages consumed',
    labelNames: ['topic', 'outcome', 'reason'],
    registers: [registry],
  });
  const batchDuration = new Histogram({
    name: 'uas_processor_batch_duration_seconds',
    help: 'Time to decode, apply and publish one batch',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const graphBatches = new Counter({
    name: 'uas_item_graph_batches_total',
    help: 'Batches whose item graph delta was written (ok) or refused by Redis (failed: recommendations miss it)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const graphItems = new Counter({
    name: 'uas_item_graph_items_total',
    help: 'Items whose neighbour lists a batch changed, summed over batches',
    registers: [registry],
  });
  const graphDuration = new Histogram({
    name: 'uas_item_graph_write_duration_seconds',
    help: 'Time to compute and write one batch\'s item graph delta',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const storeUnavailable = new Counter({
    name: 'uas_processor_store_unavailable_total',
    help: 'Times a batch was held because the store did not answer',
    registers: [registry],
  });
  return {
    registry,
    live: {
      sockets: new Gauge({ name: 'uas_ws_sockets', help: 'Open graphql-ws sockets', registers: [registry] }),
      subscriptions: new Gauge({ name: 'uas_subscriptions', help: 'Open subscriptions', registers: [registry] }),
      pushes: new Counter({ name: 'uas_subscription_pushes_total', help: 'Messages pushed to subscribers', labelNames: ['field'], registers: [registry] }),
      pushLatency: new Histogram({
        name: 'uas_subscription_push_latency_seconds',
        help: 'From the time of the event behind a push to the push',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers: [registry],
      }),
      superseded: new Counter({
        name: 'uas_subscription_superseded_total',
        help: 'Pending updates replaced by a newer one before a busy subscriber took them',
        registers: [registry],
      }),
    },
    sync: {
      backlog: new Gauge({ name: 'uas_sync_backlog', help: 'Users waiting for the sync, by state (dirty, claimed)', labelNames: ['state'], registers: [registry] }),
      lagSeconds: new Gauge({ name: 'uas_sync_lag_seconds', help: 'How long the oldest unsynced change has waited', registers: [registry] }),
      breaker: new Gauge({ name: 'uas_sync_breaker_state', help: 'The sync breaker: 0 closed, 1 half-open, 2 open', registers: [registry] }),
      written: new Counter({ name: 'uas_sync_profiles_total', help: 'Profiles the sync wrote, by outcome (written, stale, failed, rewritten after a late write)', labelNames: ['outcome'], registers: [registry] }),
      readThrough: new Counter({ name: 'uas_read_through_total', help: 'Users read from MongoDB because Redis did not have them', registers: [registry] }),
      checkpointAge: new Gauge({
        name: 'uas_sync_checkpoint_age_seconds',
        help: 'Since the offsets of the newest recorded sync checkpoint were read, per topic/partition: how much a recovery would replay',
        labelNames: ['partition'],
        registers: [registry],
      }),
      checkpointHeld: new Gauge({
        name: 'uas_sync_checkpoint_held_seconds',
        help: 'How long the oldest offsets not yet recorded have waited, by the rule holding them (uncertain-write, unsynced-users); 0 when none holds',
        labelNames: ['reason'],
        registers: [registry],
      }),
    },
    hotSet: {
      restored: new Counter({
        name: 'uas_users_restored_total',
        help: 'Users brought back to Redis from MongoDB (idle past REDIS_IDLE_TTL, or lost), by reason: event (before their events apply), read (the read-through)',
        labelNames: ['reason'],
        registers: [registry],
      }),
      restoreDuration: new Histogram({
        name: 'uas_user_restore_duration_seconds',
        help: 'From finding users absent in Redis to having them restored from MongoDB, by reason',
        labelNames: ['reason'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers: [registry],
      }),
    },
    degraded: {
      readFallback: new Counter({ name: 'uas_read_fallback_total', help: 'Users the API served from MongoDB instead of Redis, by reason (recovering: Redis lost its state; redis-failed: failed, slow or breaker open)', labelNames: ['reason'], registers: [registry] }),
      recovering: new Gauge({ name: 'uas_recovery_in_progress', help: '1 while this processor stops, recovers or waits for another instance to recover a lost Redis', registers: [registry] }),
      recoveries: new Counter({ name: 'uas_recoveries_total', help: 'Times this processor restarted its consumers after Redis lost its state', registers: [registry] }),
      parked: new Counter({ name: 'uas_sync_parked_users_total', help: 'User snapshots the sync parked on the parked-users topic because MongoDB would not take them (re-drive: npm run redrive-parked)', registers: [registry] }),
    },
    collector: {
      requests: new Counter({ name: 'uas_collector_requests_total', help: 'Collector requests by status and app (unknown when no app key matched)', labelNames: ['status', 'app'], registers: [registry] }),
      events: new Counter({ name: 'uas_collector_events_total', help: 'Events accepted (Kafka acknowledged) or rejected (invalid, not_json)', labelNames: ['outcome', 'reason'], registers: [registry] }),
      produceDuration: new Histogram({
        name: 'uas_collector_produce_duration_seconds',
        help: 'From the send of a request\'s events to Kafka\'s acknowledgement (acks = all)',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers: [registry],
      }),
      rateLimited: new Counter({ name: 'uas_collector_rate_limited_total', help: 'Requests refused with 429, by the limit hit (app or ip)', labelNames: ['scope'], registers: [registry] }),
      bodyBytes: new Histogram({ name: 'uas_collector_body_bytes', help: 'Bytes of event request bodies read', buckets: [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576], registers: [registry] }),
    },
    processor: { events, batchDuration, storeUnavailable, graphBatches, graphItems, graphDuration },
    httpRequests: new Counter({
      name: 'uas_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'uas_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    storeDuration: new Histogram({
      name: 'uas_store_duration_seconds',
      help: 'Latency of store calls by store and operation',
      labelNames: ['store', 'op'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
      registers: [registry],
    }),
    loaderBatchSize: new Histogram({
      name: 'uas_dataloader_batch_size',
      help: 'Keys per DataLoader batch',
      labelNames: ['loader'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    }),
  };
}
