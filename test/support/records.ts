import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import type { Reason, State } from '../../src/store/instruction-record';
import type { InstructionStore, RecordResult } from '../../src/store/instruction-store';

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
