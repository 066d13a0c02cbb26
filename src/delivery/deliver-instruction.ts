import { SpanKind, SpanStatusCode, context, propagation, trace, type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { status } from '@grpc/grpc-js';
import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { RouteRule } from '../routing/route-rule';
import type { Reason, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import { tracer } from '../telemetry/tracing';
import type { BreakerRegistry } from './circuit-breaker';
import { counterpartyKey, type DeliveryCallResult, type ReceiverClients } from './receiver-clients';
import { backoffMs, exhaustedReason, isRetryable, type RetrySettings } from './retry-policy';

export interface DeliveryDeps {
  clients: ReceiverClients;
  breakers: BreakerRegistry;
  store: Pick<InstructionStore, 'startAttempt' | 'recordAttempt'>;
  retry: RetrySettings;
  defaultDeadlineMs: number;
  now: () => number;
  random: () => number;
  /** Waits `ms`; false when the signal ended the wait first. */
  sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

export interface DeliveryInput {
  uetr: string;
  instruction: SettlementInstruction;
  rule: RouteRule;
  traceId: string;
  /** The trace context the attempts' spans are children of. */
  parent: Context;
  /** Aborted when the dispatcher stops: the delivery is left for another dispatcher to finish. */
  signal: AbortSignal;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; counterparty: string; attempt: number }
  | { kind: 'failed'; reason: Reason }
  /**
   * The attempts ran out, for this reason; a stop requested while the last one was under way is not
   * seen by any attempt, so settling should prefer its reason (Transition.preferStopReason).
   */
  | { kind: 'exhausted'; reason: Reason }
  /** The instruction left ACCEPTED meanwhile (another dispatcher settled it), or is gone. */
  | { kind: 'not-deliverable'; state: State | null }
  /** Stopped without an outcome; the outbox entry stays pending. */
  | { kind: 'abandoned' };

const SERVICE = 'caravan.settlement.v1.SettlementReceiver';

/**
 * Delivers one accepted instruction along its route: the rule's counterparties in order (skipping
 * those whose circuit is open), then, after a backoff, the next round, until a counterparty
 * answers or the attempts run out. A receiver's refusal is final; transport failures are retried;
 * any other error rules that counterparty out for this instruction. Each attempt is counted in
 * Redis before the call, so the attempt number a receiver sees never repeats.
 */
export async function deliverInstruction(deps: DeliveryDeps, input: DeliveryInput): Promise<DeliveryOutcome> {
  const { retry } = deps;
  const counterparties = input.rule.counterparties;
  const excluded = new Set<number>();
  let calls = 0;
  let lastFailure: status | 'circuit-open' = 'circuit-open';
  /** A counterparty whose attempt timed out: it may hold the transfer whatever comes after. */
  let timedOutOn: string | null = null;

  for (let round = 1; round <= retry.maxAttempts && calls < retry.maxAttempts; round++) {
    if (round > 1 && !(await deps.sleep(backoffMs(retry, round, deps.random), input.signal))) {
      return { kind: 'abandoned' };
    }
    for (let i = 0; i < counterparties.length && calls < retry.maxAttempts; i++) {
      if (excluded.has(i)) continue;
      const counterparty = counterparties[i];
      const breaker = deps.breakers.get(counterpartyKey(counterparty));
      if (!breaker.tryAcquire()) continue;
      // Until the call has an outcome, every way out gives the breaker's trial back, a Redis error
      // included: a trial never ended would keep a half-open circuit refusing every later call.
      let answered = false;
      try {
        if (input.signal.aborted) return { kind: 'abandoned' };
        const started = await deps.store.startAttempt(input.uetr, counterparty.name, deps.now());
        if (started.kind === 'stopped') return { kind: 'failed', reason: started.reason };
        if (started.kind !== 'ok') {
          return { kind: 'not-deliverable', state: started.kind === 'stale' ? started.state : null };
        }
        calls++;
        const startedAtMs = deps.now();
        const result = await attemptInSpan(deps, input, i, started.attempt);
        if (result.kind === 'error' && result.code === status.CANCELLED && input.signal.aborted) {
          return { kind: 'abandoned' };
        }
        answered = true;
        // Any answer but a transport failure shows the counterparty is up, even an error that rules
        // it out for this instruction.
        if (result.kind === 'error' && isRetryable(result.code)) breaker.failed();
        else breaker.succeeded();
        await deps.store.recordAttempt(input.uetr, {
          attempt: started.attempt,
          counterparty: counterparty.name,
          outcome: result.kind === 'error' ? (status[result.code] ?? String(result.code)) : result.kind,
          reasonCode: result.kind === 'rejected' ? result.code : '',
          detail: result.kind === 'error' ? result.message.slice(0, 300) : '',
          startedAtMs,
          durationMs: deps.now() - startedAtMs,
          traceId: input.traceId,
        });
        if (result.kind === 'accepted') {
          return { kind: 'delivered', counterparty: counterparty.name, attempt: started.attempt };
        }
        if (result.kind === 'rejected') {
          const mayHold =
            timedOutOn !== null && timedOutOn !== counterparty.name
              ? `; an earlier attempt on ${timedOutOn} timed out and may have reached it`
              : '';
          return {
            kind: 'failed',
            reason: { code: result.code, description: `${result.description}${mayHold}` },
          };
        }
        lastFailure = result.code;
        if (result.code === status.DEADLINE_EXCEEDED) timedOutOn ??= counterparty.name;
        // It will answer this request the same way again.
        if (!isRetryable(result.code)) excluded.add(i);
      } finally {
        if (!answered) breaker.release();
      }
    }
    if (excluded.size === counterparties.length) break;
  }
  return { kind: 'exhausted', reason: exhaustedReason(lastFailure, timedOutOn !== null) };
}

function attemptInSpan(
  deps: DeliveryDeps,
  input: DeliveryInput,
  index: number,
  attempt: number,
): Promise<DeliveryCallResult> {
  const counterparty = input.rule.counterparties[index];
  const [host, port] = splitAddress(counterparty.address);
  const span = tracer.startSpan(
    `${SERVICE}/DeliverInstruction`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': SERVICE,
        'rpc.method': 'DeliverInstruction',
        'server.address': host,
        'server.port': port,
        'caravan.uetr': input.uetr,
        'caravan.route': input.rule.id,
        'caravan.counterparty': counterparty.name,
        'caravan.attempt': attempt,
      },
    },
    input.parent,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), headers);
  // This span is the call's CLIENT span and `headers` carry its context: the grpc-js
  // instrumentation would add a second client span and put its own traceparent in their place.
  return context
    .with(suppressTracing(context.active()), () =>
      deps.clients.deliver(counterparty, {
        instruction: input.instruction,
        attempt,
        deadlineMs: counterparty.deadlineMs > 0 ? counterparty.deadlineMs : deps.defaultDeadlineMs,
        headers,
        signal: input.signal,
      }),
    )
    .then((result) => {
      span.setAttribute('rpc.grpc.status_code', result.kind === 'error' ? result.code : status.OK);
      span.setAttribute('caravan.outcome', result.kind);
      if (result.kind === 'rejected') span.setAttribute('caravan.reason', result.code);
      if (result.kind === 'error')
        span.setStatus({ code: SpanStatusCode.ERROR, message: status[result.code] });
      span.end();
      return result;
    });
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}
