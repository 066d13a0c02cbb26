import type { Redis, Cluster } from 'ioredis';
import { indexLists, type ListVersion } from '../screening/list-index';
import type { ListIndex } from '../screening/screen-instruction';
import type { SnapshotSource } from '../settlement/screening-step';
import type { KeySpace } from '../store/keys';
import type { ListStore } from '../store/list-store';
import type { Logger } from '../telemetry/logger';

/** What intake screens with (see SnapshotSource). */
export type ScreeningSnapshot = ReturnType<SnapshotSource>;

export interface ScreeningSync {
  /** The indexes to screen with, or 'stale' when the current versions cannot be confirmed. */
  snapshot(): ScreeningSnapshot;
  /** Re-reads every list's current-version pointer and reloads the lists that changed. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface ScreeningSyncOptions {
  lists: ListStore;
  keys: KeySpace;
  subscriber: Redis | Cluster;
  log: Logger;
  /**
   * A monotonic clock in ms (performance.now): staleness measured on the wall clock would stay
   * "current" for as long as a clock stepped back, with nothing confirmed.
   */
  now: () => number;
  /** Longer than this without confirming the current versions, and screening refuses to decide. */
  stalenessMs: number;
  /** How often the pointers are re-read even without a notification. */
  pollMs: number;
  /** Called after the indexes changed, with the list versions that are new. */
  onChange?: (
    changed: { list: string; version: number }[],
    lists: readonly ListIndex[],
    generation: number,
  ) => void;
}

/**
 * Keeps this process's in-memory screening indexes equal to the current list versions in Redis.
 * A change is announced on pub/sub and also found by polling (pub/sub loses messages across
 * reconnects). A rebuilt index replaces the old one in a single assignment, so a screening call
 * sees either the old set of lists or the new one, never a mix. Confirmation time only moves on a
 * successful read of every pointer, so an unreachable Redis turns into 'stale' after the bound.
 */
export async function createScreeningSync(options: ScreeningSyncOptions): Promise<ScreeningSync> {
  const { lists, log, now } = options;
  let indexes: readonly ListIndex[] = [];
  let generation = 0;
  // Never confirmed: stale whatever the clock reads (a monotonic clock starts near 0).
  let confirmedAtMs = Number.NEGATIVE_INFINITY;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  async function reload(): Promise<void> {
    // What is confirmed is the pointers as read now, however long loading the lists then takes.
    const readAtMs = now();
    const names = await lists.listNames();
    const versions = await Promise.all(names.map((name) => lists.currentVersion(name)));
    const byName = new Map(indexes.map((index) => [index.list, index]));
    // A list screened until now that has no current version any more, or left the set of names,
    // lost its data (nothing in Caravan removes a list): screening without it would pass what it
    // lists. The indexes stay as they are, unconfirmed, and intake refuses to decide after the bound.
    const present = new Set(names.filter((_, i) => versions[i] !== 0));
    const vanished = indexes.filter((index) => !present.has(index.list)).map((index) => index.list);
    if (vanished.length > 0) {
      log.error({ lists: vanished }, 'screening lists lost their current version in Redis: restore them');
      throw new Error(`screening list(s) ${vanished.join(', ')} lost their current version in Redis`);
    }
    const next: (ListIndex | ListVersion)[] = [];
    const loaded: { list: string; version: number }[] = [];
    let changed = false;
    for (let i = 0; i < names.length; i++) {
      const list = names[i];
      const version = versions[i];
      // A list never made current (a first import refused or cut off) is none to screen with.
      if (version === 0) continue;
      const existing = byName.get(list);
      if (existing?.version === version) {
        next.push(existing);
        continue;
      }
      const started = now();
      const [entries, meta] = await Promise.all([
        lists.loadEntries(list, version),
        lists.meta(list, version),
      ]);
      if (entries.length !== meta?.entryCount) {
        // Screening against part of a list would pass what it should stop: keep the indexes as
        // they are (they turn stale after the bound, and intake then refuses to decide).
        log.error(
          { list, version, entries: entries.length, expected: meta?.entryCount ?? null },
          'screening list version is incomplete in Redis: not loaded',
        );
        throw new Error(`version ${version} of list ${list} is incomplete in Redis`);
      }
      next.push({ list, version, entries });
      loaded.push({ list, version });
      changed = true;
      log.info({ list, version, entries: entries.length, ms: now() - started }, 'screening list loaded');
    }
    if (changed) {
      const started = now();
      indexes = indexLists(next);
      generation++;
      log.info({ loaded, lists: indexes.length, ms: now() - started }, 'screening lists indexed');
    }
    confirmedAtMs = readAtMs;
    if (loaded.length > 0) options.onChange?.(loaded, indexes, generation);
  }

  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await reload();
        } while (again && !closed);
      } finally {
        running = null;
      }
    })();
    return running;
  }

  const onMessage = (channel: string) => {
    if (channel === options.keys.listsChannel()) {
      refresh().catch((err: unknown) =>
        log.warn({ err: (err as Error).message }, 'screening list refresh failed'),
      );
    }
  };
  options.subscriber.on('message', onMessage);
  await options.subscriber.subscribe(options.keys.listsChannel());
  await refresh();
  const timer = setInterval(() => {
    refresh().catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'screening list refresh failed'),
    );
  }, options.pollMs);
  timer.unref();

  return {
    snapshot() {
      const ago = now() - confirmedAtMs;
      return ago > options.stalenessMs
        ? { kind: 'stale', confirmedAgoMs: ago }
        : { kind: 'current', lists: indexes, generation };
    },
    refresh,
    async close() {
      closed = true;
      clearInterval(timer);
      options.subscriber.removeListener('message', onMessage);
      await running?.catch(() => undefined);
    },
  };
}
