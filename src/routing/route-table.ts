import type { Cluster, Redis } from 'ioredis';
import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { KeySpace } from '../store/keys';
import type { RouteStore } from '../store/route-store';
import type { Logger } from '../telemetry/logger';
import { orderRoutes, selectRoute } from './route-match';
import type { RouteRule } from './route-rule';

/**
 * Every replica's in-memory copy of the route table. A change is announced on pub/sub and picked
 * up at once; because pub/sub loses messages across reconnects, the version is also polled, so a
 * missed announcement costs at most one poll interval.
 */
export interface RouteTable {
  find(instruction: SettlementInstruction): RouteRule | null;
  /** The rules in the order they are considered. */
  rules(): readonly RouteRule[];
  version(): number;
  /** Reads the table again now (after a local change, so the caller sees its own write). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface RouteTableOptions {
  store: RouteStore;
  keys: KeySpace;
  subscriber: Redis | Cluster;
  log: Logger;
  pollMs: number;
}

export async function createRouteTable(options: RouteTableOptions): Promise<RouteTable> {
  const { store, keys, subscriber, log } = options;
  let ordered: RouteRule[] = [];
  let version = -1;
  let running: Promise<void> | null = null;
  // A change announced while a read is under way may not be in what that read saw.
  let again = false;

  async function load(): Promise<void> {
    do {
      again = false;
      const latest = await store.version();
      if (latest === version) continue;
      const snapshot = await store.read();
      ordered = orderRoutes(snapshot.rules);
      version = snapshot.version;
      log.info({ routesVersion: version, rules: ordered.length }, 'route table loaded');
    } while (again);
  }

  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = load().finally(() => {
      running = null;
    });
    return running;
  }
  const refreshLogged = () => {
    refresh().catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'route table refresh failed'),
    );
  };

  const channel = keys.routesChannel();
  const onMessage = (from: string) => {
    if (from === channel) refreshLogged();
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  await refresh();
  const timer = setInterval(refreshLogged, options.pollMs);
  timer.unref();

  return {
    find: (instruction) => selectRoute(ordered, instruction),
    rules: () => ordered,
    version: () => version,
    refresh,
    async close() {
      clearInterval(timer);
      subscriber.removeListener('message', onMessage);
      await running?.catch(() => undefined);
    },
  };
}
