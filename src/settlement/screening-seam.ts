import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { Reason } from '../store/instruction-record';
import type { SettlementError } from './errors';

/** What screening decided for an instruction before it is recorded. */
export interface IntakeDecision {
  state: 'ACCEPTED' | 'HELD_FOR_REVIEW' | 'REJECTED';
  reason: Reason;
  /** The decision's evidence (list versions, hits, scores) as JSON, stored on the record. */
  evidence: string;
  /**
   * To call once the decision is recorded, or will not be: until then, re-screening after a list
   * change waits for it (screening-in-flight.ts). Absent where nothing waits.
   */
  settled?: () => void;
}

/**
 * The step between validation and recording. It may refuse to decide (an outage: the current list
 * version cannot be confirmed), and then nothing is recorded.
 */
export type ScreenInstruction = (
  instruction: SettlementInstruction,
) => Promise<IntakeDecision | SettlementError>;

/**
 * Intake without sanctions screening: every valid, authorised instruction is accepted. This is
 * what the gateway runs until the screening engine (issue #3) is wired in, and the gateway says so
 * in a warning at start; the stored evidence records that the instruction was not screened.
 */
export const acceptWithoutScreening: ScreenInstruction = () =>
  Promise.resolve({
    state: 'ACCEPTED',
    reason: { code: '', description: '' },
    evidence: JSON.stringify({ screened: false }),
  });
