import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { grpcServerSpansInstrumented, startTelemetry } from './sdk';

/**
 * Makes sure the OpenTelemetry SDK runs in this process, so every submission has a real trace id
 * (continued from the caller's traceparent) and spans reach the configured exporter. Processes
 * started with the `--require` entry (register.ts, as bin/caravan does for the servers) have it
 * already, with the grpc-js and ioredis instrumentations; in-process callers such as the tests get
 * it here, without them.
 */
export function startTracing(): void {
  startTelemetry({ instrument: false });
}

export const tracer = trace.getTracer('caravan');

/**
 * The SERVER span the grpc-js instrumentation opened around the gRPC call being handled, when the
 * instrumentation runs: the call's span, which the handler adds Caravan's attributes to.
 */
export function instrumentedServerSpan(): Span | undefined {
  return grpcServerSpansInstrumented() ? trace.getActiveSpan() : undefined;
}

/** Extracts the caller's trace context from carrier headers such as gRPC metadata. */
export function extractContext(carrier: Record<string, string>): Context {
  return propagation.extract(context.active(), carrier);
}

/** The W3C traceparent of a span, to carry trace context through the outbox. */
export function traceparentOf(span: Span): string {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier.traceparent ?? '';
}

/** Runs fn inside a child span of the active context, ending it and recording a thrown error. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
