import BigNumber from 'bignumber.js';
import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import { agentMatchKind, type AgentMatchKind, type RouteRule } from './route-rule';

const SPECIFICITY: Readonly<Record<AgentMatchKind, number>> = { bic11: 0, bic8: 1, country: 2, any: 3 };

/**
 * The order rules are considered in: priority, then the more specific creditor agent match, then
 * id, so that the winner never depends on the order rules were stored in.
 */
export function orderRoutes(rules: readonly RouteRule[]): RouteRule[] {
  return [...rules].sort(
    (a, b) =>
      a.priority - b.priority ||
      SPECIFICITY[agentMatchKind(a.match.creditorAgent)] -
        SPECIFICITY[agentMatchKind(b.match.creditorAgent)] ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** An 8-character BIC is the institution's primary office, which SWIFT also writes with branch XXX. */
function asBic11(bic: string): string {
  return bic.length === 8 ? `${bic}XXX` : bic;
}

function agentMatches(rule: string, bic: string): boolean {
  switch (agentMatchKind(rule)) {
    case 'any':
      return true;
    case 'country':
      return bic.slice(4, 6) === rule;
    case 'bic8':
      return bic.slice(0, 8) === rule;
    case 'bic11':
      return asBic11(bic) === asBic11(rule);
  }
}

function amountWithin(rule: RouteRule, value: string): boolean {
  const { minAmount, maxAmount } = rule.match;
  if (minAmount === '' && maxAmount === '') return true;
  const amount = new BigNumber(value);
  if (amount.isNaN()) return false;
  if (minAmount !== '' && amount.lt(minAmount)) return false;
  return maxAmount === '' || amount.lte(maxAmount);
}

export function ruleMatches(rule: RouteRule, instruction: SettlementInstruction): boolean {
  const bic = instruction.creditorAgent?.bic ?? '';
  const amount = instruction.amount;
  return (
    agentMatches(rule.match.creditorAgent, bic) &&
    (rule.match.currency === '' || rule.match.currency === amount?.currency) &&
    amountWithin(rule, amount?.value ?? '')
  );
}

/** The winning rule for an instruction among rules already in `orderRoutes` order, or null. */
export function selectRoute(
  ordered: readonly RouteRule[],
  instruction: SettlementInstruction,
): RouteRule | null {
  return ordered.find((rule) => ruleMatches(rule, instruction)) ?? null;
}
