import type {
  Server,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { HealthCheckRequest, HealthListRequest } from '../gen/grpc/health/v1/health';
import { invalidArgument } from '../settlement/errors';
import { instrumentedServerSpan } from '../telemetry/tracing';
import type { OpenStreams } from './open-streams';
import { toServiceError } from './status';

/** Anything that can add grpc.health.v1.Health to a server: the guarded implementation, or the library's. */
export interface HealthService {
  addToServer(server: Server): void;
}

/** Longest service name echoed in an answer; names are short, a longer one is unknown anyway. */
const MAX_ECHOED_NAME = 128;

type Handler = (call: unknown, callback?: unknown) => void;

/**
 * grpc-health-check's implementation with the edge Caravan gives its own services, found by the
 * fuzz suite (test/fuzz):
 * - requests reach the handlers as bytes and are decoded here, so a malformed one is answered
 *   INVALID_ARGUMENT (with google.rpc details) instead of grpc-js's INTERNAL;
 * - NOT_FOUND for an unknown service no longer echoes the whole name in grpc-message (a 100 kB
 *   name made a trailer the client refused, and the caller's connection hung);
 * - Watch of a service this server does not serve answers SERVICE_UNKNOWN without registering a
 *   watcher: the library keeps one map entry per watched name for good, so distinct names grew
 *   the process without bound. Caravan's set of services is fixed at start.
 */
export function guardedHealth(
  health: HealthImplementation,
  services: readonly string[],
  streams: OpenStreams,
): HealthService {
  const known = new Set(services);
  return {
    addToServer(server) {
      health.addToServer({
        addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation) {
          const raw: Record<string, ServiceDefinition[string]> = {};
          for (const [name, method] of Object.entries(definition)) {
            raw[name] = { ...method, requestDeserialize: (bytes: Buffer) => bytes };
          }
          const handlers: Record<string, UntypedHandleCall> = {};
          for (const [name, handle] of Object.entries(implementation)) {
            handlers[name] = guard(name, handle as unknown as Handler, known, streams);
          }
          server.addService(raw as ServiceDefinition, handlers as UntypedServiceImplementation);
        },
      });
    },
  };
}

function decode(name: string, bytes: Buffer): { service: string } | null {
  try {
    if (name === 'list') {
      HealthListRequest.decode(bytes);
      return { service: '' };
    }
    return { service: HealthCheckRequest.decode(bytes).service };
  } catch {
    return null;
  }
}

function guard(
  name: string,
  handle: Handler,
  known: ReadonlySet<string>,
  streams: OpenStreams,
): UntypedHandleCall {
  const streaming = name === 'watch';
  return ((
    call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
    callback?: sendUnaryData<unknown>,
  ) => {
    const request = decode(name, call.request as Buffer);
    if (request === null) {
      const traceId = instrumentedServerSpan()?.spanContext().traceId ?? '';
      const error = toServiceError(
        invalidArgument([
          { field: '', description: 'the request is not a valid protobuf encoding of a health request' },
        ]),
        traceId,
      );
      if (streaming) (call as ServerWritableStream<unknown, unknown>).emit('error', error);
      else callback?.(error, null);
      return;
    }
    (call as { request: unknown }).request = request;
    if (streaming) {
      if (known.has(request.service)) handle(call);
      else (call as ServerWritableStream<unknown, unknown>).write({ status: 'SERVICE_UNKNOWN' });
      // After the first answer: a Watch opened while the server stops gets NOT_SERVING, then ends.
      streams.track(call as ServerWritableStream<unknown, unknown>);
      return;
    }
    handle(call, (err: { code: number; details?: string } | null, value: unknown) => {
      if (
        err !== null &&
        err !== undefined &&
        typeof err.details === 'string' &&
        err.details.length > MAX_ECHOED_NAME + 64
      ) {
        callback?.({ ...err, details: `${err.details.slice(0, MAX_ECHOED_NAME + 32)}…` }, null);
      } else {
        callback?.(err, value);
      }
    });
  }) as UntypedHandleCall;
}
