import { randomBytes } from 'node:crypto';
import Redis, { Cluster } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for one spec, so specs sharing the Redis never see each other's keys. */
export function uniquePrefix(name: string): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}

export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
}

/**
 * Every key under the prefix, found with a bounded SCAN (never KEYS). A SCAN covers one node, so on
 * a Cluster every master is scanned.
 */
export async function keysUnder(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
  }
  return found;
}

export async function deleteUnder(redis: Redis | Cluster, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (redis instanceof Cluster) {
    // Keys of different slots cannot share one UNLINK on a Cluster: one each (auto-pipelined).
    await Promise.all(keys.map((key) => redis.unlink(key)));
    return;
  }
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}
