export interface BreakerSettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting one trial call through. */
  openMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * One counterparty's circuit breaker. While open, deliveries skip the counterparty (failing over
 * to the rule's next one) instead of spending attempts and deadlines on it; after `openMs` one
 * trial call is let through (half-open), and its outcome closes or reopens the circuit.
 */
export interface CircuitBreaker {
  /** Whether a call may go now; in half-open state only the one trial call may. */
  tryAcquire(): boolean;
  succeeded(): void;
  failed(): void;
  /**
   * A call that ended without an outcome (the dispatcher stopping, Redis failing before the call)
   * gives its trial back.
   */
  release(): void;
  state(): BreakerState;
}

export function createCircuitBreaker(settings: BreakerSettings, now: () => number): CircuitBreaker {
  let failures = 0;
  let openedAt = 0;
  let state: BreakerState = 'closed';
  let trialInFlight = false;

  const current = (): BreakerState => {
    if (state === 'open' && now() - openedAt >= settings.openMs) state = 'half-open';
    return state;
  };

  return {
    tryAcquire() {
      switch (current()) {
        case 'closed':
          return true;
        case 'open':
          return false;
        case 'half-open':
          if (trialInFlight) return false;
          trialInFlight = true;
          return true;
      }
    },
    succeeded() {
      failures = 0;
      state = 'closed';
      trialInFlight = false;
    },
    failed() {
      failures++;
      if (current() === 'half-open' || failures >= settings.failureThreshold) {
        state = 'open';
        openedAt = now();
      }
      trialInFlight = false;
    },
    release() {
      trialInFlight = false;
    },
    state: current,
  };
}

/** Breakers by counterparty, created on first use. */
export interface BreakerRegistry {
  get(key: string): CircuitBreaker;
  states(): { key: string; state: BreakerState }[];
}

export function createBreakerRegistry(settings: BreakerSettings, now: () => number): BreakerRegistry {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    get(key: string): CircuitBreaker {
      let breaker = breakers.get(key);
      if (!breaker) {
        breaker = createCircuitBreaker(settings, now);
        breakers.set(key, breaker);
      }
      return breaker;
    },
    states(): { key: string; state: BreakerState }[] {
      return [...breakers].map(([key, b]) => ({ key, state: b.state() }));
    },
  };
}
