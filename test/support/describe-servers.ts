/** One line per server saying what answered on the other end of the connection. */
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { ServerEnv } from './servers.js';

async function redisLine(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const info = await redis.info('server');
    const field = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
    return `redis: redis-server ${field('redis_version')} pid ${field('process_id')} at ${url} (${field('executable')})`;
  } finally {
    redis.disconnect();
  }
}

async function kafkaLine(brokers: string): Promise<string> {
  const admin = new Kafka({ clientId: 'describe', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    const list = cluster.brokers.map((b) => `${b.host}:${b.port} (node ${b.nodeId})`).join(', ');
    return `kafka: cluster ${cluster.clusterId}, controller ${cluster.controller}, brokers ${list}`;
  } finally {
    await admin.disconnect();
  }
}

async function mongoLine(url: string): Promise<string> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  try {
    const info = (await client.db('admin').command({ buildInfo: 1 })) as { version: string; ferretdb?: { version?: string } };
    const ferret = info.ferretdb ? ` (FerretDB ${info.ferretdb.version ?? ''})` : '';
    return `mongodb: wire protocol ${info.version}${ferret} at ${url}`;
  } finally {
    await client.close();
  }
}

export function describeServers(env: ServerEnv): Promise<string[]> {
  return Promise.all([redisLine(env.REDIS_URL), kafkaLine(env.KAFKA_BROKERS), mongoLine(env.MONGO_URL)]);
}
