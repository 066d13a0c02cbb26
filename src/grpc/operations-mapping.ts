import { isValidTraceId } from '@opentelemetry/api';
import { ScreeningDecision } from '../gen/caravan/compliance/v1/screening';
import {
  HopKind,
  InstructionProblem,
  type ExplainInstructionResponse,
  type Hop as HopProto,
  type InstructionFilter as InstructionFilterProto,
  type InstructionSummary,
} from '../gen/caravan/operations/v1/operations';
import { Transport, type Route } from '../gen/caravan/operations/v1/routes';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import type { Duration } from '../gen/google/protobuf/duration';
import type { Timestamp } from '../gen/google/protobuf/timestamp';
import type { Explanation, Hop, HopKind as DomainHopKind } from '../operations/explain-instruction';
import type { InstructionFilter, ListedInstruction } from '../operations/find-instructions';
import type { ProblemInstruction, Problem } from '../operations/instruction-problems';
import type { RouteRule } from '../routing/route-rule';
import type { FieldViolation } from '../settlement/errors';
import { STATES, type State } from '../store/instruction-record';
import { decisionToProto, hitToProto } from './compliance-mapping';
import { stateToProto, timestampOf } from './instruction-mapping';

const TRANSPORT_TO_PROTO = {
  tls: Transport.TRANSPORT_TLS,
  plaintext: Transport.TRANSPORT_PLAINTEXT,
} as const;

export function routeToProto(rule: RouteRule): Route {
  return {
    id: rule.id,
    match: { ...rule.match },
    priority: rule.priority,
    counterparties: rule.counterparties.map((c) => ({ ...c, transport: TRANSPORT_TO_PROTO[c.transport] })),
    updatedBy: rule.updatedBy,
    updateTime: timestampOf(rule.updatedAtMs),
  };
}

/**
 * The rule an operator sent, or the violations of its enums (the rest is checked by the domain).
 * Output-only fields are ignored.
 */
export function routeFromProto(
  route: Route,
): Omit<RouteRule, 'updatedBy' | 'updatedAtMs'> | { field: string; description: string }[] {
  const problems: { field: string; description: string }[] = [];
  const counterparties = route.counterparties.map((c, i) => {
    const transport: RouteRule['counterparties'][number]['transport'] | null =
      c.transport === Transport.TRANSPORT_TLS
        ? 'tls'
        : c.transport === Transport.TRANSPORT_PLAINTEXT
          ? 'plaintext'
          : null;
    if (transport === null) {
      problems.push({
        field: `route.counterparties[${i}].transport`,
        description: 'is required: TLS or PLAINTEXT',
      });
    }
    return {
      name: c.name,
      address: c.address,
      transport: transport ?? 'tls',
      serverName: c.serverName,
      caPem: c.caPem,
      deadlineMs: c.deadlineMs,
    };
  });
  if (problems.length > 0) return problems;
  const match = route.match ?? { creditorAgent: '', currency: '', minAmount: '', maxAmount: '' };
  return { id: route.id, match: { ...match }, priority: route.priority, counterparties };
}

const PROBLEM_TO_PROTO: Readonly<Record<Problem, InstructionProblem>> = {
  failed: InstructionProblem.INSTRUCTION_PROBLEM_FAILED,
  stuck: InstructionProblem.INSTRUCTION_PROBLEM_STUCK,
  held: InstructionProblem.INSTRUCTION_PROBLEM_HELD,
};

export function problemFromProto(problem: InstructionProblem): Problem | null {
  const found = (Object.keys(PROBLEM_TO_PROTO) as Problem[]).find((p) => PROBLEM_TO_PROTO[p] === problem);
  return found ?? null;
}

export function problemToProto(p: ProblemInstruction): InstructionSummary {
  return listedToProto(p, PROBLEM_TO_PROTO[p.problem]);
}

export function listedToProto(
  p: ListedInstruction,
  problem = InstructionProblem.INSTRUCTION_PROBLEM_UNSPECIFIED,
): InstructionSummary {
  return {
    uetr: p.uetr,
    problem,
    state: stateToProto(p.state),
    reason: { ...p.reason },
    participant: p.participant,
    creditorAgent: p.creditorAgent,
    since: timestampOf(p.sinceMs),
    attempts: p.attempts,
    counterparty: p.counterparty,
    traceId: p.traceId,
  };
}

const HOP_KIND_TO_PROTO: Readonly<Record<DomainHopKind, HopKind>> = {
  received: HopKind.HOP_KIND_RECEIVED,
  screened: HopKind.HOP_KIND_SCREENED,
  held: HopKind.HOP_KIND_HELD,
  released: HopKind.HOP_KIND_RELEASED,
  rejected: HopKind.HOP_KIND_REJECTED,
  accepted: HopKind.HOP_KIND_ACCEPTED,
  'delivery-attempt': HopKind.HOP_KIND_DELIVERY_ATTEMPT,
  'dispatcher-takeover': HopKind.HOP_KIND_DISPATCHER_TAKEOVER,
  delivered: HopKind.HOP_KIND_DELIVERED,
  failed: HopKind.HOP_KIND_FAILED,
  replayed: HopKind.HOP_KIND_REPLAYED,
};

