import type { InstructionRecord, StatusEventRecord } from '../store/instruction-record';
import { TERMINAL_STATES } from '../store/instruction-record';
import type { EventFeed } from '../store/event-feed';
import type { InstructionStore } from '../store/instruction-store';
import { StoreDataError } from '../store/store-data';
import type { FieldViolation, SettlementError } from './errors';
import { invalidArgument, isSettlementError } from './errors';
import { mayInstructAs } from './participant';

const UETR = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The UETR if it is a well-formed one, else ''. Logs and spans take a caller's UETR only through
 * this, since before validation the field may hold anything — a megabyte, or a person's name.
 */
export function loggableUetr(uetr: string): string {
  return UETR.test(uetr) ? uetr : '';
}

function checkUetr(uetr: string): SettlementError | null {
  if (UETR.test(uetr)) return null;
  const violation: FieldViolation = {
    field: 'uetr',
    description:
      uetr === ''
        ? 'is required'
        : 'must be a lower-case UUID version 4, e.g. 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c',
  };
  return invalidArgument([violation]);
}

function notFound(uetr: string): SettlementError {
  // The same answer whether the instruction is absent or belongs to someone else: a participant
  // learns nothing about other participants' instructions.
  return { kind: 'not-found', message: `no instruction with UETR ${uetr} for this participant` };
}

export interface ReadDeps {
  store: InstructionStore;
  feed: EventFeed;
  /** How often a watcher re-reads Redis even without a notification. */
  pollMs: number;
  /**
   * How long a watch waits out Redis failing to answer (a restart, a failover) before it ends with
   * UNAVAILABLE; its reads are retried at each poll and when the connection is back.
   */
  outageBoundMs: number;
  now: () => number;
}

export interface WatchContext {
  participant: string;
  /** Aborted when the client cancels or the server shuts down. */
  signal: AbortSignal;
}

export interface InstructionReader {
  get(participant: string, uetr: string): Promise<InstructionRecord | SettlementError>;
  /**
   * Checks the caller may see the instruction, then yields its status events from the first one
   * on and each new one as it is recorded, returning after a terminal state or when the signal
   * aborts, or after yielding the error that ends it (storage away for longer than its bound).
   */
  watch(ctx: WatchContext, uetr: string): Promise<AsyncGenerator<WatchItem, void, void> | SettlementError>;
}

/** A status event as a watcher sees it: `final` on the last one, after which the watch ends. */
export type WatchedEvent = StatusEventRecord & { final: boolean };

/** What a watch yields: status events, or the error it ends with. */
export type WatchItem = WatchedEvent | SettlementError;

export function createInstructionReader(deps: ReadDeps): InstructionReader {
  const owned = (participant: string, record: InstructionRecord) =>
    mayInstructAs(participant, record.instruction.instructingAgent?.bic ?? record.participant);

  async function get(participant: string, uetr: string) {
    const bad = checkUetr(uetr);
    if (bad) return bad;
    const record = await deps.store.get(uetr);
    if (record === null || !owned(participant, record)) return notFound(uetr);
    return record;
  }

  /**
   * Yields the history already read with the record, then whatever is recorded after it. The first
   * pass of the loop reads after the last known event anyway, so a change made between reading the
   * record and listening for notifications is not missed.
   */
  async function* follow(
    ctx: WatchContext,
    record: InstructionRecord,
  ): AsyncGenerator<WatchItem, void, void> {
    const uetr = record.uetr;
    let wake: (() => void) | null = null;
    let dirty = true;
    const signalChange = () => {
      dirty = true;
      wake?.();
    };
    const unlisten = deps.feed.listen(uetr, signalChange);
    ctx.signal.addEventListener('abort', signalChange);
    const timer = setInterval(signalChange, deps.pollMs);
    let last = '0';
    let failingSince: number | null = null;
    // A terminal event followed by more events was left again (a replayed FAILED delivery): the
    // watch ends only at a terminal state that is the latest one.
    const endsAt = (events: readonly StatusEventRecord[], i: number) =>
      i === events.length - 1 && TERMINAL_STATES.has(events[i].state);
    try {
      for (const [i, event] of record.history.entries()) {
        last = event.streamId;
        const final = endsAt(record.history, i);
        yield { ...event, final };
        if (final) return;
      }
      while (!ctx.signal.aborted) {
        if (!dirty) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
          continue;
        }
        dirty = false;
        let events: StatusEventRecord[];
        try {
          events = await deps.store.eventsAfter(uetr, last);
          failingSince = null;
        } catch (err) {
          // Corrupt data is not an outage: waiting would not mend it.
          if (err instanceof StoreDataError) throw err;
          // Retried at the next poll, or sooner when the connection is back (the feed's wake).
          failingSince ??= deps.now();
          if (deps.now() - failingSince < deps.outageBoundMs) continue;
          yield {
            kind: 'unavailable',
            message: `storage has not answered for ${Math.round(deps.outageBoundMs / 1000)} s (${err instanceof Error ? err.name : 'error'}); watch again to continue from the current state`,
            retryAfterMs: 1000,
          };
          return;
        }
        for (const [i, event] of events.entries()) {
          last = event.streamId;
          const final = endsAt(events, i);
          yield { ...event, final };
          if (final) return;
        }
      }
    } finally {
      clearInterval(timer);
      unlisten();
      ctx.signal.removeEventListener('abort', signalChange);
    }
  }

  return {
    get,
    async watch(ctx, uetr) {
      const found = await get(ctx.participant, uetr);
      return isSettlementError(found) ? found : follow(ctx, found);
    },
  };
}
