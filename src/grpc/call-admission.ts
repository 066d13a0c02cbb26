import type { EdgeError } from './status';

export interface CallLimits {
  /** Calls a participant may start per second, sustained; 0 turns the rate limit off. */
  ratePerSecond: number;
  /** Calls a participant may start at once after a quiet spell. */
  burst: number;
  /** Unary calls in progress in this process, all participants together. */
  maxInFlight: number;
  /** Unary calls of one participant in progress in this process. */
  maxInFlightPerParticipant: number;
  /** Open WatchInstruction streams of one participant in this process. */
  maxWatchesPerParticipant: number;
}

export type CallKind = 'unary' | 'watch';

export type AdmissionRefusal = 'rate' | 'in-flight' | 'participant-in-flight' | 'watches';

export interface Admission {
  /**
   * A slot for one call of `participant`, to be given back with the function answered when the
   * call ends, or RESOURCE_EXHAUSTED with the time after which a retry can succeed.
   */
  admit(participant: string, kind: CallKind): (() => void) | EdgeError;
  /** Calls and watches in progress now, for metrics and tests. */
  inFlight(): { unary: number; watches: number };
}

interface Bucket {
  tokens: number;
  atMs: number;
}

interface ParticipantCalls {
  unary: number;
  watches: number;
}

/** Buckets kept before full (idle) ones are dropped, so made-up participants cannot grow the map. */
const MAX_BUCKETS = 10_000;
/** In-flight refusals suggest this wait: a slot frees as soon as any call in progress ends. */
const IN_FLIGHT_RETRY_MS = 100;

/**
 * Per-replica admission of settlement calls: a token bucket per participant, and counts of calls
 * in progress per participant and in all. Limits hold per process, not across replicas: a
 * participant's ceiling over the deployment is the replica count times these (Redis is not asked,
 * so a refusal costs nothing and works while Redis is down).
 */
export function createAdmission(
  limits: CallLimits,
  onRefused: (reason: AdmissionRefusal) => void = () => undefined,
  now: () => number = Date.now,
): Admission {
  const buckets = new Map<string, Bucket>();
  const calls = new Map<string, ParticipantCalls>();
  let unary = 0;
  let watches = 0;

  const refuse = (reason: AdmissionRefusal, message: string, retryAfterMs: number): EdgeError => {
    onRefused(reason);
    return { kind: 'resource-exhausted', message, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) };
  };

  function dropIdleBuckets(t: number): void {
    for (const [participant, b] of buckets) {
      if (b.tokens + ((t - b.atMs) / 1000) * limits.ratePerSecond >= limits.burst)
        buckets.delete(participant);
    }
  }

  /** Takes a token, or answers how long until one is there. */
  function takeToken(participant: string): number {
    if (limits.ratePerSecond === 0) return 0;
    const t = now();
    let b = buckets.get(participant);
    if (b === undefined) {
      if (buckets.size >= MAX_BUCKETS) dropIdleBuckets(t);
      b = { tokens: limits.burst, atMs: t };
      buckets.set(participant, b);
    }
    b.tokens = Math.min(limits.burst, b.tokens + ((t - b.atMs) / 1000) * limits.ratePerSecond);
    b.atMs = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return ((1 - b.tokens) / limits.ratePerSecond) * 1000;
  }

  return {
    admit(caller, kind) {
      // HSBKKZKX and HSBKKZKXXXX are one office (each may read the other's instructions): one
      // budget, however many of its certificates a caller holds.
      const participant = caller.length === 8 ? `${caller}XXX` : caller;
      const mine = calls.get(participant) ?? { unary: 0, watches: 0 };
      if (kind === 'unary') {
        if (unary >= limits.maxInFlight)
          return refuse(
            'in-flight',
            'the gateway is at its limit of calls in progress; retry shortly',
            IN_FLIGHT_RETRY_MS,
          );
        if (mine.unary >= limits.maxInFlightPerParticipant)
          return refuse(
            'participant-in-flight',
            `participant ${caller} has ${mine.unary} calls in progress, the most allowed; retry when one has been answered`,
            IN_FLIGHT_RETRY_MS,
          );
      } else if (mine.watches >= limits.maxWatchesPerParticipant) {
        return refuse(
          'watches',
          `participant ${caller} has ${mine.watches} watches open, the most allowed; close one first`,
          1000,
        );
      }
      const waitMs = takeToken(participant);
      if (waitMs > 0)
        return refuse(
          'rate',
          `participant ${caller} is over its limit of ${limits.ratePerSecond} calls per second`,
          waitMs,
        );

      if (kind === 'unary') {
        unary++;
        mine.unary++;
      } else {
        watches++;
        mine.watches++;
      }
      calls.set(participant, mine);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (kind === 'unary') {
          unary--;
          mine.unary--;
        } else {
          watches--;
          mine.watches--;
        }
        if (mine.unary === 0 && mine.watches === 0) calls.delete(participant);
      };
    },
    inFlight: () => ({ unary, watches }),
  };
}
