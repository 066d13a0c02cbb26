import type { Cluster, Redis } from 'ioredis';
import type { KeySpace } from './keys';
import { lua } from './lua-scripts';

/** The consumer group every dispatcher reads the partition outboxes with. */
export const DISPATCH_GROUP = 'dispatch';

export interface OutboxEntry {
  partition: number;
  id: string;
  uetr: string;
  /** W3C traceparent of the step that enqueued the instruction, '' when none. */
  traceparent: string;
}

/**
 * The partition outbox streams as a work queue: a consumer group hands each entry to one
 * dispatcher, the entry stays pending until the state change that settles it acknowledges it, and
 * the entries of a dispatcher that stopped answering are claimed by another after an idle bound.
 */
export interface Outbox {
  ensureGroup(partition: number): Promise<void>;
  /** New entries for this consumer, waiting up to `blockMs` on a connection reserved for blocking reads. */
  read(
    blocking: Redis | Cluster,
    partition: number,
    consumer: string,
    count: number,
    blockMs: number,
  ): Promise<OutboxEntry[]>;
  /** Entries other consumers left pending longer than `minIdleMs`, now this consumer's. */
  claimIdle(
    partition: number,
    consumer: string,
    minIdleMs: number,
    cursor: string,
    count: number,
  ): Promise<{ entries: OutboxEntry[]; cursor: string }>;
  /** Resets the idle time of entries this consumer is still working on, so nobody claims them. */
  touch(partition: number, consumer: string, ids: string[]): Promise<void>;
  /** Acknowledges entries whose instruction was settled by someone else (or no longer exists). */
  ack(partition: number, ids: string[]): Promise<void>;
  /** Drops entries every consumer is done with; answers how many were removed. */
  trim(partition: number): Promise<number>;
  /**
   * Removes the group's consumers other than `self` that hold no pending entry and have not read
   * for `idleMs` (dispatchers that stopped or were killed, one per process start); answers how
   * many. A consumer holding entries is kept for XAUTOCLAIM to take them over.
   */
  pruneConsumers(partition: number, self: string, idleMs: number): Promise<number>;
  /** Entries not yet acknowledged or not yet read, per partition (the dispatch lag). */
  backlog(partition: number): Promise<{ pending: number; unread: number }>;
}

type StreamReply = [string, [string, string[]][]][] | null;

function entryOf(partition: number, id: string, fields: string[] | null): OutboxEntry {
  const f = new Map<string, string>();
  if (fields) for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  return { partition, id, uetr: f.get('uetr') ?? '', traceparent: f.get('traceparent') ?? '' };
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

type OutboxScriptClient = (Redis | Cluster) & {
  removeIdleConsumer(key: string, group: string, consumer: string): Promise<number>;
};

export function createOutbox(redis: Redis | Cluster, keys: KeySpace): Outbox {
  redis.defineCommand('removeIdleConsumer', { numberOfKeys: 1, lua: lua('remove-idle-consumer') });
  const scripts = redis as OutboxScriptClient;
  /** The dispatch group's XINFO GROUPS fields, or null before the group exists. */
  async function groupInfo(key: string): Promise<Map<string, string | number | null> | null> {
    const groups = (await redis.xinfo('GROUPS', key).catch((err: unknown) => {
      if (err instanceof Error && err.message.includes('no such key')) return [];
      throw err;
    })) as (string | number | null)[][];
    for (const g of groups) {
      const fields = new Map<string, string | number | null>();
      for (let i = 0; i + 1 < g.length; i += 2) fields.set(String(g[i]), g[i + 1]);
      if (fields.get('name') === DISPATCH_GROUP) return fields;
    }
    return null;
  }

  async function ensureGroup(partition: number): Promise<void> {
    try {
      // From the stream's start: entries written before any dispatcher ran are delivered too.
      await redis.xgroup('CREATE', keys.outbox(partition), DISPATCH_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
  }

  /**
   * A Redis that came back empty (restarted without persistence, or failed over to a replica that
   * had not yet received the group) answers NOGROUP to every read: the group is created again, from
   * the stream's start, and the caller gets `empty` and reads again on its next round, instead of
   * failing every round until a dispatcher restarts. Other errors pass through.
   */
  async function recreateLostGroup<T>(partition: number, err: unknown, empty: T): Promise<T> {
    if (!(err instanceof Error) || !err.message.startsWith('NOGROUP')) throw err;
    await ensureGroup(partition);
    return empty;
  }

  return {
    ensureGroup,

    async read(blocking, partition, consumer, count, blockMs) {
      const reply = (await blocking
        .xreadgroup(
          'GROUP',
          DISPATCH_GROUP,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          blockMs,
          'STREAMS',
          keys.outbox(partition),
          '>',
        )
        .catch((err: unknown) => recreateLostGroup(partition, err, null))) as StreamReply;
      if (reply === null) return [];
      return reply.flatMap(([, entries]) => entries.map(([id, fields]) => entryOf(partition, id, fields)));
    },

    async claimIdle(partition, consumer, minIdleMs, cursor, count) {
      const [next, claimed] = (await redis
        .xautoclaim(keys.outbox(partition), DISPATCH_GROUP, consumer, minIdleMs, cursor, 'COUNT', count)
        .catch((err: unknown) => recreateLostGroup(partition, err, ['0-0', []]))) as [
        string,
        [string, string[] | null][],
      ];
      return { cursor: next, entries: claimed.map(([id, fields]) => entryOf(partition, id, fields)) };
    },

    async touch(partition, consumer, ids) {
      if (ids.length === 0) return;
      await redis.xclaim(keys.outbox(partition), DISPATCH_GROUP, consumer, 0, ...ids, 'JUSTID');
    },

    async ack(partition, ids) {
      if (ids.length > 0) await redis.xack(keys.outbox(partition), DISPATCH_GROUP, ...ids);
    },

    async trim(partition) {
      const key = keys.outbox(partition);
      const group = await groupInfo(key);
      if (!group) return 0;
      let keep = String(group.get('last-delivered-id'));
      const summary = (await redis.xpending(key, DISPATCH_GROUP)) as [number, string | null, string | null];
      if (summary[0] > 0 && summary[1] !== null && compareIds(summary[1], keep) < 0) keep = summary[1];
      // Everything before `keep` is acknowledged and was read by the group: nobody needs it again.
      return Number(await redis.xtrim(key, 'MINID', keep));
    },

    async pruneConsumers(partition, self, idleMs) {
      const key = keys.outbox(partition);
      const consumers = (await redis.xinfo('CONSUMERS', key, DISPATCH_GROUP).catch((err: unknown) => {
        if (err instanceof Error && /no such key|NOGROUP/.test(err.message)) return [];
        throw err;
      })) as (string | number)[][];
      let removed = 0;
      for (const c of consumers) {
        const fields = new Map<string, string | number>();
        for (let i = 0; i + 1 < c.length; i += 2) fields.set(String(c[i]), c[i + 1]);
        const name = String(fields.get('name'));
        if (name === self || Number(fields.get('pending')) > 0 || Number(fields.get('idle')) < idleMs)
          continue;
        removed += Number(await scripts.removeIdleConsumer(key, DISPATCH_GROUP, name));
      }
      return removed;
    },

    async backlog(partition) {
      const key = keys.outbox(partition);
      const group = await groupInfo(key);
      if (group) return { pending: Number(group.get('pending') ?? 0), unread: Number(group.get('lag') ?? 0) };
      return { pending: 0, unread: Number(await redis.xlen(key)) };
    },
  };
}
