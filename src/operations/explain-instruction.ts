import type { ScreeningHit } from '../screening/screen-instruction';
import { parseEvidence } from '../settlement/screening-step';
import type { DeliveryAttemptRecord, Reason, State, StatusEventRecord } from '../store/instruction-record';
import {
  MAX_ATTEMPT_RECORDS,
  type InstructionStore,
  type InstructionStory,
} from '../store/instruction-store';

export type HopKind =
  | 'received'
  | 'screened'
  | 'held'
  | 'released'
  | 'rejected'
  | 'accepted'
  | 'delivery-attempt'
  | 'dispatcher-takeover'
  | 'delivered'
  | 'failed'
  | 'replayed';

export interface HopScreening {
  /** null: not screened (screening off), or no longer known (evidence replaced, state says nothing). */
  decision: 'clear' | 'review' | 'block' | null;
  versions: { list: string; version: number }[];
  hitCount: number;
  /** Empty unless the caller may see hits. */
  hits: ScreeningHit[];
}

export interface Hop {
  kind: HopKind;
  startMs: number;
  /** A call's duration, or the time spent in the state entered; null when the records do not say. */
  durationMs: number | null;
  /** The state entered, for status changes. */
  state: State | null;
  /** Position in the history, for status changes; 0 otherwise. */
  sequence: number;
  outcome: string;
  reason: Reason;
  traceId: string;
  detail: string;
  officers: string[];
  screening: HopScreening | null;
  attempt: { number: number; counterparty: string } | null;
}

export interface Explanation {
  uetr: string;
  participant: string;
  creditorAgent: string;
  amount: { currency: string; value: string };
  state: State;
  reason: Reason;
  traceId: string;
  createdAtMs: number;
  updatedAtMs: number;
  deliveryAttempts: number;
  hops: Hop[];
  /** Hits exist and were left out for a caller without the compliance role. */
  hitsWithheld: boolean;
}

const NO_REASON: Reason = { code: '', description: '' };

/**
 * One settlement's story from Caravan's own records — the status history, the stored screening
 * evidence and the delivery attempts — so that an operator can explain it with no tracing
 * backend. Screening hits carry list data and the screened names' tokens: only a caller who may see
 * them (the compliance role) gets them.
 */
export async function explainInstruction(
  store: InstructionStore,
  uetr: string,
  options: { showHits: boolean },
): Promise<Explanation | null> {
  const story = await store.story(uetr);
  if (story === null) return null;
  const { record } = story;
  const evidence = parseEvidence(record.screening);
  return {
    uetr,
    participant: record.participant,
    creditorAgent: record.instruction.creditorAgent?.bic ?? '',
    amount: {
      currency: record.instruction.amount?.currency ?? '',
      value: record.instruction.amount?.value ?? '',
    },
    state: record.state,
    reason: record.reason,
    traceId: record.traceId,
    createdAtMs: record.createdAtMs,
    updatedAtMs: record.updatedAtMs,
    deliveryAttempts: record.attempts,
    hops: mergeHops(story, statusHopsOf(story, options.showHits), attemptHopsOf(story)),
    hitsWithheld: !options.showHits && evidence.hits.length > 0,
  };
}

/**
 * Delivery hops go between the status changes by time; an attempt at the same millisecond as a
 * change follows an acceptance (it was queued by it) and precedes anything else (it caused it).
 */
function mergeHops(story: InstructionStory, byEvent: Hop[][], attempts: Hop[]): Hop[] {
  const hops: Hop[] = [];
  const pending = [...attempts];
  let accepted = false;
  story.record.history.forEach((event, i) => {
    // Attempts only follow an acceptance, even when the dispatcher's clock runs behind.
    while (
      accepted &&
      pending.length > 0 &&
      (pending[0].startMs < event.occurredAtMs ||
        (pending[0].startMs === event.occurredAtMs && event.state !== 'ACCEPTED'))
    ) {
      hops.push(pending.shift()!);
    }
    hops.push(...byEvent[i]);
    if (event.state === 'ACCEPTED') accepted = true;
  });
  return [...hops, ...pending];
}

