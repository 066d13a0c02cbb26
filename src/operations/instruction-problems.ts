import type { InstructionRecord, State } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import { listed, type ListedInstruction } from './find-instructions';

export type Problem = 'failed' | 'stuck' | 'held';

export interface ProblemQuery {
  problems: readonly Problem[];
  /** An accepted instruction undelivered for this long is stuck. */
  stuckAfterMs: number;
  participant: string | null;
  limit: number;
}

export interface ProblemInstruction extends ListedInstruction {
  problem: Problem;
}

/** Candidates read per partition and problem: scans stay bounded however large the backlog is. */
const MAX_CANDIDATES = 1000;
const FETCH_BATCH = 50;

const INDEX = { failed: 'dead', stuck: 'open', held: 'holds' } as const;
const STATE: Readonly<Record<Problem, State>> = {
  failed: 'FAILED',
  stuck: 'ACCEPTED',
  held: 'HELD_FOR_REVIEW',
};

/**
 * The instructions an operator must look at, newest problem first, from the partitions' sorted
 * sets (failed, open, held) — never a scan of every instruction.
 */
export async function listProblems(
  store: InstructionStore,
  partitions: number,
  query: ProblemQuery,
  nowMs: number,
): Promise<{ instructions: ProblemInstruction[]; truncated: boolean }> {
  const candidates: { uetr: string; sinceMs: number; problem: Problem }[] = [];
  for (const problem of new Set(query.problems)) {
    const maxScore = problem === 'stuck' ? nowMs - query.stuckAfterMs : undefined;
    for (let p = 0; p < partitions; p++) {
      const found = await store.indexed(INDEX[problem], p, MAX_CANDIDATES, maxScore);
      candidates.push(...found.map((f) => ({ ...f, problem })));
    }
  }
  candidates.sort((a, b) => b.sinceMs - a.sinceMs);

  const instructions: ProblemInstruction[] = [];
  for (let i = 0; i < candidates.length && instructions.length <= query.limit; i += FETCH_BATCH) {
    const batch = candidates.slice(i, i + FETCH_BATCH);
    const records = await Promise.all(batch.map((c) => store.get(c.uetr)));
    batch.forEach((c, j) => {
      const record = records[j];
      if (record !== null && matches(record, c.problem, query))
        instructions.push({ ...listed(record, c.sinceMs), problem: c.problem });
    });
  }
  return { instructions: instructions.slice(0, query.limit), truncated: instructions.length > query.limit };
}

function matches(record: InstructionRecord, problem: Problem, query: ProblemQuery): boolean {
  // The sets are maintained with each state change, but the record is the truth.
  return (
    record.state === STATE[problem] &&
    (query.participant === null || record.participant === query.participant)
  );
}
