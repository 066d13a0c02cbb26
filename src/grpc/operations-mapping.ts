import { InstructionProblem, type InstructionSummary } from '../gen/caravan/operations/v1/operations';
import { Transport, type Route } from '../gen/caravan/operations/v1/routes';
import type { ProblemInstruction, Problem } from '../operations/instruction-problems';
import type { RouteRule } from '../routing/route-rule';
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
  return {
    uetr: p.uetr,
    problem: PROBLEM_TO_PROTO[p.problem],
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
