import {
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';

/**
 * Caravan's instruments, all on the meter 'caravan'. Created on first use, after the SDK has
 * registered its meter provider (the metrics API has no proxy that would pick it up later); with
 * no metrics exporter configured they are the API's no-ops.
 */
export interface CaravanInstruments {
  /** Instructions entering a state, by caravan.state and caravan.reason. */
  instructions: Counter;
  /** SubmitInstruction, by caravan.state (or error.type when refused). */
  intakeDuration: Histogram;
  /** One delivery attempt, by caravan.counterparty and caravan.outcome. */
  attemptDuration: Histogram;
  /** From ACCEPTED to DELIVERED, by caravan.counterparty. */
  deliveryLatency: Histogram;
  /** Delivery attempts after an instruction's first, by caravan.counterparty. */
  retries: Counter;
  /** By error.type: connection (a client's 'error' event) or storage-unavailable (a call refused). */
  redisErrors: Counter;
  /** Settlement calls refused with RESOURCE_EXHAUSTED, by caravan.limit. */
  callsRefused: Counter;
}

/** Seconds, finer than the SDK's default buckets (which suit milliseconds). */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Acceptance to delivery spans retries, backoff and holds released late: up to hours. */
const SETTLEMENT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400];

let instruments: CaravanInstruments | null = null;

export function meter(): Meter {
  return metrics.getMeter('caravan');
}

export function caravanInstruments(): CaravanInstruments {
  if (instruments !== null) return instruments;
  const m = meter();
  const seconds = (name: string, description: string, buckets: number[]): Histogram =>
    m.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: buckets } });
  instruments = {
    instructions: m.createCounter('caravan.instructions', {
      unit: '{instruction}',
      description: 'Instructions entering a state (caravan.state), with the reason code (caravan.reason)',
      valueType: ValueType.INT,
    }),
    intakeDuration: seconds(
      'caravan.intake.duration',
      'SubmitInstruction from decoded request to answer, by outcome state (error.type when refused)',
      CALL_BUCKETS,
    ),
    attemptDuration: seconds(
      'caravan.delivery.attempt.duration',
      'One delivery call to a counterparty, by counterparty and outcome',
      CALL_BUCKETS,
    ),
    deliveryLatency: seconds(
      'caravan.delivery.latency',
      'From ACCEPTED to DELIVERED (retries and backoff included), by counterparty',
      SETTLEMENT_BUCKETS,
    ),
    retries: m.createCounter('caravan.delivery.retries', {
      unit: '{attempt}',
      description: "Delivery attempts after an instruction's first one, by the counterparty called",
      valueType: ValueType.INT,
    }),
    redisErrors: m.createCounter('caravan.redis.errors', {
      unit: '{error}',
      description:
        'Redis connection errors (error.type=connection) and calls refused for it (storage-unavailable)',
      valueType: ValueType.INT,
    }),
    callsRefused: m.createCounter('caravan.calls.refused', {
      unit: '{call}',
      description:
        'Settlement calls refused by a limit (caravan.limit: rate, in-flight, participant-in-flight, watches)',
      valueType: ValueType.INT,
    }),
  };
  return instruments;
}

export function countRedisError(type: 'connection' | 'storage-unavailable'): void {
  caravanInstruments().redisErrors.add(1, { 'error.type': type });
}

/** Counts a Redis client's connection errors (every failed connect or reconnect emits one). */
export function countConnectionErrors(connection: {
  on(event: 'error', listener: (err: Error) => void): unknown;
}): void {
  connection.on('error', () => countRedisError('connection'));
}

export interface Observation {
  /** Stops observing (the component that registered it is stopping). */
  stop(): void;
}

/**
 * An observable gauge fed by an asynchronous reading. A failed reading (Redis unavailable)
 * reports nothing for that collection rather than failing the whole export.
 */
export function observeGauge(
  name: string,
  options: { unit: string; description: string; valueType?: ValueType },
  read: () => Promise<{ value: number; attributes: Attributes }[]>,
): Observation {
  const gauge: ObservableGauge = meter().createObservableGauge(name, options);
  const callback = async (result: ObservableResult): Promise<void> => {
    const points = await read().catch(() => []);
    for (const p of points) result.observe(p.value, p.attributes);
  };
  gauge.addCallback(callback);
  return { stop: () => gauge.removeCallback(callback) };
}