/** The hops of each status change: the change itself, preceded by the screening that decided it. */
function statusHopsOf(story: InstructionStory, showHits: boolean): Hop[][] {
  const { record } = story;
  const events = record.history;
  const lastHold = events.map((e) => e.state).lastIndexOf('HELD_FOR_REVIEW');
  return events.map((event, i) => {
    const previous = i > 0 ? events[i - 1].state : null;
    const next = events[i + 1];
    const base = {
      startMs: event.occurredAtMs,
      state: event.state,
      sequence: event.sequence,
      outcome: event.state,
      reason: event.reason,
      traceId: event.traceId,
      officers: [],
      screening: null,
      attempt: null,
    };
    if (event.state === 'RECEIVED') {
      // RECEIVED and the intake decision are written together once intake is done, so how long
      // intake took is only in the trace.
      return [{ ...base, kind: 'received', durationMs: null, detail: `submitted by ${record.participant}` }];
    }
    const kind = statusHopKind(previous, event.state);
    // The releases kept belong to the latest hold: its release, or the approvals so far.
    const officers =
      (kind === 'released' && i === lastHold + 1) || (kind === 'held' && i === lastHold && next === undefined)
        ? story.releasedBy
        : [];
    const hop: Hop = {
      ...base,
      kind,
      durationMs: next === undefined ? null : next.occurredAtMs - event.occurredAtMs,
      officers,
      detail:
        officers.length === 0
          ? ''
          : kind === 'released'
            ? `released by ${officers.join(', ')}`
            : `release approved so far by ${officers.join(', ')}`,
    };
    return isScreening(event, previous, story.screenedSequence)
      ? [screeningHop(story, event, previous, showHits), hop]
      : [hop];
  });
}

function statusHopKind(previous: State | null, state: State): HopKind {
  switch (state) {
    case 'ACCEPTED':
      return previous === 'HELD_FOR_REVIEW' ? 'released' : previous === 'FAILED' ? 'replayed' : 'accepted';
    case 'HELD_FOR_REVIEW':
      return 'held';
    case 'REJECTED':
      return 'rejected';
    case 'DELIVERED':
      return 'delivered';
    case 'FAILED':
      return 'failed';
    case 'RECEIVED':
      return 'received';
  }
}

/**
 * Which status changes a screening decided: intake's, a replay's (screened against the lists of the
 * day), a re-screening's (a new hit stops an accepted instruction), and whichever the stored
 * evidence names.
 */
function isScreening(event: StatusEventRecord, previous: State | null, screenedSequence: number): boolean {
  return (
    previous === 'RECEIVED' ||
    previous === 'FAILED' ||
    (previous === 'ACCEPTED' && (event.state === 'HELD_FOR_REVIEW' || event.state === 'REJECTED')) ||
    event.sequence === screenedSequence
  );
}

function screeningHop(
  story: InstructionStory,
  event: StatusEventRecord,
  previous: State | null,
  showHits: boolean,
): Hop {
  const when =
    previous === 'RECEIVED'
      ? 'at intake'
      : previous === 'FAILED'
        ? "again before the replay, against the day's lists"
        : 'again after a list change, which found a new hit';
  const base = {
    kind: 'screened' as const,
    startMs: event.occurredAtMs,
    durationMs: null,
    state: null,
    sequence: 0,
    reason: NO_REASON,
    traceId: event.traceId,
    officers: [],
    attempt: null,
  };
  if (event.sequence !== story.screenedSequence) {
    // Only the latest screening's evidence is kept; the state it led to still tells its decision.
    const decision = decisionFromState(event);
    return {
      ...base,
      outcome: decision?.toUpperCase() ?? 'UNKNOWN',
      detail: `${when}; its evidence was replaced by a later screening`,
      screening: { decision, versions: [], hitCount: 0, hits: [] },
    };
  }
  const evidence = parseEvidence(story.record.screening);
  if (!evidence.screened) {
    return {
      ...base,
      outcome: 'UNSCREENED',
      detail: 'not screened: screening was switched off (CARAVAN_SCREENING=off)',
      screening: { decision: null, versions: [], hitCount: 0, hits: [] },
    };
  }
  const decision = evidence.hits.some((h) => h.effect === 'block')
    ? 'block'
    : evidence.hits.some((h) => h.effect === 'review')
      ? 'review'
      : 'clear';
  return {
    ...base,
    outcome: decision.toUpperCase(),
    detail: when,
    screening: {
      decision,
      versions: evidence.versions,
      hitCount: evidence.hits.length,
      hits: showHits ? evidence.hits : [],
    },
  };
}