function durationOf(ms: number): Duration {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function hopToProto(hop: Hop): HopProto {
  return {
    kind: HOP_KIND_TO_PROTO[hop.kind],
    startTime: timestampOf(hop.startMs),
    // A later change stamped by a clock behind the earlier one's is not a negative duration.
    duration: hop.durationMs === null ? undefined : durationOf(Math.max(0, hop.durationMs)),
    state: hop.state === null ? InstructionState.INSTRUCTION_STATE_UNSPECIFIED : stateToProto(hop.state),
    sequence: String(hop.sequence),
    outcome: hop.outcome,
    reason: { ...hop.reason },
    traceId: hop.traceId,
    detail: hop.detail,
    officers: hop.officers,
    details:
      hop.screening !== null
        ? {
            $case: 'screening',
            value: {
              decision:
                hop.screening.decision === null
                  ? ScreeningDecision.SCREENING_DECISION_UNSPECIFIED
                  : decisionToProto(hop.screening.decision),
              listVersions: hop.screening.versions.map((v) => ({ list: v.list, version: String(v.version) })),
              hitCount: hop.screening.hitCount,
              hits: hop.screening.hits.map(hitToProto),
            },
          }
        : hop.attempt !== null
          ? {
              $case: 'deliveryAttempt',
              value: { attempt: hop.attempt.number, counterparty: hop.attempt.counterparty },
            }
          : undefined,
  };
}

export function explanationToProto(e: Explanation): ExplainInstructionResponse {
  return {
    uetr: e.uetr,
    participant: e.participant,
    creditorAgent: e.creditorAgent,
    amount: { ...e.amount },
    state: stateToProto(e.state),
    reason: { ...e.reason },
    traceId: e.traceId,
    createTime: timestampOf(e.createdAtMs),
    updateTime: timestampOf(e.updatedAtMs),
    deliveryAttempts: e.deliveryAttempts,
    hops: e.hops.map(hopToProto),
    screeningHitsWithheld: e.hitsWithheld,
  };
}

const REASON_CODE = /^[A-Z0-9]{4}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
// The rule for counterparty names in routes: anything else cannot match one.
const COUNTERPARTY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_REASON_CODES = 20;
/** 9999-12-31T23:59:59Z, the last second a Timestamp may hold. */
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;

function millisFrom(t: Timestamp, field: string, violations: FieldViolation[]): number | null {
  const seconds = Number(t.seconds);
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_TIMESTAMP_SECONDS) {
    violations.push({ field, description: 'must be a time from 1970 to 9999' });
    return null;
  }
  if (t.nanos < 0 || t.nanos > 999_999_999) {
    violations.push({ field: `${field}.nanos`, description: 'must be from 0 to 999999999' });
    return null;
  }
  return seconds * 1000 + Math.floor(t.nanos / 1e6);
}

/**
 * The filter an operator sent, or its violations (paths from the request root). Participant and
 * limit are request fields shared with problem listing, checked with them.
 */
export function filterFromProto(
  f: InstructionFilterProto,
): Omit<InstructionFilter, 'participant' | 'limit'> | FieldViolation[] {
  const violations: FieldViolation[] = [];
  const states: State[] = [];
  f.states.forEach((value, i) => {
    const state = STATES.find((s) => stateToProto(s) === value);
    if (state === undefined) {
      violations.push({ field: `filter.states[${i}]`, description: 'must be an instruction state' });
    } else if (!states.includes(state)) states.push(state);
  });
  if (f.reasonCodes.length > MAX_REASON_CODES) {
    violations.push({ field: 'filter.reason_codes', description: `at most ${MAX_REASON_CODES} codes` });
  }
  f.reasonCodes.slice(0, MAX_REASON_CODES).forEach((code, i) => {
    if (!REASON_CODE.test(code)) {
      violations.push({
        field: `filter.reason_codes[${i}]`,
        description: 'must be an ISO 20022 reason code: 4 upper-case letters or digits, e.g. AB05',
      });
    }
  });
  if (f.counterparty !== '' && !COUNTERPARTY_NAME.test(f.counterparty)) {
    violations.push({
      field: 'filter.counterparty',
      description: 'must be a counterparty name as in the routes: 1-64 letters, digits, ".", "_" or "-"',
    });
  }
  if (f.traceId !== '' && !(TRACE_ID.test(f.traceId) && isValidTraceId(f.traceId))) {
    violations.push({
      field: 'filter.trace_id',
      description: 'must be a W3C trace id: 32 lower-case hex characters, not all zero',
    });
  }
  const sinceMs = f.since === undefined ? null : millisFrom(f.since, 'filter.since', violations);
  const untilMs = f.until === undefined ? null : millisFrom(f.until, 'filter.until', violations);
  if (sinceMs !== null && untilMs !== null && sinceMs >= untilMs) {
    violations.push({ field: 'filter.until', description: 'must be after filter.since' });
  }
  if (violations.length > 0) return violations;
  return {
    states,
    reasonCodes: [...new Set(f.reasonCodes)],
    counterparty: f.counterparty === '' ? null : f.counterparty,
    sinceMs,
    untilMs,
    traceId: f.traceId === '' ? null : f.traceId,
  };
}
