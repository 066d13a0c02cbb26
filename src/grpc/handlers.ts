import { SpanKind, context, trace, type Span } from '@opentelemetry/api';
import type {
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { BinaryReader } from '@bufbuild/protobuf/wire';
import { invalidArgument, isSettlementError, type SettlementError } from '../settlement/errors';
import type { Logger } from '../telemetry/logger';
import { extractContext, tracer } from '../telemetry/tracing';
import { isEdgeError, toServiceError, type EdgeError } from './status';

/** A generated message type: enough of ts-proto's MessageFns to decode a request. */
export interface Decoder<T> {
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

export interface CallScope {
  span: Span;
  traceId: string;
  metadata: Metadata;
}

function carrierOf(metadata: Metadata): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = metadata.get(key)[0];
    if (typeof value === 'string') carrier[key] = value;
  }
  return carrier;
}

/**
 * Requests arrive as raw bytes and are decoded here rather than by grpc-js, which would answer a
 * malformed message with INTERNAL; a client that sends bytes that are not the message gets
 * INVALID_ARGUMENT saying so.
 */
function decodeRequest<T>(type: Decoder<T>, typeName: string, bytes: Buffer): T | SettlementError {
  try {
    return type.decode(bytes);
  } catch {
    return invalidArgument([
      { field: '', description: `the request is not a valid protobuf encoding of ${typeName}` },
    ]);
  }
}

/** Maps anything unexpected to a status: Redis outages are UNAVAILABLE (retryable), the rest INTERNAL. */
function unexpected(err: unknown, log: Logger, method: string): EdgeError {
  const message = err instanceof Error ? err.message : String(err);
  const redisDown =
    err instanceof Error &&
    (err.name === 'MaxRetriesPerRequestError' ||
      /Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Stream isn't writeable|CLUSTERDOWN|LOADING|TRYAGAIN/i.test(
        message,
      ));
  if (redisDown) {
    log.warn({ method, err: message }, 'storage unavailable');
    return {
      kind: 'unavailable',
      message: 'storage is unavailable; retry with the same UETR',
      retryAfterMs: 1000,
    };
  }
  log.error({ method, err }, 'unexpected failure');
  return { kind: 'internal', message: 'internal error; the trace id identifies it to the operator' };
}

function serverSpan(method: string, metadata: Metadata): Span {
  return tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'grpc', 'rpc.method': method.split('/')[1] ?? method },
    },
    extractContext(carrierOf(metadata)),
  );
}

export function unary<Req, Res>(
  method: string,
  type: Decoder<Req>,
  typeName: string,
  log: Logger,
  handle: (request: Req, scope: CallScope, call: ServerUnaryCall<Buffer, Res>) => Promise<Res | EdgeError>,
): handleUnaryCall<Buffer, Res> {
  return (call: ServerUnaryCall<Buffer, Res>, callback: sendUnaryData<Res>) => {
    const span = serverSpan(method, call.metadata);
    const traceId = span.spanContext().traceId;
    const run = async (): Promise<Res | EdgeError> => {
      const request = decodeRequest(type, typeName, call.request);
      if (isSettlementError(request)) return request;
      return handle(request, { span, traceId, metadata: call.metadata }, call);
    };
    context
      .with(trace.setSpan(context.active(), span), () =>
        run().catch((err: unknown) => unexpected(err, log, method)),
      )
      .then((result) => {
        if (isEdgeError(result)) {
          span.setAttribute('rpc.grpc.status_code', toServiceError(result, traceId).code ?? 2);
          callback(toServiceError(result, traceId), null);
        } else {
          span.setAttribute('rpc.grpc.status_code', 0);
          callback(null, result);
        }
      })
      .finally(() => span.end())
      .catch(() => undefined);
  };
}

export function serverStreaming<Req, Res>(
  method: string,
  type: Decoder<Req>,
  typeName: string,
  log: Logger,
  handle: (
    request: Req,
    scope: CallScope,
    call: ServerWritableStream<Buffer, Res>,
  ) => Promise<EdgeError | null>,
): handleServerStreamingCall<Buffer, Res> {
  return (call: ServerWritableStream<Buffer, Res>) => {
    const span = serverSpan(method, call.metadata);
    const traceId = span.spanContext().traceId;
    const run = async (): Promise<EdgeError | null> => {
      const request = decodeRequest(type, typeName, call.request);
      if (isSettlementError(request)) return request;
      return handle(request, { span, traceId, metadata: call.metadata }, call);
    };
    context
      .with(trace.setSpan(context.active(), span), () =>
        run().catch((err: unknown) => unexpected(err, log, method)),
      )
      .then((error) => {
        if (error === null) {
          if (!call.cancelled) call.end();
        } else {
          call.emit('error', toServiceError(error, traceId));
        }
      })
      .finally(() => span.end())
      .catch(() => undefined);
  };
}
