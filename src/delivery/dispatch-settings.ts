import type { DeliveryConfig } from '../config/config';
import type { DispatchSettings } from './dispatcher';

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
