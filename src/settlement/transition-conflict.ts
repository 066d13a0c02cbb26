import type { ReleaseResult, TransitionResult } from '../store/instruction-store';
import type { SettlementError } from './errors';

/** Why a guarded state change did not happen: someone else changed the instruction first. */
export function raced(
  uetr: string,
  moved: Exclude<TransitionResult | ReleaseResult, { kind: 'ok' }>,
): SettlementError {
  switch (moved.kind) {
    case 'missing':
      return { kind: 'not-found', message: `no instruction with UETR ${uetr}` };
    case 'stale':
      // Still held, so re-screening replaced the evidence the decision was taken on.
      if (moved.state === 'HELD_FOR_REVIEW') {
        return {
          kind: 'failed-precondition',
          message: `instruction ${uetr} was screened again meanwhile and is held on new evidence; review it again`,
        };
      }
      return {
        kind: 'failed-precondition',
        message: `instruction ${uetr} was decided meanwhile; it is ${moved.state}`,
      };
    case 'in-delivery':
      return { kind: 'failed-precondition', message: `instruction ${uetr} is being delivered` };
  }
}
