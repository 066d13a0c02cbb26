import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import { raced } from '../settlement/transition-conflict';
import { isSettlementError, type SettlementError } from '../settlement/errors';
import type { IntakeDecision, ScreenInstruction } from '../settlement/screening-seam';
import { unconfirmedDecision, type DecisionReplication } from '../settlement/decision-replication';
import { auditIntent, type AuditLog } from '../store/audit-log';
import type { InstructionRecord, Reason, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';

export interface ReplayDeps {
  store: InstructionStore;
  screen: ScreenInstruction;
  hasRoute: (instruction: SettlementInstruction) => boolean;
  audit: AuditLog;
  now: () => number;
  replication?: DecisionReplication;
}

export interface ReplayRequest {
  uetr: string;
  operator: string;
  comment: string;
  traceId: string;
  traceparent: string;
}

/**
 * Sends a failed instruction to delivery again. It is screened against today's lists first — a
 * party listed since the failure must not be paid because an operator pressed replay — and needs
 * a route. The receiver sees a higher attempt number and deduplicates on the UETR, so replaying a
 * transfer it already took (an answer lost in a timeout) does not pay twice.
 */
export async function replayInstruction(
  deps: ReplayDeps,
  request: ReplayRequest,
): Promise<{ state: State; reason: Reason } | SettlementError> {
  const record = await deps.store.get(request.uetr);
  if (record === null) return { kind: 'not-found', message: `no instruction with UETR ${request.uetr}` };
  if (record.state !== 'FAILED') {
    return {
      kind: 'failed-precondition',
      message: `only FAILED instructions are replayed; ${request.uetr} is ${record.state}`,
    };
  }
  const decision = await deps.screen(record.instruction);
  if (isSettlementError(decision)) return decision;
  try {
    return await applyReplay(deps, request, record, decision);
  } finally {
    decision.settled?.();
  }
}

/** Records a replay's decision, taken on `decision`, and audits it. */
async function applyReplay(
  deps: ReplayDeps,
  request: ReplayRequest,
  record: InstructionRecord,
  decision: IntakeDecision,
): Promise<{ state: State; reason: Reason } | SettlementError> {
  if (decision.state !== 'REJECTED' && !deps.hasRoute(record.instruction)) {
    return {
      kind: 'failed-precondition',
      message: `no route takes ${request.uetr} (creditor agent ${record.instruction.creditorAgent?.bic ?? ''}); put a route first`,
    };
  }
  const reason: Reason =
    decision.state === 'ACCEPTED'
      ? { code: '', description: 'delivery replayed by Caravan operations' }
      : decision.reason;
  const entry = auditIntent(
    {
      actor: request.operator,
      action: 'instruction.replay',
      subject: request.uetr,
      details: {
        comment: request.comment,
        participant: record.participant,
        state: decision.state,
        reason: reason.code,
      },
    },
    deps.now(),
  );
  const moved = await deps.store.transition({
    uetr: request.uetr,
    from: ['FAILED'],
    to: decision.state,
    reason,
    traceId: request.traceId,
    traceparent: request.traceparent,
    nowMs: deps.now(),
    screening: decision.evidence,
    audit: entry,
  });
  if (moved.kind !== 'ok') return raced(request.uetr, moved);
  await deps.audit.settle(deps.store.auditPendingOf(request.uetr), entry);
  return (
    (await unconfirmedDecision(
      deps.replication,
      request.uetr,
      `the instruction is ${decision.state}`,
      'the instruction',
    )) ?? {
      state: decision.state,
      reason,
    }
  );
}
