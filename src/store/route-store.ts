import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import type { RouteRule } from '../routing/route-rule';
import { StoreDataError } from './store-data';
import type { KeySpace } from './keys';
import { lua } from './lua-scripts';

export interface RouteTableSnapshot {
  version: number;
  rules: RouteRule[];
}

/** The route table in Redis: one hash of rules and a version counter, in one slot. */
export interface RouteStore {
  read(): Promise<RouteTableSnapshot>;
  version(): Promise<number>;
  put(rule: RouteRule): Promise<{ version: number; replaced: boolean }>;
  /** Null when no rule has the id. */
  remove(id: string): Promise<{ version: number } | null>;
}

const storedRule = z.object({
  id: z.string(),
  match: z.object({
    creditorAgent: z.string(),
    currency: z.string(),
    minAmount: z.string(),
    maxAmount: z.string(),
  }),
  priority: z.number().int(),
  counterparties: z.array(
    z.object({
      name: z.string(),
      address: z.string(),
      transport: z.enum(['tls', 'plaintext']),
      serverName: z.string(),
      caPem: z.string(),
      deadlineMs: z.number().int(),
    }),
  ),
  updatedBy: z.string(),
  updatedAtMs: z.number(),
});

type RouteScriptClient = (Redis | Cluster) & {
  removeRoute(table: string, version: string, id: string): Promise<number>;
};

function parseRule(id: string, json: string): RouteRule {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new StoreDataError(`route ${JSON.stringify(id)} in Redis is not JSON`);
  }
  const parsed = storedRule.safeParse(value);
  if (!parsed.success) throw new StoreDataError(`route ${JSON.stringify(id)} in Redis is malformed`);
  return parsed.data;
}

export function createRouteStore(redis: Redis | Cluster, keys: KeySpace): RouteStore {
  const table = keys.routes();
  const versionKey = keys.routesVersion();
  const announce = (version: number) => redis.publish(keys.routesChannel(), String(version));
  redis.defineCommand('removeRoute', { numberOfKeys: 2, lua: lua('remove-route') });
  const scripts = redis as RouteScriptClient;

  async function exec<T extends unknown[]>(multi: ReturnType<Redis['multi']>): Promise<T> {
    const replies = await multi.exec();
    if (replies === null) throw new StoreDataError('transaction aborted on the route table');
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as T;
  }

  return {
    async read() {
      // One MULTI on one slot: the rules and the version they belong to are read together.
      const [version, hash] = await exec<[string | null, Record<string, string>]>(
        redis.multi().get(versionKey).hgetall(table),
      );
      const rules = Object.entries(hash).map(([id, json]) => parseRule(id, json));
      return { version: Number(version ?? 0), rules };
    },

    async version() {
      return Number((await redis.get(versionKey)) ?? 0);
    },

    async put(rule) {
      const [added, version] = await exec<[number, number]>(
        redis.multi().hset(table, rule.id, JSON.stringify(rule)).incr(versionKey),
      );
      await announce(version);
      return { version, replaced: added === 0 };
    },

    async remove(id) {
      // The version moves only when a rule went: removing an unknown id (NOT_FOUND) changes nothing.
      const version = Number(await scripts.removeRoute(table, versionKey, id));
      if (version === 0) return null;
      await announce(version);
      return { version };
    },
  };
}
