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
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

let started = false;

/**
 * Registers a tracer provider and W3C trace-context propagation so every submission has a real
 * trace id (continued from the caller's traceparent) even before an exporter is configured.
 */
export function startTracing(): void {
  if (started) return;
  started = true;
  const provider = new NodeTracerProvider();
  provider.register({ propagator: new W3CTraceContextPropagator() });
}

export const tracer = trace.getTracer('caravan');

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
