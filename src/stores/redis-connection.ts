/**
 * The one place that opens a Redis client: one node (`REDIS_URL`) or a Redis
 * Cluster (`REDIS_CLUSTER_NODES`), with the same per-command bounds.
 *
 * On a cluster every command and script must keep to one hash slot (keys.ts
 * gives each user, item and the sync one hash tag). The stores pipeline many
 * users at once, and ioredis sends a pipeline whole to one node, accepting it
 * when its slots merely share a node today: a resharding then fails it half
 * applied. So here a cluster pipeline is checked before anything is sent (a
 * command whose keys span slots is a bug: {@link CrossSlotError}, never
 * retried) and goes out as one pipeline per slot, in parallel, its replies
 * put back in order. A MOVED or ASK then concerns one slot's pipeline, which
 * ioredis follows by itself.
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ChainableCommander, type ClusterNode, type Command, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { ServiceError } from '../errors.js';

/** A command or script whose keys are in more than one hash slot: a bug in the key layout, the same on every try. */
export class CrossSlotError extends ServiceError {
  readonly code = 'CROSS_SLOT';
  readonly retriable = false;
}

/** A master's replicas did not acknowledge its writes in time: the batch is retried, its offsets not committed. */
export class ReplicationTimeoutError extends ServiceError {
  readonly code = 'REPLICATION_TIMEOUT';
  readonly retriable = true;
}

export type RedisConnectionOptions = Pick<Config['redis'], 'url' | 'clusterNodes' | 'commandTimeoutMs'>;
export type ReplicaWaitOptions = Pick<Config['redis'], 'waitReplicas' | 'waitTimeoutMs'>;

/**
 * Replication in Redis is asynchronous: a master killed just after a write
 * can take it along, and its promoted replica never had it. Committing a
 * batch's offsets then loses it for good. The returned function waits until
 * each master's replicas hold everything this client has written to it:
 * `WAIT` on the client's own connection to every master (WAIT covers the
 * writes sent before it on that connection; where none were, it answers at
 * once). A master with fewer connected replicas than asked (its replica died,
 * or was promoted away) is waited for by those it has, as Redis itself would
 * accept the write. Short of that within the timeout it throws
 * {@link ReplicationTimeoutError}. A no-op on a single node or for 0 replicas.
 */
export function replicaWaiter(redis: Redis, options: ReplicaWaitOptions): () => Promise<void> {
  const cluster = redis as unknown as Cluster;
  if (options.waitReplicas === 0 || !(cluster instanceof Cluster)) return () => Promise.resolve();
  return async () => {
    await Promise.all(cluster.nodes('master').map((node) => waitOn(node, options)));
  };
}

async function waitOn(node: Redis, { waitReplicas, waitTimeoutMs }: ReplicaWaitOptions): Promise<void> {
  const connected = Number(/connected_slaves:(\d+)/.exec(await node.info('replication'))?.[1] ?? 0);
  const wanted = Math.min(waitReplicas, connected);
  if (wanted === 0) return;
  const acked = await node.wait(wanted, waitTimeoutMs);
  if (acked < wanted) throw new ReplicationTimeoutError(`${acked} of ${wanted} replicas of ${node.options.host}:${node.options.port} acknowledged within ${waitTimeoutMs} ms`);
}

/**
 * A client with the service's defaults: bounded command time and retries, so
 * a dead Redis fails fast; connection errors go to `onError` (ioredis keeps
 * reconnecting by itself). With cluster nodes configured, an ioredis Cluster
 * reading from masters only (a replica may lag a write the same request just
 * made); it offers the stores the same commands, pipelines and scripts, so it
 * is handed to them under the single-node type.
 */
