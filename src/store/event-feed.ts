import type { Redis, Cluster } from 'ioredis';
import type { KeySpace } from './keys';

/**
 * Tells local watchers that an instruction has a new status event, whichever replica wrote it.
 * Pub/sub is at-most-once (a reconnect loses messages), so a notification only says "read again";
 * watchers read the event stream itself and also poll, and every listener is woken after a
 * reconnect to catch up on what was missed.
 */
export interface EventFeed {
  /** Calls `onChange` whenever the instruction may have new events; returns the unsubscribe. */
  listen(uetr: string, onChange: () => void): () => void;
  /** Stops waking listeners; the subscriber connection belongs to the caller. */
  close(): Promise<void>;
}

export async function createEventFeed(subscriber: Redis | Cluster, keys: KeySpace): Promise<EventFeed> {
  const listeners = new Map<string, Set<() => void>>();
  const wakeAll = () => {
    for (const set of listeners.values()) for (const fn of set) fn();
  };

  const channel = keys.eventsChannel();
  // The subscriber connection is shared with other channels (list changes), hence the filter.
  subscriber.on('message', (from: string, uetr: string) => {
    if (from !== channel) return;
    const set = listeners.get(uetr);
    if (set) for (const fn of set) fn();
  });
  subscriber.on('ready', wakeAll);
  await subscriber.subscribe(channel);

  return {
    listen(uetr, onChange) {
      let set = listeners.get(uetr);
      if (!set) {
        set = new Set();
        listeners.set(uetr, set);
      }
      set.add(onChange);
      return () => {
        const current = listeners.get(uetr);
        if (!current) return;
        current.delete(onChange);
        if (current.size === 0) listeners.delete(uetr);
      };
    },
    close() {
      listeners.clear();
      subscriber.removeListener('ready', wakeAll);
      return Promise.resolve();
    },
  };
}
