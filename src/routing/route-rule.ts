import { X509Certificate } from 'node:crypto';
import BigNumber from 'bignumber.js';
import { checkBic } from '../settlement/bic';
import { isCountryCode } from '../settlement/countries';
import type { FieldViolation } from '../settlement/errors';
import { checkCurrency } from '../settlement/money';

export type Transport = 'tls' | 'plaintext';

/** How the dispatcher reaches one receiving bank's or exchange's SettlementReceiver. */
export interface Counterparty {
  name: string;
  address: string;
  transport: Transport;
  /** Expected name in the server certificate, when it differs from the address's host. */
  serverName: string;
  /** CA of the counterparty's server certificate; empty uses the gateway's own CA. */
  caPem: string;
  /** Deadline of one attempt; 0 uses the configured default. */
  deadlineMs: number;
}

export interface RouteMatch {
  /** An 11- or 8-character BIC, a country code, or '' for any creditor agent. */
  creditorAgent: string;
  /** A currency or asset code, or '' for any. */
  currency: string;
  /** Inclusive decimal bounds, '' when unbounded. */
  minAmount: string;
  maxAmount: string;
}

export interface RouteRule {
  id: string;
  match: RouteMatch;
  priority: number;
  counterparties: Counterparty[];
  updatedBy: string;
  updatedAtMs: number;
}

export const MAX_COUNTERPARTIES = 8;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/;
const DECIMAL = /^[0-9]{1,18}(\.[0-9]{1,18})?$/;
const MAX_PEM_BYTES = 64 * 1024;
const MAX_PRIORITY = 1_000_000;
const MAX_DEADLINE_MS = 600_000;

/** What kind of creditor agent a rule names, from most to least specific. */
export type AgentMatchKind = 'bic11' | 'bic8' | 'country' | 'any';

export function agentMatchKind(creditorAgent: string): AgentMatchKind {
  if (creditorAgent === '') return 'any';
  if (creditorAgent.length === 2) return 'country';
  return creditorAgent.length === 8 ? 'bic8' : 'bic11';
}

export function checkRouteId(id: string, field = 'id'): FieldViolation | null {
  return ID.test(id)
    ? null
    : {
        field,
        description:
          'must be 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
      };
}

/**
 * Every problem of a rule an operator wants to store, as field violations (paths relative to the
 * route). A rule is refused whole rather than stored half-usable: a bad counterparty address found
 * at delivery time would fail real transfers.
 */
export function checkRoute(rule: RouteRule): FieldViolation[] {
  const problems: FieldViolation[] = [];
  const add = (field: string, description: string | null) => {
    if (description !== null) problems.push({ field, description });
  };
  const idProblem = checkRouteId(rule.id);
  if (idProblem) problems.push(idProblem);
  add('match.creditor_agent', checkAgentMatch(rule.match.creditorAgent));
  if (rule.match.currency !== '') add('match.currency', checkCurrency(rule.match.currency));
  const min = checkBound(rule.match.minAmount);
  const max = checkBound(rule.match.maxAmount);
  add('match.min_amount', typeof min === 'string' ? min : null);
  add('match.max_amount', typeof max === 'string' ? max : null);
  if (min instanceof BigNumber && max instanceof BigNumber && min.gt(max)) {
    add('match.max_amount', 'must not be less than min_amount');
  }
  if (!Number.isInteger(rule.priority) || rule.priority < 0 || rule.priority > MAX_PRIORITY) {
    add('priority', `must be an integer from 0 to ${MAX_PRIORITY}`);
  }
  if (rule.counterparties.length === 0) add('counterparties', 'at least one counterparty is required');
  if (rule.counterparties.length > MAX_COUNTERPARTIES) {
    add('counterparties', `at most ${MAX_COUNTERPARTIES} counterparties per rule`);
  }
  const seen = new Set<string>();
  rule.counterparties.slice(0, MAX_COUNTERPARTIES).forEach((c, i) => {
    for (const v of checkCounterparty(c)) problems.push({ ...v, field: `counterparties[${i}].${v.field}` });
    if (seen.has(c.name)) add(`counterparties[${i}].name`, `"${c.name}" is used twice in this rule`);
    seen.add(c.name);
  });
  return problems;
}

function checkAgentMatch(agent: string): string | null {
  if (agent === '') return null;
  if (agent.length === 2) {
    return isCountryCode(agent) ? null : 'is not an ISO 3166-1 alpha-2 country code (upper case)';
  }
  const bic = checkBic(agent);
  return bic === null
    ? null
    : `must be an 11- or 8-character BIC, a 2-letter country code, or empty for any: ${bic}`;
}

function checkBound(value: string): BigNumber | string | null {
  if (value === '') return null;
  if (!DECIMAL.test(value)) return 'must be a plain decimal such as "1000000.00" (no sign or exponent)';
  return new BigNumber(value);
}

function checkCounterparty(c: Counterparty): FieldViolation[] {
  const problems: FieldViolation[] = [];
  if (!NAME.test(c.name)) {
    problems.push({ field: 'name', description: 'must be 1-64 letters, digits, ".", "_" or "-"' });
  }
  const hp = HOST_PORT.exec(c.address);
  if (hp === null || Number(hp[2]) < 1 || Number(hp[2]) > 65535) {
    problems.push({ field: 'address', description: 'must be host:port with a port from 1 to 65535' });
  }
  if (c.transport === 'plaintext' && (c.caPem !== '' || c.serverName !== '')) {
    problems.push({ field: 'transport', description: 'ca_pem and server_name only apply to TLS' });
  }
  if (c.serverName !== '' && !/^[A-Za-z0-9.-]{1,253}$/.test(c.serverName)) {
    problems.push({ field: 'server_name', description: 'must be a DNS name' });
  }
  if (c.caPem !== '') {
    const problem = checkPem(c.caPem);
    if (problem) problems.push({ field: 'ca_pem', description: problem });
  }
  if (!Number.isInteger(c.deadlineMs) || c.deadlineMs < 0 || c.deadlineMs > MAX_DEADLINE_MS) {
    problems.push({
      field: 'deadline_ms',
      description: `must be 0 (the default) or at most ${MAX_DEADLINE_MS}`,
    });
  } else if (c.deadlineMs > 0 && c.deadlineMs < 50) {
    problems.push({ field: 'deadline_ms', description: 'must be at least 50 ms, or 0 for the default' });
  }
  return problems;
}

function checkPem(pem: string): string | null {
  if (Buffer.byteLength(pem) > MAX_PEM_BYTES) return `must be at most ${MAX_PEM_BYTES} bytes`;
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return 'must be a PEM certificate';
  try {
    const cert = new X509Certificate(pem);
    return cert.ca ? null : 'must be a CA certificate (basicConstraints CA:TRUE)';
  } catch {
    return 'is not a readable PEM certificate';
  }
}
