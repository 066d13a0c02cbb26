import type { SettlementError } from './errors';

/**
 * With CARAVAN_REDIS_MIN_REPLICAS: how many replicas hold everything written so far for one
 * subject of decisions (an instruction and its audit entries, a list and its audit entries), and
 * how many must before a decision on it is acknowledged.
 */
export interface DecisionReplication {
  replicasHolding(subject: string): Promise<number>;
  required: number;
  timeoutMs: number;
}

/**
 * Null once enough replicas hold the decision just made on `subject`; otherwise the UNAVAILABLE to
 * answer, since a failover before then could undo the decision. `outcome` says where the decision
 * left things ("the instruction is ACCEPTED"), `lookAt` what to check before deciding again.
 */
export async function unconfirmedDecision(
  replication: DecisionReplication | undefined,
  subject: string,
  outcome: string,
  lookAt: string,
): Promise<SettlementError | null> {
  if (replication === undefined) return null;
  const held = await replication.replicasHolding(subject);
  if (held >= replication.required) return null;
  return {
    kind: 'unavailable',
    message:
      `the decision was recorded (${outcome}), but ${held} of the ${replication.required} Redis ` +
      `replica(s) required confirmed it within ${replication.timeoutMs} ms, so a failover now could ` +
      `undo it: look at ${lookAt} before deciding again`,
    retryAfterMs: 1_000,
  };
}
