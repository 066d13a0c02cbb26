import { SettlementReceiverService } from '../gen/caravan/settlement/v1/receiver';
import { rawRequests, startServer } from '../grpc/server';
import { createRedisClient, waitUntilReady } from '../store/redis-client';
import { createLogger, type Logger } from '../telemetry/logger';
import { countConnectionErrors } from '../telemetry/metrics';
import type { ReceiverConfig } from './receiver-config';
import { receiverKeys } from './receiver-keys';
import { RECEIVER_SERVICE, settlementReceiverHandlers } from './receiver-service';
import { createReceiverStore } from './receiver-store';

export interface ReceiverOptions {
  config: ReceiverConfig;
  /** Defaults to JSON lines on stdout at the configured level. */
  log?: Logger;
}

export interface RunningReceiver {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Graceful stop: health NOT_SERVING, delayed and hung calls answered UNAVAILABLE, then Redis closed. */
  stop(): Promise<void>;
}

/**
 * A delivery is an instruction the gateway accepted (up to 1 MiB by default) plus the attempt
 * number; the headroom keeps a gateway with a raised limit from having its deliveries refused.
 */
const SERVER = {
  maxMessageBytes: 4 * 1024 * 1024,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  shutdownGraceMs: 5_000,
};
const REDIS_COMMAND_TIMEOUT_MS = 2_000;
const REDIS_READY_TIMEOUT_MS = 10_000;

/** Starts a reference SettlementReceiver (with health and reflection) in this process. */
export async function startReceiver({ config, log: parent }: ReceiverOptions): Promise<RunningReceiver> {
  const log = (parent ?? createLogger(config.logLevel)).child({ receiver: config.name });
  const redis = createRedisClient(config.redisUrl, { commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  countConnectionErrors(redis);
  try {
    await waitUntilReady(redis, config.redisUrl, REDIS_READY_TIMEOUT_MS);
    const stopping = new AbortController();
    const server = await startServer(
      { ...SERVER, listen: config.listen, tls: config.tls },
      [
        {
          name: RECEIVER_SERVICE,
          definition: rawRequests(SettlementReceiverService),
          handlers: settlementReceiverHandlers({
            store: createReceiverStore(redis, receiverKeys(config.redisPrefix, config.name)),
            behaviour: config.behaviour,
            log,
            stopping: stopping.signal,
          }),
        },
      ],
      log,
    );
    return {
      port: server.port,
      async stop() {
        await server.shutdown(() => stopping.abort());
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
