import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { Any } from '../gen/google/protobuf/any';
import { BadRequest, ErrorInfo, RetryInfo } from '../gen/google/rpc/error_details';
import { Status as RpcStatus } from '../gen/google/rpc/status';
import { isSettlementError, type FieldViolation, type SettlementError } from '../settlement/errors';

/**
 * The one place where domain failures become gRPC statuses. Every error carries google.rpc.ErrorInfo
 * with the trace id; bad input adds google.rpc.BadRequest, outages add google.rpc.RetryInfo — all in
 * grpc-status-details-bin, where stock gRPC clients look for them.
 */
export const ERROR_DOMAIN = 'caravan.settlement';

type ErrorKind = SettlementError['kind'] | 'internal' | 'resource-exhausted';

const CODES: Readonly<Record<ErrorKind, Status>> = {
  'invalid-argument': Status.INVALID_ARGUMENT,
  unauthenticated: Status.UNAUTHENTICATED,
  'permission-denied': Status.PERMISSION_DENIED,
  'not-found': Status.NOT_FOUND,
  'already-exists': Status.ALREADY_EXISTS,
  'failed-precondition': Status.FAILED_PRECONDITION,
  unavailable: Status.UNAVAILABLE,
  cancelled: Status.CANCELLED,
  'resource-exhausted': Status.RESOURCE_EXHAUSTED,
  internal: Status.INTERNAL,
};

const REASONS: Readonly<Record<ErrorKind, string>> = {
  'invalid-argument': 'INVALID_INSTRUCTION',
  unauthenticated: 'UNAUTHENTICATED',
  'permission-denied': 'NOT_YOUR_AGENT',
  'not-found': 'INSTRUCTION_NOT_FOUND',
  'already-exists': 'UETR_CONFLICT',
  'failed-precondition': 'FAILED_PRECONDITION',
  unavailable: 'BACKEND_UNAVAILABLE',
  cancelled: 'CANCELLED',
  'resource-exhausted': 'RESOURCE_EXHAUSTED',
  internal: 'INTERNAL',
};

export type EdgeError =
  | SettlementError
  | { kind: 'internal'; message: string }
  | { kind: 'resource-exhausted'; message: string; retryAfterMs: number };

/** Domain results are plain objects too; an error is the one with a `kind` and a `message`. */
export function isEdgeError(value: unknown): value is EdgeError {
  return isSettlementError(value);
}

function any<T>(typeName: string, encode: (m: T) => Uint8Array, message: T): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(encode(message)) };
}

/**
 * Longest status message sent. Messages may quote what the caller sent (a UETR that is not one);
 * grpc-message is a trailer, and a trailer of tens of kB is refused by the client's HTTP/2 layer,
 * which then leaves every call of that connection hanging (found by test/fuzz).
 */
const MAX_MESSAGE_CHARS = 500;

function bounded(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  // By code points, so a surrogate pair is never cut in half (grpc-js encodeURI()s the message).
  return `${[...message].slice(0, MAX_MESSAGE_CHARS).join('')}…`;
}

/**
 * Most field violations listed, and most text they carry. A request with thousands of bad repeated
 * elements would otherwise get as many violations in grpc-status-details-bin: past about 64 kB the
 * client's HTTP/2 layer refuses the trailer and the call hangs (found by test/fuzz).
 */
const MAX_VIOLATIONS = 100;
const MAX_VIOLATION_CHARS = 16 * 1024;

function boundedViolations(violations: FieldViolation[]): FieldViolation[] {
  const kept: FieldViolation[] = [];
  let chars = 0;
  for (const v of violations) {
    const one = { field: bounded(v.field), description: bounded(v.description) };
    chars += one.field.length + one.description.length;
    if (kept.length === MAX_VIOLATIONS || (kept.length > 0 && chars > MAX_VIOLATION_CHARS)) break;
    kept.push(one);
  }
  if (kept.length < violations.length) {
    kept.push({
      field: '',
      description: `${violations.length - kept.length} more violations are not listed`,
    });
  }
  return kept;
}

export function toServiceError(error: EdgeError, traceId: string): Partial<ServiceError> {
  const code = CODES[error.kind];
  const message = bounded(error.message);
  const details: Any[] = [
    any('google.rpc.ErrorInfo', (m: ErrorInfo) => ErrorInfo.encode(m).finish(), {
      reason: REASONS[error.kind],
      domain: ERROR_DOMAIN,
      metadata: { trace_id: traceId },
    }),
  ];
  if (error.kind === 'invalid-argument') {
    details.push(
      any('google.rpc.BadRequest', (m: BadRequest) => BadRequest.encode(m).finish(), {
        fieldViolations: boundedViolations(error.violations),
      }),
    );
  }
  if (error.kind === 'unavailable' || error.kind === 'resource-exhausted') {
    const seconds = Math.floor(error.retryAfterMs / 1000);
    details.push(
      any('google.rpc.RetryInfo', (m: RetryInfo) => RetryInfo.encode(m).finish(), {
        retryDelay: { seconds: String(seconds), nanos: (error.retryAfterMs % 1000) * 1_000_000 },
      }),
    );
  }
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(RpcStatus.encode({ code, message, details }).finish()));
  return { code, details: message, metadata };
}

/** Decodes grpc-status-details-bin, for clients (the CLI) and tests. */
export function decodeStatusDetails(metadata: Metadata | undefined): {
  errorInfo: ErrorInfo | null;
  badRequest: BadRequest | null;
  retryInfo: RetryInfo | null;
} {
  const result = {
    errorInfo: null as ErrorInfo | null,
    badRequest: null as BadRequest | null,
    retryInfo: null as RetryInfo | null,
  };
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return result;
  for (const detail of RpcStatus.decode(raw).details) {
    const value = detail.value;
    switch (detail.typeUrl) {
      case 'type.googleapis.com/google.rpc.ErrorInfo':
        result.errorInfo = ErrorInfo.decode(value);
        break;
      case 'type.googleapis.com/google.rpc.BadRequest':
        result.badRequest = BadRequest.decode(value);
        break;
      case 'type.googleapis.com/google.rpc.RetryInfo':
        result.retryInfo = RetryInfo.decode(value);
        break;
    }
  }
  return result;
}
