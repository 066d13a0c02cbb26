import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SpanKind, trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { RouteTable } from '../routing/route-table';
import type { Reason, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import type { KeySpace } from '../store/keys';
import { DISPATCH_GROUP, type Outbox, type OutboxEntry } from '../store/outbox';
import type { Logger } from '../telemetry/logger';
import { extractContext, tracer } from '../telemetry/tracing';
import { createBreakerRegistry, type BreakerSettings, type BreakerState } from './circuit-breaker';
import { deliverInstruction, type DeliveryOutcome } from './deliver-instruction';
import { counterpartyKey, type ReceiverClients } from './receiver-clients';
import type { RetrySettings } from './retry-policy';

export interface DispatchSettings {
  /** Instructions one dispatcher works on at once (calls in flight and retries waiting). */
  concurrency: number;
  /** An outbox entry pending this long with another dispatcher is taken over. */
  claimIdleMs: number;
  /** How long one blocking outbox read waits for new entries. */
  blockMs: number;
  /** How often fully processed outbox entries are trimmed. */
  trimEveryMs: number;
  retry: RetrySettings;
  breaker: BreakerSettings;
  defaultDeadlineMs: number;
}

export interface DispatcherDeps {
  /** For commands; each partition also gets a blocking connection of its own, duplicated from it. */
  redis: Redis;
  keys: KeySpace;
  store: InstructionStore;
  outbox: Outbox;
  routes: RouteTable;
  clients: ReceiverClients;
  log: Logger;
  settings: DispatchSettings;
  now?: () => number;
  random?: () => number;
}

export interface Dispatcher {
  readonly consumer: string;
  inFlight(): number;
  breakers(): { key: string; state: BreakerState }[];
  /**
   * Stops reading, lets deliveries under way finish for up to `graceMs`, then abandons the rest:
   * their outbox entries stay pending and another dispatcher claims them after the idle bound.
   */
  stop(graceMs: number): Promise<void>;
}

const READ_BATCH = 32;

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The dispatcher: takes accepted instructions off the partition outboxes (a consumer group, so
 * several dispatchers share the work), routes each through the cached route table, delivers it and
 * settles it as DELIVERED or FAILED. The outbox entry is acknowledged by the same Lua step that
 * records the final state, so a crash at any point leaves the entry pending for another dispatcher,
 * never an instruction that is neither settled nor queued.
 */
export async function startDispatcher(deps: DispatcherDeps): Promise<Dispatcher> {
  const { redis, keys, store, outbox, routes, clients, log, settings } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const breakers = createBreakerRegistry(settings.breaker, now);
  const abandon = new AbortController();
  const partitions = Array.from({ length: keys.partitions }, (_, p) => p);
  const inProgress = partitions.map(() => new Map<string, Promise<void>>());
  let stopping = false;
  let slotWaiters: (() => void)[] = [];
  const active = () => inProgress.reduce((n, m) => n + m.size, 0);

  for (const p of partitions) await outbox.ensureGroup(p);
  const blocking = partitions.map(() =>
    redis.duplicate({ commandTimeout: undefined, maxRetriesPerRequest: null, enableAutoPipelining: false }),
  );
  for (const c of blocking)
    c.on('error', (err: Error) => log.debug({ err: err.message }, 'outbox reader connection error'));

  const waitForSlot = (): Promise<void> =>
    active() < settings.concurrency ? Promise.resolve() : new Promise((resolve) => slotWaiters.push(resolve));
  const slotFreed = () => {
    const waiters = slotWaiters;
    slotWaiters = [];
    for (const w of waiters) w();
  };

  async function settle(entry: OutboxEntry, to: State, reason: Reason, traceId: string): Promise<void> {
    const moved = await store.transition({
      uetr: entry.uetr,
      from: ['ACCEPTED'],
      to,
      reason,
      traceId,
      traceparent: '',
      nowMs: now(),
      ack: { group: DISPATCH_GROUP, entryId: entry.id },
    });
    if (moved.kind !== 'ok') await outbox.ack(entry.partition, [entry.id]);
  }

  async function dispatchEntry(entry: OutboxEntry): Promise<void> {
    const parent = extractContext(entry.traceparent === '' ? {} : { traceparent: entry.traceparent });
    const span = tracer.startSpan(
      'caravan.dispatch',
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'caravan.uetr': entry.uetr, 'caravan.partition': entry.partition },
      },
      parent,
    );
    const traceId = span.spanContext().traceId;
    try {
      const record = await store.get(entry.uetr);
      if (record === null || record.state !== 'ACCEPTED') {
        // A duplicate entry (the instruction was settled by another dispatcher), or one whose
        // record is gone: nothing to deliver.
        if (record === null) log.error({ uetr: entry.uetr }, 'outbox entry without an instruction record');
        await outbox.ack(entry.partition, [entry.id]);
        return;
      }
      span.setAttribute('caravan.participant', record.participant);
      const rule = routes.find(record.instruction);
      if (rule === null) {
        const agent = record.instruction.creditorAgent?.bic ?? '';
        await settle(
          entry,
          'FAILED',
          {
            code: 'CNOR',
            description: `no route to creditor agent ${agent} any more: the route was removed after acceptance`,
          },
          traceId,
        );
        span.setAttributes({ 'caravan.state': 'FAILED', 'caravan.reason': 'CNOR' });
        log.warn(
          { uetr: entry.uetr, participant: record.participant, reason: 'CNOR' },
          'delivery failed: no route',
        );
        return;
      }
      span.setAttribute('caravan.route', rule.id);
      const outcome: DeliveryOutcome = await deliverInstruction(
        {
          clients,
          breakers,
          store,
          retry: settings.retry,
          defaultDeadlineMs: settings.defaultDeadlineMs,
          now,
          random,
          sleep,
        },
        {
          uetr: entry.uetr,
          instruction: record.instruction,
          rule,
          traceId,
          parent: trace.setSpan(parent, span),
          signal: abandon.signal,
        },
      );
      switch (outcome.kind) {
        case 'delivered':
          await settle(
            entry,
            'DELIVERED',
            { code: '', description: `delivered to ${outcome.counterparty} (attempt ${outcome.attempt})` },
            traceId,
          );
          span.setAttribute('caravan.state', 'DELIVERED');
          log.info(
            {
              uetr: entry.uetr,
              participant: record.participant,
              counterparty: outcome.counterparty,
              attempt: outcome.attempt,
            },
            'instruction delivered',
          );
          return;
        case 'failed':
          await settle(entry, 'FAILED', outcome.reason, traceId);
          span.setAttributes({ 'caravan.state': 'FAILED', 'caravan.reason': outcome.reason.code });
          log.warn(
            {
              uetr: entry.uetr,
              participant: record.participant,
              route: rule.id,
              reason: outcome.reason.code,
            },
            'delivery failed: dead-lettered for replay',
          );
          return;
        case 'not-deliverable':
          await outbox.ack(entry.partition, [entry.id]);
          return;
        case 'abandoned':
          span.setAttribute('caravan.abandoned', true);
          return;
      }
    } finally {
      span.end();
    }
  }

  function launch(entry: OutboxEntry): void {
    const running = inProgress[entry.partition];
    if (running.has(entry.id)) return;
    const work = dispatchEntry(entry)
      .catch((err: unknown) => {
        // Redis failed mid-way: the entry stays pending and is claimed again after the idle bound.
        log.warn(
          { uetr: entry.uetr, err: (err as Error).message },
          'dispatch interrupted; the entry will be retried',
        );
      })
      .finally(() => {
        running.delete(entry.id);
        slotFreed();
      });
    running.set(entry.id, work);
  }

  async function readLoop(p: number): Promise<void> {
    while (!stopping) {
      await waitForSlot();
      if (stopping) return;
      try {
        const free = Math.max(1, settings.concurrency - active());
        const entries = await outbox.read(
          blocking[p],
          p,
          consumer,
          Math.min(READ_BATCH, free),
          settings.blockMs,
        );
        for (const entry of entries) launch(entry);
      } catch (err) {
        if (stopping) return;
        log.warn({ partition: p, err: (err as Error).message }, 'outbox read failed; retrying');
        await sleep(1_000, abandon.signal);
      }
    }
  }

  async function claimIdle(): Promise<void> {
    for (const p of partitions) {
      let cursor = '0-0';
      do {
        const free = settings.concurrency - active();
        if (free <= 0 || stopping) return;
        const claimed = await outbox.claimIdle(
          p,
          consumer,
          settings.claimIdleMs,
          cursor,
          Math.min(READ_BATCH, free),
        );
        for (const entry of claimed.entries) {
          log.info(
            { uetr: entry.uetr, partition: p },
            'took over an outbox entry left by a stopped dispatcher',
          );
          launch(entry);
        }
        cursor = claimed.cursor;
      } while (cursor !== '0-0');
    }
  }

  async function touchAll(): Promise<void> {
    await Promise.all(partitions.map((p) => outbox.touch(p, consumer, [...inProgress[p].keys()])));
  }

  async function trimAll(): Promise<void> {
    for (const p of partitions) await outbox.trim(p);
  }

  const every = (ms: number, what: string, fn: () => Promise<void>) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stopping) return;
      busy = true;
      fn()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, `${what} failed`))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(Math.max(250, Math.floor(settings.claimIdleMs / 2)), 'claiming idle outbox entries', claimIdle),
    every(Math.max(100, Math.floor(settings.claimIdleMs / 3)), 'refreshing outbox claims', touchAll),
    every(settings.trimEveryMs, 'trimming the outbox', trimAll),
  ];
  const pruneClients = () =>
    clients.prune(new Set(routes.rules().flatMap((r) => r.counterparties.map(counterpartyKey))));
  timers.push(every(10_000, 'closing unused counterparty channels', () => Promise.resolve(pruneClients())));

  const loops = partitions.map((p) => readLoop(p));
  claimIdle().catch((err: unknown) =>
    log.warn({ err: (err as Error).message }, 'claiming idle outbox entries failed'),
  );
  log.info(
    { consumer, partitions: partitions.length, concurrency: settings.concurrency },
    'dispatcher started',
  );

  return {
    consumer,
    inFlight: active,
    breakers: () => breakers.states(),
    async stop(graceMs) {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearInterval(t);
      slotFreed();
      for (const c of blocking) c.disconnect();
      await Promise.all(loops);
      const all = () => Promise.all(inProgress.flatMap((m) => [...m.values()]));
      const grace = new AbortController();
      const finished = await Promise.race([
        all().then(() => true),
        sleep(graceMs, grace.signal).then(() => false),
      ]);
      grace.abort();
      if (!finished) {
        log.warn({ inFlight: active() }, 'dispatcher stopping: abandoning deliveries still under way');
        abandon.abort();
        await all();
      }
      abandon.abort();
      clients.close();
      log.info({ consumer }, 'dispatcher stopped');
    },
  };
}