export function connectRedis(options: RedisConnectionOptions, onError: (error: Error) => void = () => undefined): Redis {
  // A command whose reply was lost with the connection fails rather than being sent again on reconnect:
  // after a restart the server is another one, and a write must not land there unchecked.
  const perNode: RedisOptions = { commandTimeout: options.commandTimeoutMs, maxRetriesPerRequest: 2, autoResendUnfulfilledCommands: false };
  if (options.clusterNodes.length === 0) {
    const redis = new Redis(options.url, perNode);
    redis.on('error', onError);
    return redis;
  }
  const cluster = new Cluster(options.clusterNodes.map(clusterNode), { scaleReads: 'master', redisOptions: perNode });
  cluster.on('error', onError);
  keepToOneSlot(cluster);
  return cluster as unknown as Redis;
}

function clusterNode(hostPort: string): ClusterNode {
  const at = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}

/** The one slot of `keys`, -1 for none; throws {@link CrossSlotError} for more than one. */
export function slotOf(command: string, keys: readonly (string | Buffer)[]): number {
  if (keys.length === 0) return -1;
  const slot = calculateSlot(keys[0]!);
  for (const key of keys) {
    if (calculateSlot(key) !== slot) throw new CrossSlotError(`${command} touches keys in more than one cluster slot: ${keys.map(String).join(', ')}`);
  }
  return slot;
}

/** Checks every single command's keys and splits every pipeline by slot (see the module comment). */
function keepToOneSlot(cluster: Cluster): void {
  const open = cluster.pipeline.bind(cluster);
  const send = cluster.sendCommand.bind(cluster);
  // Pipelined commands arrive here with their node and were checked as a whole before; a lone command is checked here.
  cluster.sendCommand = (command: Command, stream?: unknown, node?: unknown) => {
    if (node === undefined) {
      try {
        slotOf(command.name, command.getKeys());
      } catch (error) {
        command.reject(error as CrossSlotError);
        return command.promise;
      }
    }
    return send(command, stream as never, node);
  };
  cluster.pipeline = ((commands?: unknown[][]) => {
    if (commands !== undefined) throw new TypeError('pipeline(commands) is not supported on the cluster client: chain the commands');
    return slotSplitPipeline(open);
  });
}

interface Call {
  readonly name: string;
  readonly args: unknown[];
}

type Replies = [error: Error | null, result: unknown][];

const replay = (pipeline: ChainableCommander, calls: readonly Call[]): ChainableCommander => {
  const methods = pipeline as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const { name, args } of calls) methods[name]!(...args);
  return pipeline;
};

/** A pipeline that records its commands and, on exec, sends one real pipeline per slot. */
function slotSplitPipeline(open: () => ChainableCommander): ChainableCommander {
  const calls: Call[] = [];
  const probe = open(); // tells commands from other properties, and later each command's keys
  const recorder: ChainableCommander = new Proxy(probe, {
    get(target, prop, receiver) {
      if (prop === 'length') return calls.length;
      if (prop === 'exec') return () => execBySlot(open, probe, calls);
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function' || prop.startsWith('_')) return value;
      return (...args: unknown[]) => {
        calls.push({ name: prop, args });
        return recorder;
      };
    },
  });
  return recorder;
}

async function execBySlot(open: () => ChainableCommander, probe: ChainableCommander, calls: readonly Call[]): Promise<Replies> {
  if (calls.length === 0) return [];
  // The probe is never executed: it only turns each call (scripts included) into its command and keys.
  const queue = (replay(probe, calls) as unknown as { _queue: Command[] })._queue;
  if (queue.length !== calls.length) throw new TypeError(`a cluster pipeline call must queue one command (${calls.length} calls, ${queue.length} commands)`);
  const bySlot = new Map<number, number[]>();
  queue.forEach((command, i) => {
    const slot = slotOf(command.name === 'evalsha' || command.name === 'eval' ? calls[i]!.name : command.name, command.getKeys());
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), i]);
  });
  const replies = new Array<Replies[number]>(calls.length);
  await Promise.all(
    [...bySlot.values()].map(async (indexes) => {
      const out = (await replay(open(), indexes.map((i) => calls[i]!)).exec()) ?? [];
      indexes.forEach((callIndex, j) => (replies[callIndex] = out[j] as Replies[number]));
    }),
  );
  return replies;
}
