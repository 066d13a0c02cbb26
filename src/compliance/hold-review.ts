import { createHash } from 'node:crypto';
import type { ScreeningHit } from '../screening/screen-instruction';
import type { SettlementError } from '../settlement/errors';
import { parseEvidence } from '../settlement/screening-step';
import { checkNote } from './list-maintenance';
import { auditIntent, type AuditIntent, type AuditLog } from '../store/audit-log';
import type { Reason, State } from '../store/instruction-record';
import type { InstructionStore, TransitionResult } from '../store/instruction-store';
import type { ScreeningOptions } from '../screening/screen-instruction';
import type { ScreeningInFlight } from '../settlement/screening-in-flight';
import type { SnapshotSource } from '../settlement/screening-step';
import { newHits, type NewHits } from './rescreen';
import { raced } from '../settlement/transition-conflict';
import { unconfirmedDecision, type DecisionReplication } from '../settlement/decision-replication';

export interface HeldInstruction {
  uetr: string;
  /** Names the evidence below (evidenceTag), for the decision to be taken on it. */
  evidence: string;
  participant: string;
  heldAtMs: number;
  amount: string;
  hits: ScreeningHit[];
  versions: { list: string; version: number }[];
  releasedBy: string[];
}

export interface HoldDecisionRequest {
  uetr: string;
  decision: 'release' | 'reject';
  reasonCode: string;
  comment: string;
  officer: string;
  /** The HeldInstruction.evidence reviewed, or '' to decide on whatever evidence is held. */
  evidence: string;
  traceId: string;
  traceparent: string;
}

export interface HoldDecisionOutcome {
  state: State;
  releasedBy: string[];
  releasesNeeded: number;
}

export interface HoldReviewDeps {
  store: InstructionStore;
  audit: AuditLog;
  now: () => number;
  /** Distinct officers whose release is needed (2 = four-eyes). */
  releasesRequired: number;
  replication?: DecisionReplication;
  /** The current lists, on which a release screens the instruction again (rescreen.ts newHits). */
  screening: { snapshot: SnapshotSource; options: ScreeningOptions; inFlight: ScreeningInFlight };
}

const REASON_CODE = /^[A-Z0-9]{4}$/;

/** A short name of stored screening evidence: it changes whenever re-screening replaces it. */
export function evidenceTag(screening: string): string {
  return createHash('sha256').update(screening).digest('hex').slice(0, 16);
}

/**
 * Held instructions and officers' decisions on them. A rejection takes one officer (it is the safe
 * direction); a release takes `releasesRequired` different officers, each recorded, and the last
 * one moves the instruction to ACCEPTED and onto the outbox in one atomic step. Before that step the
 * instruction is screened on the current lists: a list changed since the hold could otherwise send
 * it to delivery before this replica's re-screening pass reaches it. A new hit then holds it again
 * (or rejects it) instead, and the release is refused.
 */
export interface HoldReview {
  list(limit: number): Promise<HeldInstruction[]>;
  decide(request: HoldDecisionRequest): Promise<HoldDecisionOutcome | SettlementError>;
}

