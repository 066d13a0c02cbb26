import type { Config } from './config/config';
import { startConfiguredDispatcher } from './delivery/dispatch-settings';
import type { Dispatcher } from './delivery/dispatcher';
import { createRouteTable } from './routing/route-table';
import { createInstructionStore } from './store/instruction-store';
import { createKeySpace } from './store/keys';
import { createRouteStore } from './store/route-store';
import { createRedis, waitUntilReady } from './store/redis-client';
import type { Logger } from './telemetry/logger';

export interface DispatcherProcess {
  dispatcher: Dispatcher;
  /** Drains deliveries under way (up to the shutdown grace), then closes the connections. */
  stop(): Promise<void>;
}

/**
 * The composition root of `caravan dispatch`: a dispatcher without the gRPC edge, so delivery
 * scales apart from intake. It shares the gateway's Redis, key prefix and partition count.
 */
export async function startDispatcherProcess(config: Config, log: Logger): Promise<DispatcherProcess> {
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const subscriber = redis.duplicate({
    commandTimeout: undefined,
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
  });
  const connections = [redis, subscriber];
  for (const c of connections)
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const closeAll = () => Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  try {
    await Promise.all(connections.map((c) => waitUntilReady(c, config.redisUrl, 10_000)));
    const keys = createKeySpace(config.redisPrefix, config.partitions);
    const store = createInstructionStore(redis, keys);
    const routes = await createRouteTable({
      store: createRouteStore(redis, keys),
      keys,
      subscriber,
      log,
      pollMs: config.delivery.routesPollMs,
    });
    const dispatcher = await startConfiguredDispatcher(config, {
      redis,
      keys,
      store,
      routes,
      log,
      now: Date.now,
    }).catch(async (err: unknown) => {
      await routes.close();
      throw err;
    });
    return {
      dispatcher,
      async stop() {
        await dispatcher.stop(config.shutdownGraceMs);
        await routes.close();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
