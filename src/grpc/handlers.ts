import { SpanKind, context, trace, type Span } from '@opentelemetry/api';
import type {
  Metadata,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { BinaryReader } from '@bufbuild/protobuf/wire';
import { invalidArgument, isSettlementError, type SettlementError } from '../settlement/errors';
import type { Logger } from '../telemetry/logger';
import { countRedisError } from '../telemetry/metrics';
import { extractContext, instrumentedServerSpan, tracer } from '../telemetry/tracing';
import type { CallLike } from './caller-identity';
import { isEdgeError, toServiceError, type EdgeError } from './status';

/** A generated message type: enough of ts-proto's MessageFns to decode a request. */
export interface Decoder<T> {
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

/**
 * Decides, before the request is decoded, whether a call may run now, and answers the function
 * that gives its slot back when the call ends (the decoding of a large request costs memory, so a
 * refused call must not pay it).
 */
export type Admit = (call: CallLike) => (() => void) | EdgeError;

/** Runs `work` in an admitted slot, if the method has admission, and gives the slot back after. */
async function admitted<T>(
  admit: Admit | undefined,
  call: CallLike,
  work: () => Promise<T | EdgeError>,
): Promise<T | EdgeError> {
  const release = admit?.(call);
  if (release !== undefined && isEdgeError(release)) return release;
  try {
    return await work();
  } finally {
    release?.();
  }
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
function decodeRequest<T>(
  type: Decoder<T>,
  typeName: string,
  bytes: Buffer,
  maxBytes = Infinity,
): T | SettlementError {
  if (bytes.length > maxBytes) {
    return invalidArgument([
      {
        field: '',
        description: `the request is ${bytes.length} bytes; a ${typeName} is at most ${maxBytes} bytes`,
      },
    ]);
  }
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
      err.name === 'StorageTimeoutError' ||
      /Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Stream isn't writeable|CLUSTERDOWN|LOADING|TRYAGAIN|Too many Cluster redirections|Cluster isn't ready|^(MOVED|ASK) \d/i.test(
        message,
      ));
  if (redisDown) {
    countRedisError('storage-unavailable');
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

/**
 * The call's SERVER span: the grpc-js instrumentation's when it runs (the `--require` entry), else
 * one of Caravan's own, so trace ids reach responses, errors and logs either way. `own` says
 * whether this module ends it; the instrumentation ends its span when the response goes out.
 */
function serverSpan(method: string, metadata: Metadata): { span: Span; own: boolean } {
  const instrumented = instrumentedServerSpan();
  if (instrumented !== undefined) return { span: instrumented, own: false };
  const [service, name] = method.split('/');
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': name ?? method },
    },
    extractContext(carrierOf(metadata)),
  );
  return { span, own: true };
}

/**
 * Runs one call's work inside its server span, turning anything thrown into a status, and hands
 * the result to `respond`; the span ends after the response is sent.
 */
function inServerSpan<T>(
  method: string,
  metadata: Metadata,
  log: Logger,
  work: (scope: CallScope) => Promise<T | EdgeError>,
  respond: (result: T | EdgeError, traceId: string) => void,
): void {
  const { span, own } = serverSpan(method, metadata);
  const traceId = span.spanContext().traceId;
  context
    .with(trace.setSpan(context.active(), span), () =>
      work({ span, traceId, metadata }).catch((err: unknown) => unexpected(err, log, method)),
    )
    .then((result) => {
      if (own) {
        span.setAttribute(
          'rpc.grpc.status_code',
          isEdgeError(result) ? (toServiceError(result, traceId).code ?? 2) : 0,
        );
      }
      respond(result, traceId);
    })
    .finally(() => {
      if (own) span.end();
    })
    .catch(() => undefined);
}

function answer<Res>(callback: sendUnaryData<Res>) {
  return (result: Res | EdgeError, traceId: string) => {
    if (isEdgeError(result)) callback(toServiceError(result, traceId), null);
    else callback(null, result);
  };
}

/**
 * A unary method. `maxRequestBytes`, below the server's message limit, refuses a request before it
 * is decoded: decoding a message made of many small repeated elements costs far more heap than its
 * size (about 140 bytes per byte for an instruction full of identifiers).
 */
export function unary<Req, Res>(
  method: string,
  type: Decoder<Req>,
  typeName: string,
  log: Logger,
  handle: (request: Req, scope: CallScope, call: ServerUnaryCall<Buffer, Res>) => Promise<Res | EdgeError>,
  admit?: Admit,
  maxRequestBytes?: number,
): handleUnaryCall<Buffer, Res> {
  return (call: ServerUnaryCall<Buffer, Res>, callback: sendUnaryData<Res>) => {
    inServerSpan<Res>(
      method,
      call.metadata,
      log,
      (scope) =>
        admitted(admit, call, async () => {
          const request = decodeRequest(type, typeName, call.request, maxRequestBytes);
          return isSettlementError(request) ? request : handle(request, scope, call);
        }),
      answer(callback),
    );
  };
}

/** A server-streaming method: the handler writes the messages and returns null or an error status. */
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
  admit?: Admit,
): handleServerStreamingCall<Buffer, Res> {
  return (call: ServerWritableStream<Buffer, Res>) => {
    inServerSpan<null>(
      method,
      call.metadata,
      log,
      (scope) =>
        admitted(admit, call, async () => {
          const request = decodeRequest(type, typeName, call.request);
          return isSettlementError(request) ? request : handle(request, scope, call);
        }),
      (error, traceId) => {
        if (error === null) {
          if (!call.cancelled) call.end();
        } else {
          call.emit('error', toServiceError(error, traceId));
        }
      },
    );
  };
}

/**
 * A client-streaming method: the handler reads the decoded messages as they arrive. A message that
 * does not decode ends the call with INVALID_ARGUMENT; a client that goes away mid-stream ends the
 * iteration with an error, so a half-sent upload is never acted on.
 */
export function clientStreaming<Req, Res>(
  method: string,
  type: Decoder<Req>,
  typeName: string,
  log: Logger,
  handle: (
    messages: AsyncIterable<Req>,
    scope: CallScope,
    call: ServerReadableStream<Buffer, Res>,
  ) => Promise<Res | EdgeError>,
): handleClientStreamingCall<Buffer, Res> {
  return (call: ServerReadableStream<Buffer, Res>, callback: sendUnaryData<Res>) => {
    async function* decoded(): AsyncGenerator<Req> {
      for await (const bytes of call as AsyncIterable<Buffer>) {
        const message = decodeRequest(type, typeName, bytes);
        if (isSettlementError(message)) throw new MalformedMessage(message);
        yield message;
      }
    }
    inServerSpan<Res>(
      method,
      call.metadata,
      log,
      async (scope) => {
        try {
          return await handle(decoded(), scope, call);
        } catch (err) {
          if (err instanceof MalformedMessage) return err.error;
          if (call.cancelled)
            return { kind: 'cancelled', message: 'the client cancelled the call; nothing was changed' };
          throw err;
        }
      },
      answer(callback),
    );
  };
}

class MalformedMessage extends Error {
  constructor(readonly error: SettlementError) {
    super(error.message);
  }
}