export function createHoldReview(deps: HoldReviewDeps): HoldReview {
  const { store, audit, now } = deps;

  async function list(limit: number): Promise<HeldInstruction[]> {
    const held = await store.holds(limit);
    const out: HeldInstruction[] = [];
    for (const { uetr, heldAtMs } of held) {
      const record = await store.get(uetr);
      if (record === null || record.state !== 'HELD_FOR_REVIEW') continue;
      const evidence = parseEvidence(record.screening);
      out.push({
        uetr,
        evidence: evidenceTag(record.screening),
        participant: record.participant,
        heldAtMs,
        amount:
          `${record.instruction.amount?.value ?? ''} ${record.instruction.amount?.currency ?? ''}`.trim(),
        hits: evidence.hits,
        versions: evidence.versions,
        releasedBy: await store.releasesOf(uetr),
      });
    }
    return out;
  }

  /** The outcome, once enough replicas hold the decision; a failover before that could undo it. */
  async function confirmed(
    uetr: string,
    outcome: HoldDecisionOutcome,
  ): Promise<HoldDecisionOutcome | SettlementError> {
    return (
      (await unconfirmedDecision(
        deps.replication,
        uetr,
        `the instruction is ${outcome.state}`,
        'the instruction',
      )) ?? outcome
    );
  }

  async function decide(request: HoldDecisionRequest): Promise<HoldDecisionOutcome | SettlementError> {
    if (request.comment.trim() === '') {
      return {
        kind: 'invalid-argument',
        message: 'comment: a justification is required for the audit log',
        violations: [{ field: 'comment', description: 'is required: say why' }],
      };
    }
    const longComment = checkNote(request.comment, 'comment');
    if (longComment) {
      return {
        kind: 'invalid-argument',
        message: `comment: ${longComment.description}`,
        violations: [longComment],
      };
    }
    if (request.decision === 'reject' && request.reasonCode !== '' && !REASON_CODE.test(request.reasonCode)) {
      return {
        kind: 'invalid-argument',
        message: 'reason_code: must be an ISO 20022 status reason code such as RR04',
        violations: [
          { field: 'reason_code', description: 'must be 4 upper-case letters or digits, e.g. RR04' },
        ],
      };
    }
    const record = await store.get(request.uetr);
    if (record === null) return { kind: 'not-found', message: `no instruction with UETR ${request.uetr}` };
    if (record.state !== 'HELD_FOR_REVIEW') {
      return {
        kind: 'failed-precondition',
        message: `instruction ${request.uetr} is not held; it is ${record.state}`,
      };
    }
    if (request.evidence !== '' && request.evidence !== evidenceTag(record.screening)) {
      return {
        kind: 'failed-precondition',
        message: `instruction ${request.uetr} was screened again since that evidence was shown (new hits); review it again`,
      };
    }
    // A release is decided on the evidence read here: re-screening may replace it (a new hit on a
    // held instruction) without changing its state, and that must void the release.
    const move = (to: State, reason: Reason, entry: AuditIntent, screening?: string) =>
      store.transition({
        uetr: request.uetr,
        from: ['HELD_FOR_REVIEW'],
        to,
        reason,
        traceId: request.traceId,
        traceparent: request.traceparent,
        nowMs: now(),
        screening,
        ifScreening: record.screening,
        audit: entry,
      });
    const details = { comment: request.comment, participant: record.participant };
    const entry = (action: string, more: Record<string, unknown>) =>
      auditIntent(
        { actor: request.officer, action, subject: request.uetr, details: { ...details, ...more } },
        now(),
      );
    const settle = (made: AuditIntent) => audit.settle(store.auditPendingOf(request.uetr), made);

    if (request.decision === 'reject') {
      const code = request.reasonCode === '' ? 'RR04' : request.reasonCode;
      const rejection = entry('hold.reject', { code });
      const moved = await move('REJECTED', { code, description: 'rejected by compliance review' }, rejection);
      if (moved.kind !== 'ok') return raced(request.uetr, moved);
      await settle(rejection);
      return confirmed(request.uetr, {
        state: 'REJECTED',
        releasedBy: await store.releasesOf(request.uetr),
        releasesNeeded: 0,
      });
    }

    const approved = entry('hold.release-approval', {});
    const approval = await store.addRelease(request.uetr, request.officer, record.screening, approved);
    if (approval.kind !== 'ok') return raced(request.uetr, approval);
    const needed = Math.max(0, deps.releasesRequired - approval.releasedBy.length);
    await settle(approved);
    if (needed > 0) {
      return confirmed(request.uetr, {
        state: 'HELD_FOR_REVIEW',
        releasedBy: approval.releasedBy,
        releasesNeeded: needed,
      });
    }
    const current = deps.screening.snapshot();
    if (current.kind === 'stale') {
      return {
        kind: 'unavailable',
        message: `screening lists could not be confirmed current for ${Math.round(current.confirmedAgoMs / 1000)} s; the release is kept and takes effect when it is asked again`,
        retryAfterMs: 2000,
      };
    }
    const settled = deps.screening.inFlight.begin(current.generation);
    let moved: TransitionResult;
    let release: AuditIntent;
    try {
      const found = newHits(record, current.lists, deps.screening.options);
      if (found !== null) return await stopRelease(found, request.uetr, move, entry, settle);
      release = entry('hold.release', { releasedBy: approval.releasedBy });
      moved = await move('ACCEPTED', { code: '', description: 'released by compliance review' }, release);
    } finally {
      settled();
    }
    if (moved.kind === 'stale' && moved.state === 'ACCEPTED') {
      // Two officers' releases raced; the other one moved it. The outcome is the same, and as
      // durable as the other's: confirmed by replicas like any decision.
      return confirmed(request.uetr, {
        state: 'ACCEPTED',
        releasedBy: approval.releasedBy,
        releasesNeeded: 0,
      });
    }
    if (moved.kind !== 'ok') return raced(request.uetr, moved);
    await settle(release);
    return confirmed(request.uetr, { state: 'ACCEPTED', releasedBy: approval.releasedBy, releasesNeeded: 0 });
  }

  /** The release refused: the instruction held again (its releases void) or rejected on new hits. */
  async function stopRelease(
    found: NewHits,
    uetr: string,
    move: (to: State, reason: Reason, made: AuditIntent, screening?: string) => Promise<TransitionResult>,
    entry: (action: string, more: Record<string, unknown>) => AuditIntent,
    settle: (made: AuditIntent) => Promise<void>,
  ): Promise<SettlementError> {
    const stopped = entry('hold.release-stopped', { state: found.to, reason: found.reason.code });
    const moved = await move(found.to, found.reason, stopped, found.evidence);
    if (moved.kind !== 'ok') return raced(uetr, moved);
    await settle(stopped);
    return {
      kind: 'failed-precondition',
      message:
        found.to === 'REJECTED'
          ? `instruction ${uetr} was not released: screened on the current lists it is blocked (${found.reason.description}), so it is REJECTED`
          : `instruction ${uetr} was not released: screened on the current lists it has new hits, so it is held again and its releases are void; review the new evidence`,
    };
  }

  return { list, decide };
}
