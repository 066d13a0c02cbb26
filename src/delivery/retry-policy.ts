import { status } from '@grpc/grpc-js';

export interface RetrySettings {
  /** Calls to counterparties, and rounds over the rule's counterparties, before giving up. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Transport failures after which the transfer may simply not have arrived: the same request is
 * sent again (the receiver deduplicates on the UETR). Any other status is an answer about this
 * counterparty, which a retry to it would only repeat.
 */
const RETRYABLE: ReadonlySet<status> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
]);

export function isRetryable(code: status): boolean {
  return RETRYABLE.has(code);
}

/**
 * The wait before round `round` (2, 3, …): exponential with "equal jitter" — half fixed, half
 * random — so that instructions failed together by one outage do not all come back at once, yet
 * none retries immediately.
 */
export function backoffMs(settings: RetrySettings, round: number, random: () => number): number {
  const cap = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, round - 2));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

const failureName = (failure: status | 'circuit-open'): string =>
  failure === 'circuit-open' ? failure : (status[failure] ?? String(failure));

/**
 * The ISO 20022 reason a delivery that ran out of attempts fails with, from its last failure and
 * whether any attempt timed out. A call that timed out may have reached the counterparty, so that
 * is said (AB05) whatever the later attempts ran into: an operator told that nobody could be
 * reached might settle the transfer another way while a counterparty holds it.
 */
export function exhaustedReason(
  lastFailure: status | 'circuit-open',
  anyTimedOut: boolean,
): { code: string; description: string } {
  if (lastFailure === status.DEADLINE_EXCEEDED) {
    return {
      code: 'AB05',
      description: 'the counterparty did not answer within the deadline on any attempt',
    };
  }
  if (anyTimedOut) {
    return {
      code: 'AB05',
      description: `a counterparty did not answer within the deadline, so it may have received the transfer; no attempt succeeded (the last: ${failureName(lastFailure)})`,
    };
  }
  if (
    lastFailure === 'circuit-open' ||
    lastFailure === status.UNAVAILABLE ||
    lastFailure === status.RESOURCE_EXHAUSTED
  ) {
    return { code: 'AB06', description: 'no counterparty of the route could be reached on any attempt' };
  }
  return {
    code: 'AB09',
    description: `the counterparty answered with an error (${failureName(lastFailure)})`,
  };
}
