import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { Reason, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import { inSpan } from '../telemetry/tracing';
import { canonicalBodyHash } from './canonical-body';
import { invalidArgument, isSettlementError, type SettlementError } from './errors';
import { mayInstructAs } from './participant';
import type { IntakeDecision, ScreenInstruction } from './screening-seam';
import { canonicalInstruction, validateInstruction } from './validate-instruction';

export interface SubmitContext {
  /** BIC of the authenticated participant. */
  participant: string;
  traceId: string;
  traceparent: string;
  /** True once the caller has gone (deadline passed or cancelled): nothing may be started then. */
  isCancelled: () => boolean;
}

export interface SubmitOutcome {
  uetr: string;
  state: State;
  reason: Reason;
  traceId: string;
  replayed: boolean;
}

export interface SubmitDeps {
  store: InstructionStore;
  screen: ScreenInstruction;
  /** Whether some route rule takes the instruction (the replica's cached route table). */
  hasRoute: (instruction: SettlementInstruction) => boolean;
  now: () => number;
}

export type SubmitInstruction = (
  ctx: SubmitContext,
  instruction: SettlementInstruction | undefined,
) => Promise<SubmitOutcome | SettlementError>;

/**
 * Intake: validate → authorise → screen → record and enqueue in one atomic step. Anything that
 * fails before the record is written leaves no trace in Redis, and the record step itself is one
 * Lua script, so an instruction is either fully recorded (and, when accepted, on the outbox) or
 * absent; a client that timed out may always retry with the same UETR.
 */
export function createSubmitInstruction(deps: SubmitDeps): SubmitInstruction {
  return async (ctx, instruction): Promise<SubmitOutcome | SettlementError> => {
    const violations = await inSpan('caravan.validate', {}, (span) => {
      const found = validateInstruction(instruction);
      span.setAttribute('caravan.violations', found.length);
      return Promise.resolve(found);
    });
    if (violations.length > 0 || instruction === undefined) return invalidArgument(violations);

    const agent = instruction.instructingAgent?.bic ?? '';
    if (!mayInstructAs(ctx.participant, agent)) {
      return {
        kind: 'permission-denied',
        message: `participant ${ctx.participant} may not instruct as ${agent}: instructing_agent.bic must be the BIC of the calling participant`,
      };
    }

    const decision = await inSpan('caravan.screen', {}, async (span) => {
      const result = await deps.screen(instruction);
      if (!isSettlementError(result)) {
        span.setAttribute('caravan.state', result.state);
        if (result.reason.code !== '') span.setAttribute('caravan.reason', result.reason.code);
      }
      return result;
    });
    if (isSettlementError(decision)) return decision;
    try {
      // One written form per amount, so that a retry writing it otherwise hashes alike.
      return await recordDecision(ctx, canonicalInstruction(instruction), decision);
    } finally {
      decision.settled?.();
    }
  };

  async function recordDecision(
    ctx: SubmitContext,
    instruction: SettlementInstruction,
    decision: IntakeDecision,
  ): Promise<SubmitOutcome | SettlementError> {
    // Checked after screening so that a sanctions hit is what a listed party's instruction is
    // rejected for, and before recording so nothing is acknowledged that could never be delivered.
    const outcome =
      decision.state === 'REJECTED' || deps.hasRoute(instruction)
        ? { state: decision.state, reason: decision.reason }
        : { state: 'REJECTED' as const, reason: noRoute(instruction) };

    if (ctx.isCancelled()) {
      return {
        kind: 'cancelled',
        message: 'the call ended before the instruction was recorded; nothing was stored',
      };
    }

    const result = await inSpan('caravan.record', {}, () =>
      deps.store.record({
        uetr: instruction.uetr,
        instruction,
        bodyHash: canonicalBodyHash(instruction),
        participant: ctx.participant,
        traceId: ctx.traceId,
        traceparent: ctx.traceparent,
        nowMs: deps.now(),
        outcome,
        screening: decision.evidence,
      }),
    );
    switch (result.kind) {
      case 'created':
        return {
          uetr: instruction.uetr,
          state: outcome.state,
          reason: outcome.reason,
          traceId: ctx.traceId,
          replayed: false,
        };
      case 'replay':
        return {
          uetr: instruction.uetr,
          state: result.answer.state,
          reason: result.answer.reason,
          traceId: result.answer.traceId,
          replayed: true,
        };
      case 'unconfirmed':
        return {
          kind: 'unavailable',
          message:
            `the instruction was written, but ${result.replicas} of the ${result.required} Redis replica(s) ` +
            `required confirmed it within ${result.timeoutMs} ms, so it is not acknowledged; retry with the ` +
            'same UETR and body: the retry answers once the replicas hold it',
          retryAfterMs: RETRY_UNCONFIRMED_MS,
        };
      case 'conflict':
        return {
          kind: 'already-exists',
          message: `an instruction with UETR ${instruction.uetr} was already submitted with different content; a UETR identifies one instruction`,
        };
    }
  }
}

/** Replicas that fell behind usually catch up within their next acknowledgement (every second). */
const RETRY_UNCONFIRMED_MS = 1_000;

function noRoute(instruction: SettlementInstruction): Reason {
  const agent = instruction.creditorAgent?.bic ?? '';
  const currency = instruction.amount?.currency ?? '';
  return {
    code: 'CNOR',
    description: `no route to creditor agent ${agent} for ${currency}: Caravan has no counterparty for it`,
  };
}
