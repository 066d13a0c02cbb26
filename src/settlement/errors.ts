/**
 * Expected failures of the settlement and compliance use cases, as values. The gRPC edge maps each kind to a status
 * code and google.rpc details in one place (src/grpc/status.ts); nothing here knows about gRPC.
 */

/** One bad field: a dot-separated proto field path from the request root, and what is wrong. */
export interface FieldViolation {
  field: string;
  description: string;
}

export type SettlementError =
  | { kind: 'invalid-argument'; message: string; violations: FieldViolation[] }
  | { kind: 'unauthenticated'; message: string }
  | { kind: 'permission-denied'; message: string }
  | { kind: 'not-found'; message: string }
  | { kind: 'already-exists'; message: string }
  | { kind: 'failed-precondition'; message: string }
  | { kind: 'unavailable'; message: string; retryAfterMs: number }
  | { kind: 'cancelled'; message: string };

export type SettlementErrorKind = SettlementError['kind'];

export function isSettlementError(value: unknown): value is SettlementError {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kind' in value &&
    typeof value.kind === 'string' &&
    'message' in value
  );
}

export function invalidArgument(violations: FieldViolation[]): SettlementError {
  const first = violations[0];
  const summary =
    first === undefined
      ? 'invalid request'
      : `${first.field}: ${first.description}` +
        (violations.length > 1 ? ` (and ${violations.length - 1} more violations)` : '');
  return { kind: 'invalid-argument', message: summary, violations };
}
