import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import type { RouteRule } from '../routing/route-rule';
import type { AuditIntent } from './audit-log';
import { intentArgs } from './audit-log';
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
  /**
   * Stores the rule, leaving pending beside it the audit entry `audit` makes of the version the
   * change will make and whether it replaces a rule.
   */
  put(rule: RouteRule, audit?: AuditOf): Promise<RouteChange & { audit?: AuditIntent }>;
  /** Null when no rule has the id (nothing changes then). */
  remove(id: string, audit?: AuditOf): Promise<(RouteChange & { audit?: AuditIntent }) | null>;
  /** Where route changes leave their audit entries pending (AuditLog.settle). */
  auditPending(): string;
}

export interface RouteChange {
  version: number;
  replaced: boolean;
}

type AuditOf = (change: RouteChange) => AuditIntent;

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
  changeRoute(...args: string[]): Promise<[string, number?]>;
};

/** A concurrent change moved the version between the read and the write this many times: give up. */
const MAX_CHANGE_ATTEMPTS = 20;

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
  redis.defineCommand('changeRoute', { numberOfKeys: 3, lua: lua('change-route') });
  const scripts = redis as RouteScriptClient;
  const pending = keys.routesAuditPending();

  /** ruleJson '' removes the rule. */
  async function change(id: string, ruleJson: string, audit: AuditOf | undefined) {
    for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
      const [current, exists] = await exec<[string | null, number]>(
        redis.multi().get(versionKey).hexists(table, id),
      );
      if (ruleJson === '' && exists === 0) return null;
      const expected = Number(current ?? 0);
      const made = { version: expected + 1, replaced: exists === 1 };
      const entry = audit?.(made);
      const [outcome] = await scripts.changeRoute(
        table,
        versionKey,
        pending,
        String(expected),
        id,
        ruleJson,
        ...intentArgs(entry),
      );
      if (outcome === 'absent') return null;
      if (outcome === 'ok') {
        await announce(made.version);
        return { ...made, audit: entry };
      }
    }
    throw new Error('the route table kept changing under a route change; try again');
  }

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

    async put(rule, audit) {
      const done = await change(rule.id, JSON.stringify(rule), audit);
      if (done === null) throw new StoreDataError('a route put answered absent');
      return done;
    },

    remove: (id, audit) => change(id, '', audit),

    auditPending: () => pending,
  };
}
