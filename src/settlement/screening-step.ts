import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import {
  screenInstruction,
  type ListIndex,
  type ScreeningHit,
  type ScreeningOptions,
} from '../screening/screen-instruction';
import type { Reason } from '../store/instruction-record';
import { parseStoredJson } from '../store/store-data';
import type { ScreeningInFlight } from './screening-in-flight';
import type { IntakeDecision, ScreenInstruction } from './screening-seam';

/**
 * The current screening indexes, or 'stale' when their versions cannot be confirmed. `generation`
 * counts the swaps of this process's indexes: a decision taken on one generation and recorded after
 * the next began must be re-screened (screening-in-flight.ts).
 */
export type SnapshotSource = () =>
  | { kind: 'current'; lists: readonly ListIndex[]; generation: number }
  | { kind: 'stale'; confirmedAgoMs: number };

/** The evidence stored on the instruction record: versions used and every hit. */
export interface ScreeningEvidence {
  screened: boolean;
  versions: { list: string; version: number }[];
  hits: ScreeningHit[];
}

/** The evidence stored on a record; instructions recorded before screening existed have none. */
export function parseEvidence(json: string): ScreeningEvidence {
  if (json === '') return { screened: false, versions: [], hits: [] };
  return parseStoredJson(json, 'screening evidence') as ScreeningEvidence;
}

/**
 * Why an instruction was rejected, for the participant: the field and list reference, never the
 * party's own name or account. A blocked card scheme alone is AG01 (transaction forbidden); any
 * sanctions hit makes it RR04 (regulatory reason).
 */
function blockReason(hits: ScreeningHit[]): Reason {
  const blocking = hits.filter((h) => h.effect === 'block');
  const sanctions = blocking.filter((h) => h.kind !== 'card-scheme');
  if (sanctions.length === 0) {
    const first = blocking[0];
    return { code: 'AG01', description: `card scheme ${first.matched} is blocked (list ${first.list})` };
  }
  const first = sanctions[0];
  const more = sanctions.length > 1 ? ` and ${sanctions.length - 1} more` : '';
  return {
    code: 'RR04',
    description: `regulatory: ${first.field} is listed on ${first.list} (ref ${first.ref})${more}`,
  };
}

/**
 * The screening step of intake: screens the instruction against the current list versions and
 * decides. It refuses to decide (UNAVAILABLE) when the lists cannot be confirmed current, so no
 * instruction is accepted on stale lists beyond the configured bound. Each decision counts as
 * under way in `inFlight` until its caller settles it.
 */
export function createScreeningStep(
  source: SnapshotSource,
  options: ScreeningOptions,
  inFlight: ScreeningInFlight,
): ScreenInstruction {
  return (instruction: SettlementInstruction) => {
    const snapshot = source();
    if (snapshot.kind === 'stale') {
      return Promise.resolve({
        kind: 'unavailable' as const,
        message: `screening lists could not be confirmed current for ${Math.round(snapshot.confirmedAgoMs / 1000)} s; instructions are refused until they are (retry with the same UETR)`,
        retryAfterMs: 2000,
      });
    }
    const result = screenInstruction(instruction, snapshot.lists, options);
    const evidence = JSON.stringify({
      screened: true,
      versions: result.versions,
      hits: result.hits,
    } satisfies ScreeningEvidence);
    const settled = inFlight.begin(snapshot.generation);
    const decision: IntakeDecision =
      result.decision === 'block'
        ? { state: 'REJECTED', reason: blockReason(result.hits), evidence, settled }
        : result.decision === 'review'
          ? {
              state: 'HELD_FOR_REVIEW',
              reason: { code: '', description: 'held for compliance review' },
              evidence,
              settled,
            }
          : { state: 'ACCEPTED', reason: { code: '', description: '' }, evidence, settled };
    return Promise.resolve(decision);
  };
}
