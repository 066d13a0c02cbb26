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
/**
 * Entries of the open set read per partition looking for stuck ones: it holds held instructions
 * too, which may be many and newer than a stuck one.
 */
const MAX_OPEN_SCANNED = 20_000;
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
  // A partition with more candidates than it was read for cut the list short.
  let cut = false;
  for (const problem of new Set(query.problems)) {
    for (let p = 0; p < partitions; p++) {
      const found =
        problem === 'stuck'
          ? await stuckIn(store, p, nowMs - query.stuckAfterMs)
          : await failedOrHeld(store, INDEX[problem], p);
      cut ||= found.cut;
      candidates.push(...found.entries.map((f) => ({ ...f, problem })));
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
  return {
    instructions: instructions.slice(0, query.limit),
    truncated: cut || instructions.length > query.limit,
  };
}

type Candidates = { entries: { uetr: string; sinceMs: number }[]; cut: boolean };

async function failedOrHeld(
  store: InstructionStore,
  index: 'dead' | 'holds',
  p: number,
): Promise<Candidates> {
  // One more than the cap, to know whether the cap cut anything.
  const found = await store.indexed(index, p, MAX_CANDIDATES + 1);
  return { entries: found.slice(0, MAX_CANDIDATES), cut: found.length > MAX_CANDIDATES };
}

/** Accepted instructions unchanged since `before`, paging past the held ones the open set also holds. */
async function stuckIn(store: InstructionStore, p: number, before: number): Promise<Candidates> {
  const entries: { uetr: string; sinceMs: number }[] = [];
  for (let offset = 0; offset < MAX_OPEN_SCANNED; offset += MAX_CANDIDATES) {
    const page = await store.indexed('open', p, MAX_CANDIDATES, before, undefined, offset);
    const briefs = await store.briefs(page.map((e) => e.uetr));
    page.forEach((e, i) => {
      if (briefs[i]?.state === 'ACCEPTED') entries.push(e);
    });
    if (entries.length > MAX_CANDIDATES) return { entries: entries.slice(0, MAX_CANDIDATES), cut: true };
    if (page.length < MAX_CANDIDATES) return { entries, cut: false };
  }
  return { entries, cut: true };
}

function matches(record: InstructionRecord, problem: Problem, query: ProblemQuery): boolean {
  // The sets are maintained with each state change, but the record is the truth.
  return (
    record.state === STATE[problem] &&
    (query.participant === null || record.participant === query.participant)
  );
}
