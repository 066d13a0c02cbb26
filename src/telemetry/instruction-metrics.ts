import type { Attributes } from '@opentelemetry/api';
import { isSettlementError } from '../settlement/errors';
import type { SubmitInstruction } from '../settlement/submit-instruction';
import type { InstructionStore } from '../store/instruction-store';
import type { Reason, State } from '../store/instruction-record';
import { caravanInstruments } from './metrics';

function stateAttributes(state: State, reason: Reason): Attributes {
  return reason.code === ''
    ? { 'caravan.state': state }
    : { 'caravan.state': state, 'caravan.reason': reason.code };
}

/**
 * The instruction store, counting every state an instruction enters (its intake decision, then
 * each transition that happened) and timing delivery attempts as they are recorded. Applied where
 * the store is built (the gateway and dispatcher processes), so every use case is counted without
 * the store or the use cases knowing.
 */
export function meteredStore(store: InstructionStore): InstructionStore {
  const m = caravanInstruments();
  return {
    ...store,
    async record(input) {
      const result = await store.record(input);
      if (result.kind === 'created') {
        m.instructions.add(1, stateAttributes(input.outcome.state, input.outcome.reason));
      }
      return result;
    },
    async transition(input) {
      const result = await store.transition(input);
      if (result.kind === 'ok')
        m.instructions.add(1, stateAttributes(input.to, result.stopReason ?? input.reason));
      return result;
    },
    recordAttempt(uetr, attempt) {
      // The call happened whether or not its record can be stored.
      const counterparty = { 'caravan.counterparty': attempt.counterparty };
      m.attemptDuration.record(attempt.durationMs / 1000, {
        ...counterparty,
        'caravan.outcome': attempt.outcome,
      });
      if (attempt.attempt > 1) m.retries.add(1, counterparty);
      return store.recordAttempt(uetr, attempt);
    },
  };
}

/** Times SubmitInstruction by its outcome: the state decided, or the kind of refusal. */
export function meteredSubmit(submit: SubmitInstruction): SubmitInstruction {
  const { intakeDuration } = caravanInstruments();
  return async (ctx, instruction) => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const outcome = await submit(ctx, instruction);
      intakeDuration.record(
        seconds(),
        isSettlementError(outcome) ? { 'error.type': outcome.kind } : { 'caravan.state': outcome.state },
      );
      return outcome;
    } catch (err) {
      intakeDuration.record(seconds(), { 'error.type': err instanceof Error ? err.name : 'unknown' });
      throw err;
    }
  };
}
