/**
 * Which Redis `maxmemory-policy` values the service can live with. Redis
 * holds state that exists nowhere else until the sync has written it (a dirty
 * user's latest changes), the dirty index that tells the sync whom to write,
 * and the generation key that tells every instance whether Redis lost its
 * state. A policy that may evict any key can drop one of those silently:
 *
 *  - `noeviction`: safe. A full Redis refuses writes (OOM); the processor
 *    holds, commits nothing and resumes once memory frees.
 *  - `volatile-*`: safe. Only keys with an expiry are evicted: the
 *    collector's rate-limit counters (one evicted early lets a client through
 *    once), never a user's state, the dirty index or the generation.
 *  - `allkeys-*`: unsafe, for the reasons above.
 */
import { Cluster, type Redis } from 'ioredis';

export interface EvictionVerdict {
  /** Per node (`host:port`), the policy it reported, or undefined where CONFIG GET was refused. */
  readonly policies: Readonly<Record<string, string | undefined>>;
  /** Nodes whose policy may evict what the service relies on. */
  readonly unsafe: readonly string[];
  /** Nodes whose policy could not be read (a managed Redis may rename CONFIG). */
  readonly unknown: readonly string[];
}

/** Policies under which no key the service relies on is ever evicted. */
export const isSafePolicy = (policy: string): boolean => policy === 'noeviction' || policy.startsWith('volatile-');

async function policyOf(node: Redis): Promise<string | undefined> {
  try {
    const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined;
  }
}

/** Reads the policy of the node, or of every master of a cluster. */
export async function evictionVerdict(redis: Redis): Promise<EvictionVerdict> {
  const cluster = redis as unknown as Cluster;
  const nodes: Redis[] = cluster instanceof Cluster ? cluster.nodes('master') : [redis];
  const policies: Record<string, string | undefined> = {};
  await Promise.all(nodes.map(async (node) => (policies[`${node.options.host}:${node.options.port}`] = await policyOf(node))));
  const entries = Object.entries(policies);
  return {
    policies,
    unsafe: entries.filter(([, p]) => p !== undefined && !isSafePolicy(p)).map(([n]) => n),
    unknown: entries.filter(([, p]) => p === undefined).map(([n]) => n),
  };
}
