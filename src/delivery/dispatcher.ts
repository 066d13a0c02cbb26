import { setMaxListeners } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import type { Cluster, Redis } from 'ioredis';
import type { RouteTable } from '../routing/route-table';
import type { InstructionRecord, Reason, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import type { KeySpace } from '../store/keys';
import { duplicateForBlocking } from '../store/redis-client';
import { DISPATCH_GROUP, type Outbox, type OutboxEntry } from '../store/outbox';
import type { Logger } from '../telemetry/logger';
import { caravanInstruments, countConnectionErrors } from '../telemetry/metrics';
import { extractContext, inSpan, tracer } from '../telemetry/tracing';
import { createBreakerRegistry, type BreakerSettings, type BreakerState } from './circuit-breaker';
import { deliverInstruction, type DeliveryOutcome } from './deliver-instruction';
import { observeDispatcher } from './dispatcher-metrics';
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
  redis: Redis | Cluster;
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
/**
 * Entries held at once (working or waiting out a backoff), as a multiple of the concurrency: bounds
 * the memory a counterparty that never answers can make the dispatcher hold.
 */
const HELD_PER_SLOT = 8;

/** How an entry reached this dispatcher: a new one read from the stream, or taken over (XAUTOCLAIM). */
type Claim = 'read' | 'takeover';

/** When the instruction last became ACCEPTED (at intake, or on a release or replay). */
function acceptedAtMs(record: InstructionRecord): number {
  const accepted = record.history.filter((e) => e.state === 'ACCEPTED').pop();
  return accepted?.occurredAtMs ?? record.updatedAtMs;
}

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
  /** A consumer this long without a read, holding nothing, is a dispatcher that is gone. */
  const consumerIdleMs = Math.max(10 * settings.claimIdleMs, 60_000);
  const breakers = createBreakerRegistry(settings.breaker, now);
  const abandon = new AbortController();
  // Every entry held (under way or waiting out a backoff) listens on this one signal; that many
  // listeners is expected.
  setMaxListeners(settings.concurrency * HELD_PER_SLOT + 16, abandon.signal);
  const partitions = Array.from({ length: keys.partitions }, (_, p) => p);
  const inProgress = partitions.map(() => new Map<string, Promise<void>>());
  let stopping = false;
  let slotWaiters: (() => void)[] = [];
  /** Entries waiting out a backoff between rounds: they hold no delivery slot meanwhile. */
  let backingOff = 0;
  const held = () => inProgress.reduce((n, m) => n + m.size, 0);
  const active = () => held() - backingOff;

  for (const p of partitions) await outbox.ensureGroup(p);
  const blocking = partitions.map(() => duplicateForBlocking(redis));
  for (const c of blocking) {
    c.on('error', (err: Error) => log.debug({ err: err.message }, 'outbox reader connection error'));
    countConnectionErrors(c);
  }

  const slotChange = (): Promise<void> => new Promise((resolve) => slotWaiters.push(resolve));
  /** Until a new entry may be read: a free slot, and room to hold it. */
  async function waitForSlot(): Promise<void> {
    while (!stopping && (active() >= settings.concurrency || held() >= settings.concurrency * HELD_PER_SLOT))
      await slotChange();
  }

  /**
   * The backoff between delivery rounds, without a slot: a counterparty that hangs or whose circuit
   * is open would otherwise keep every slot asleep and stall deliveries to everyone else. A woken
   * entry waits for a free slot like a new one (it still counts as backing off until it has one).
   */
  async function backOff(ms: number, signal: AbortSignal): Promise<boolean> {
    backingOff++;
    try {
      slotFreed();
      if (!(await sleep(ms, signal))) return false;
      while (active() >= settings.concurrency && !signal.aborted) await slotChange();
      return !signal.aborted;
    } finally {
      backingOff--;
    }
  }
  const slotFreed = () => {
    const waiters = slotWaiters;
    slotWaiters = [];
    for (const w of waiters) w();
  };

  /**
   * Records the final state and acknowledges the entry; answers the reason recorded (a stop
   * request's, with `preferStopReason`), or null when someone else settled it first.
   */
  async function settle(
    entry: OutboxEntry,
    to: State,
    reason: Reason,
    traceId: string,
    preferStopReason = false,
  ): Promise<Reason | null> {
    const moved = await store.transition({
      uetr: entry.uetr,
      from: ['ACCEPTED'],
      to,
      reason,
      traceId,
      traceparent: '',
      nowMs: now(),
      ack: { group: DISPATCH_GROUP, entryId: entry.id },
      preferStopReason,
    });
    if (moved.kind === 'ok') return moved.stopReason ?? reason;
    await outbox.ack(entry.partition, [entry.id]);
    return null;
  }

  /**
   * One entry's delivery, in a CONSUMER span that is a child of the context stored with the entry
   * (the submission's server span), so the dispatcher's work continues the submission's trace.
   */
  async function dispatchEntry(entry: OutboxEntry, claim: Claim): Promise<void> {
    const parent = extractContext(entry.traceparent === '' ? {} : { traceparent: entry.traceparent });
    const span = tracer.startSpan(
      'caravan.dispatch',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'redis',
          'messaging.operation.type': 'process',
          'messaging.destination.name': keys.outbox(entry.partition),
          'messaging.consumer.group.name': DISPATCH_GROUP,
          'messaging.message.id': entry.id,
          'caravan.uetr': entry.uetr,
          'caravan.partition': entry.partition,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    try {
      await context.with(active, () => deliverEntry(entry, claim, span, active));
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  }

  async function deliverEntry(entry: OutboxEntry, claim: Claim, span: Span, active: Context): Promise<void> {
    const traceId = span.spanContext().traceId;
    const record = await inSpan(
      'caravan.outbox.claim',
      {
        'messaging.system': 'redis',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': keys.outbox(entry.partition),
        'messaging.message.id': entry.id,
        'caravan.claim': claim,
      },
      async (claimSpan) => {
        const found = await store.get(entry.uetr);
        if (found !== null) claimSpan.setAttribute('caravan.state', found.state);
        return found;
      },
    );
    if (record === null || record.state !== 'ACCEPTED') {
      // A duplicate entry (the instruction was settled by another dispatcher), or one whose
      // record is gone: nothing to deliver.
      if (record === null) log.error({ uetr: entry.uetr }, 'outbox entry without an instruction record');
      await outbox.ack(entry.partition, [entry.id]);
      return;
    }
    span.setAttribute('caravan.participant', record.participant);
    const rule = tracer.startActiveSpan('caravan.route', (routeSpan) => {
      const found = routes.find(record.instruction);
      routeSpan.setAttributes(
        found === null
          ? { 'caravan.route': '', 'caravan.reason': 'CNOR' }
          : {
              'caravan.route': found.id,
              'caravan.counterparties': found.counterparties.map((c) => c.name),
            },
      );
      routeSpan.end();
      return found;
    });
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
        sleep: backOff,
      },
      {
        uetr: entry.uetr,
        instruction: record.instruction,
        rule,
        traceId,
        parent: active,
        signal: abandon.signal,
      },
    );
    switch (outcome.kind) {
      case 'delivered':
        if (
          (await settle(
            entry,
            'DELIVERED',
            { code: '', description: `delivered to ${outcome.counterparty} (attempt ${outcome.attempt})` },
            traceId,
          )) !== null
        ) {
          caravanInstruments().deliveryLatency.record((now() - acceptedAtMs(record)) / 1000, {
            'caravan.counterparty': outcome.counterparty,
          });
        }
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
      case 'exhausted': {
        const reason =
          (await settle(entry, 'FAILED', outcome.reason, traceId, outcome.kind === 'exhausted')) ??
          outcome.reason;
        span.setAttributes({ 'caravan.state': 'FAILED', 'caravan.reason': reason.code });
        log.warn(
          {
            uetr: entry.uetr,
            participant: record.participant,
            route: rule.id,
            reason: reason.code,
          },
          'delivery failed: dead-lettered for replay',
        );
        return;
      }
      case 'not-deliverable':
        await outbox.ack(entry.partition, [entry.id]);
        return;
      case 'abandoned':
        span.setAttribute('caravan.abandoned', true);
        return;
    }
  }

  function launch(entry: OutboxEntry, claim: Claim): void {
    const running = inProgress[entry.partition];
    if (running.has(entry.id)) return;
    const work = dispatchEntry(entry, claim)
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
        for (const entry of entries) launch(entry, 'read');
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
          launch(entry, 'takeover');
        }
        cursor = claimed.cursor;
      } while (cursor !== '0-0');
    }
  }

  async function touchAll(): Promise<void> {
    await Promise.all(partitions.map((p) => outbox.touch(p, consumer, [...inProgress[p].keys()])));
  }

  async function trimAll(): Promise<void> {
    for (const p of partitions) {
      await outbox.trim(p);
      await outbox.pruneConsumers(p, consumer, consumerIdleMs);
    }
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

  const observation = observeDispatcher(outbox, partitions, breakers, routes);
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
      observation.stop();
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
        slotFreed(); // entries woken from a backoff and waiting for a slot see the abort
        await all();
      }
      abandon.abort();
      clients.close();
      log.info({ consumer }, 'dispatcher stopped');
    },
  };
}