function decisionFromState(event: StatusEventRecord): HopScreening['decision'] {
  switch (event.state) {
    case 'ACCEPTED':
      return 'clear';
    case 'HELD_FOR_REVIEW':
      return 'review';
    case 'REJECTED':
      // A rejection for want of a route (CNOR) says nothing about what screening found.
      return event.reason.code === 'RR04' || event.reason.code === 'AG01' ? 'block' : null;
    default:
      return null;
  }
}

/**
 * Delivery attempts, oldest first: the recorded ones, the latest one while its call is under way,
 * and the ones started but never recorded — a dispatcher that stopped mid-call, whose outbox entry
 * another dispatcher (or the same one, after losing Redis) claimed and delivered on from.
 */
function attemptHopsOf(story: InstructionStory): Hop[] {
  const { record, latestAttempt } = story;
  const recorded = new Map(story.attempts.map((a) => [a.attempt, a]));
  const latest = record.attempts;
  const hops = story.attempts.map(recordedAttemptHop);
  const latestStart = latestAttempt?.startedAtMs ?? record.updatedAtMs;
  const startOf = (n: number) => recorded.get(n)?.startedAtMs ?? (n === latest ? latestStart : null);
  // A full stream lost its oldest entries to trimming: numbers below its first were not lost.
  const first = story.attempts.length >= MAX_ATTEMPT_RECORDS ? Math.min(...recorded.keys()) : 1;
  for (let n = first; n <= latest; n++) {
    if (recorded.has(n)) continue;
    const common = {
      state: null,
      sequence: 0,
      reason: NO_REASON,
      traceId: '',
      officers: [],
      screening: null,
    };
    if (n === latest) {
      const underway = latestAttempt?.underway === true && record.state === 'ACCEPTED';
      hops.push({
        ...common,
        kind: 'delivery-attempt',
        startMs: latestStart,
        durationMs: null,
        outcome: underway ? 'in-progress' : 'unrecorded',
        detail: underway
          ? 'under way, or its dispatcher stopped: another takes the instruction over once its outbox entry has been idle for CARAVAN_CLAIM_IDLE_MS'
          : 'its outcome was never recorded: the dispatcher stopped or lost Redis during the call',
        attempt: { number: n, counterparty: record.counterparty },
      });
      continue;
    }
    let resumedWith = n + 1;
    while (startOf(resumedWith) === null) resumedWith++;
    hops.push({
      ...common,
      kind: 'dispatcher-takeover',
      startMs: startOf(resumedWith)!,
      durationMs: null,
      outcome: 'unfinished',
      detail: `attempt ${n} was started but its outcome never recorded (its dispatcher stopped or lost Redis); the outbox entry was claimed again and delivery went on with attempt ${resumedWith}`,
      attempt: { number: n, counterparty: '' },
    });
  }
  return hops.sort((a, b) => a.startMs - b.startMs || a.attempt!.number - b.attempt!.number);
}

function recordedAttemptHop(a: DeliveryAttemptRecord): Hop {
  return {
    kind: 'delivery-attempt',
    startMs: a.startedAtMs,
    durationMs: a.durationMs,
    state: null,
    sequence: 0,
    outcome: a.outcome,
    reason: { code: a.reasonCode, description: '' },
    traceId: a.traceId,
    detail: a.detail,
    officers: [],
    screening: null,
    attempt: { number: a.attempt, counterparty: a.counterparty },
  };
}
