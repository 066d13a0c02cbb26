import type { State } from '../store/instruction-record';
import type { SettlementError } from './errors';

/**
 * With CARAVAN_REDIS_MIN_REPLICAS: how many replicas hold everything written so far for an
 * instruction (a decision on it and its audit entry), and how many must before the decision is
 * acknowledged.
 */
export interface DecisionReplication {
  replicasHolding(uetr: string): Promise<number>;
  required: number;
  timeoutMs: number;
}

/**
 * Null once enough replicas hold the decision just made on `uetr`, which left it in `state`;
 * otherwise the UNAVAILABLE to answer, since a failover before then could undo the decision.
 */
export async function unconfirmedDecision(
  replication: DecisionReplication | undefined,
  uetr: string,
  state: State,
): Promise<SettlementError | null> {
  if (replication === undefined) return null;
  const held = await replication.replicasHolding(uetr);
  if (held >= replication.required) return null;
  return {
    kind: 'unavailable',
    message:
      `the decision was recorded (the instruction is ${state}), but ${held} of the ` +
      `${replication.required} Redis replica(s) required confirmed it within ${replication.timeoutMs} ms, ` +
      'so a failover now could undo it: look at the instruction before deciding again',
    retryAfterMs: 1_000,
  };
}
