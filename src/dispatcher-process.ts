import { HealthImplementation } from 'grpc-health-check';
import { guardedHealth } from './grpc/health-guard';
import { startHealthServer } from './grpc/health-server';
import { createOpenStreams } from './grpc/open-streams';
import type { Config } from './config/config';
import { startConfiguredDispatcher } from './delivery/dispatch-settings';
import type { Dispatcher } from './delivery/dispatcher';
import { createRouteTable } from './routing/route-table';
import { createInstructionStore } from './store/instruction-store';
import { createKeySpace } from './store/keys';
import { createRouteStore } from './store/route-store';
import { createRedisClient, duplicateForBlocking, waitUntilReady } from './store/redis-client';
import { meteredStore } from './telemetry/instruction-metrics';
import { claimPartitionCount } from './store/partition-count';
import type { Logger } from './telemetry/logger';
import { countConnectionErrors } from './telemetry/metrics';

/** The health service name of a dispatcher process. */
export const DISPATCHER_HEALTH = 'caravan.dispatcher';

export interface DispatcherProcess {
  dispatcher: Dispatcher;
  /** The plaintext health port (CARAVAN_HEALTH_LISTEN), null when not configured. */
  healthPort: number | null;
  /** Drains deliveries under way (up to the shutdown grace), then closes the connections. */
  stop(): Promise<void>;
}

/**
 * The composition root of `caravan dispatch`: a dispatcher without the gRPC edge, so delivery
 * scales apart from intake. It shares the gateway's Redis, key prefix and partition count.
 */
export async function startDispatcherProcess(config: Config, log: Logger): Promise<DispatcherProcess> {
  const redis = createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const subscriber = duplicateForBlocking(redis);
  const connections = [redis, subscriber];
  for (const c of connections) {
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    countConnectionErrors(c);
  }
  const closeAll = () => Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  try {
    await Promise.all(connections.map((c) => waitUntilReady(c, config.redisUrl, 10_000)));
    const keys = createKeySpace(config.redisPrefix, config.partitions);
    await claimPartitionCount(redis, keys);
    const store = meteredStore(createInstructionStore(redis, keys));
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
    // SERVING while this process takes outbox entries; NOT_SERVING from the moment it drains.
    const health = new HealthImplementation({ '': 'SERVING', [DISPATCHER_HEALTH]: 'SERVING' });
    const streams = createOpenStreams();
    const healthServer = config.healthListen
      ? await startHealthServer(
          config.healthListen,
          guardedHealth(health, ['', DISPATCHER_HEALTH], streams),
          config.shutdownGraceMs,
        )
      : null;
    return {
      dispatcher,
      healthPort: healthServer?.port ?? null,
      async stop() {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(DISPATCHER_HEALTH, 'NOT_SERVING');
        await dispatcher.stop(config.shutdownGraceMs);
        streams.endAll();
        await healthServer?.stop();
        await routes.close();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
