import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import type { Reason, State } from '../../src/store/instruction-record';
import type { AuditIntent } from '../../src/store/audit-log';
import type { InstructionStore, RecordResult, TransitionResult } from '../../src/store/instruction-store';

/**
 * Writes an instruction's record straight into the store, as intake's record step does for a
 * decision, without a gateway: for specs about what happens to records afterwards.
 */
export function recordDirectly(
  store: InstructionStore,
  instruction: SettlementInstruction,
  options: { state?: State; reason?: Reason; screening?: string; nowMs?: number; traceId?: string } = {},
): Promise<RecordResult> {
  return store.record({
    uetr: instruction.uetr,
    instruction,
    bodyHash: 'h',
    participant: 'HSBKKZKX',
    traceId: options.traceId ?? 't',
    traceparent: '',
    nowMs: options.nowMs ?? Date.now(),
    outcome: { state: options.state ?? 'ACCEPTED', reason: options.reason ?? { code: '', description: '' } },
    screening: options.screening ?? '',
  });
}

/** Moves a recorded instruction between states straight in the store, as a use case would. */
export function moveDirectly(
  store: InstructionStore,
  uetr: string,
  from: State,
  to: State,
  options: { reason?: Reason; nowMs?: number; audit?: AuditIntent } = {},
): Promise<TransitionResult> {
  return store.transition({
    uetr,
    from: [from],
    to,
    reason: options.reason ?? { code: '', description: '' },
    traceId: '',
    traceparent: '',
    nowMs: options.nowMs ?? Date.now(),
    ...(options.audit ? { audit: options.audit } : {}),
  });
}
