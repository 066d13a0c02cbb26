import type { Config, DeliveryConfig } from '../config/config';
import { startDispatcher, type Dispatcher, type DispatcherDeps, type DispatchSettings } from './dispatcher';
import { createReceiverClients } from './receiver-clients';
import { createOutbox } from '../store/outbox';

/** How often fully processed outbox entries are trimmed away. */
const TRIM_EVERY_MS = 30_000;
/** A blocking outbox read returns this often even when idle, so a stop is noticed promptly. */
const BLOCK_MS = 2_000;

export function dispatchSettings(config: DeliveryConfig): DispatchSettings {
  return {
    concurrency: config.concurrency,
    claimIdleMs: config.claimIdleMs,
    blockMs: BLOCK_MS,
    trimEveryMs: TRIM_EVERY_MS,
    retry: {
      maxAttempts: config.maxAttempts,
      baseDelayMs: config.retryBaseMs,
      maxDelayMs: config.retryMaxMs,
    },
    breaker: { failureThreshold: config.breakerFailures, openMs: config.breakerOpenMs },
    defaultDeadlineMs: config.deadlineMs,
  };
}

/** A dispatcher with the configured settings, sharing the caller's connections and route table. */
export function startConfiguredDispatcher(
  config: Config,
  parts: Pick<DispatcherDeps, 'redis' | 'keys' | 'store' | 'routes' | 'log' | 'now'>,
): Promise<Dispatcher> {
  return startDispatcher({
    ...parts,
    outbox: createOutbox(parts.redis, parts.keys),
    clients: createReceiverClients(config.tls),
    settings: dispatchSettings(config.delivery),
  });
}
