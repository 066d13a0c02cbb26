import type { Config } from './config/config';
import { SettlementGatewayService } from './gen/caravan/settlement/v1/gateway';
import { settlementGatewayHandlers } from './grpc/settlement-gateway-service';
import { gatewayServiceName, rawRequests, startServer } from './grpc/server';
import { createInstructionReader } from './settlement/read-instruction';
import type { ScreenInstruction } from './settlement/screening-seam';
import { createSubmitInstruction } from './settlement/submit-instruction';
import { createEventFeed, type EventFeed } from './store/event-feed';
import { createInstructionStore } from './store/instruction-store';
import { createKeySpace } from './store/keys';
import { createRedis, waitUntilReady } from './store/redis-client';
import type { Logger } from './telemetry/logger';

export interface Gateway {
  port: number;
  /** Graceful stop: see RunningServer.shutdown; then the Redis connections close. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  config: Config;
  log: Logger;
  screen: ScreenInstruction;
  now?: () => number;
}

/** The composition root of the gateway process: Redis, the settlement use cases and the gRPC edge. */
export async function startGateway({
  config,
  log,
  screen,
  now = Date.now,
}: GatewayOptions): Promise<Gateway> {
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const subscriber = redis.duplicate({ commandTimeout: undefined, maxRetriesPerRequest: null });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  subscriber.on('error', (err: Error) => log.warn({ err: err.message }, 'redis subscriber connection error'));
  let feed: EventFeed | null = null;
  try {
    await waitUntilReady(redis, config.redisUrl, 10_000);
    const keys = createKeySpace(config.redisPrefix, config.partitions);
    const store = createInstructionStore(redis, keys);
    feed = await createEventFeed(subscriber, keys);
    const shutdown = new AbortController();
    const server = await startServer(
      config,
      [
        {
          name: gatewayServiceName,
          definition: rawRequests(SettlementGatewayService),
          handlers: settlementGatewayHandlers({
            submit: createSubmitInstruction({ store, screen, now }),
            reader: createInstructionReader({ store, feed, pollMs: config.watchPollMs }),
            identity: config.devInsecure ? 'dev-insecure' : 'mtls',
            log,
            shutdown: shutdown.signal,
          }),
        },
      ],
      log,
    );
    const openFeed = feed;
    return {
      port: server.port,
      async stop() {
        await server.shutdown(() => shutdown.abort());
        await openFeed.close();
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  } catch (err) {
    await feed?.close();
    redis.disconnect();
    subscriber.disconnect();
    throw err;
  }
}
