import type { InstructionRecord, Reason, State } from '../store/instruction-record';
import type { InstructionBrief, InstructionStore } from '../store/instruction-store';

/** What an operator sees of one instruction in a list. */
export interface ListedInstruction {
  uetr: string;
  state: State;
  reason: Reason;
  participant: string;
  creditorAgent: string;
  sinceMs: number;
  attempts: number;
  counterparty: string;
  traceId: string;
}

export function listed(record: InstructionRecord, sinceMs: number): ListedInstruction {
  return {
    uetr: record.uetr,
    state: record.state,
    reason: record.reason,
    participant: record.participant,
    creditorAgent: record.instruction.creditorAgent?.bic ?? '',
    sinceMs,
    attempts: record.attempts,
    counterparty: record.counterparty,
    traceId: record.traceId,
  };
}

/** Conditions an instruction must all meet; empty lists and nulls match anything. */
export interface InstructionFilter {
  states: readonly State[];
  reasonCodes: readonly string[];
  participant: string | null;
  counterparty: string | null;
  /** Last status change at or after. */
  sinceMs: number | null;
  /** Last status change before. */
  untilMs: number | null;
  traceId: string | null;
  limit: number;
}

export interface FoundInstructions {
  /** Newest last status change first. */
  instructions: ListedInstruction[];
  /** More matched than the limit. */
  truncated: boolean;
  /** Some partition had more candidates than one call examines: older matches may exist. */
  partial: boolean;
}

/**
 * Recency-index entries examined per partition and call, so that a filter matching little cannot
 * turn one listing into a read of every recent instruction.
 */
export const MAX_EXAMINED_PER_PARTITION = 5_000;
/** Instructions one trace id finds per partition; a batch job may submit thousands under one trace. */
export const MAX_TRACED_PER_PARTITION = 1_000;
const BRIEF_BATCH = 500;
const FETCH_BATCH = 50;

/**
 * Instructions in any state matching a filter, newest change first. Candidates come from each
 * partition's recency index (newest first, within the time window) or, given a trace id, from the
 * partition's trace index; their filterable fields are read in pipelined batches, and only the
 * page shown is read whole.
 */
export async function findInstructions(
  store: InstructionStore,
  partitions: number,
  filter: InstructionFilter,
): Promise<FoundInstructions> {
  const perPartition = await Promise.all(
    Array.from({ length: partitions }, (_, p) => matchesIn(store, p, filter)),
  );
  const matched = perPartition.flatMap((r) => r.matched).sort(newestFirst);
  const page = matched.slice(0, filter.limit);
  const instructions: ListedInstruction[] = [];
  for (let i = 0; i < page.length; i += FETCH_BATCH) {
    const records = await Promise.all(page.slice(i, i + FETCH_BATCH).map((b) => store.get(b.uetr)));
    for (const record of records) {
      // It may have changed since its brief was read; the record is the truth.
      if (record !== null && matches(briefOf(record), filter))
        instructions.push(listed(record, record.updatedAtMs));
    }
  }
  return {
    instructions,
    truncated: matched.length > filter.limit,
    partial: perPartition.some((r) => r.partial),
  };
}

async function matchesIn(
  store: InstructionStore,
  partition: number,
  filter: InstructionFilter,
): Promise<{ matched: InstructionBrief[]; partial: boolean }> {
  const bound = filter.traceId === null ? MAX_EXAMINED_PER_PARTITION : MAX_TRACED_PER_PARTITION;
  const candidates =
    filter.traceId === null
      ? (
          await store.indexed(
            'recent',
            partition,
            bound,
            // Scores are whole milliseconds, so "before until" is "at most until - 1".
            filter.untilMs === null ? undefined : filter.untilMs - 1,
            filter.sinceMs ?? undefined,
          )
        ).map((c) => c.uetr)
      : await store.tracedBy(partition, filter.traceId, bound);
  const matched: InstructionBrief[] = [];
  for (let i = 0; i < candidates.length; i += BRIEF_BATCH) {
    const briefs = await store.briefs(candidates.slice(i, i + BRIEF_BATCH));
    for (const brief of briefs) if (brief !== null && matches(brief, filter)) matched.push(brief);
    // Recency candidates come newest first: once a page and one more matched, the rest cannot
    // make the page. Trace candidates come in UETR order, so all of them are read.
    if (filter.traceId === null && matched.length > filter.limit) return { matched, partial: false };
  }
  return { matched, partial: candidates.length === bound };
}

function matches(b: InstructionBrief, f: InstructionFilter): boolean {
  return (
    (f.states.length === 0 || f.states.includes(b.state)) &&
    (f.reasonCodes.length === 0 || f.reasonCodes.includes(b.reasonCode)) &&
    (f.participant === null || b.participant === f.participant) &&
    (f.counterparty === null || b.counterparty === f.counterparty) &&
    (f.sinceMs === null || b.updatedAtMs >= f.sinceMs) &&
    (f.untilMs === null || b.updatedAtMs < f.untilMs)
  );
}

function briefOf(record: InstructionRecord): InstructionBrief {
  return {
    uetr: record.uetr,
    state: record.state,
    reasonCode: record.reason.code,
    participant: record.participant,
    counterparty: record.counterparty,
    updatedAtMs: record.updatedAtMs,
  };
}

function newestFirst(a: InstructionBrief, b: InstructionBrief): number {
  return b.updatedAtMs - a.updatedAtMs || (a.uetr < b.uetr ? -1 : a.uetr > b.uetr ? 1 : 0);
}
