import { context, type Context } from '@opentelemetry/api';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { Command, Redis } from 'ioredis';
import { setTelemetryFlush } from './telemetry-flush';

type Env = Record<string, string | undefined>;

const listOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

/**
 * Whether the OTEL_*_EXPORTER variable (or, when it is unset, an OTLP endpoint) asks for an export.
 * The SDK's own default is OTLP to localhost:4318, which on a developer's machine with no collector
 * is a stream of failed exports; here an export happens only when somebody configured one.
 */
export function exportRequested(env: Env, signal: 'TRACES' | 'METRICS'): boolean {
  const exporters = listOf(env[`OTEL_${signal}_EXPORTER`]);
  if (exporters.length === 0) {
    return [env.OTEL_EXPORTER_OTLP_ENDPOINT, env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]].some(
      (endpoint) => (endpoint ?? '').trim() !== '',
    );
  }
  return !exporters.includes('none');
}

function serviceNameGiven(env: Env): boolean {
  return (
    (env.OTEL_SERVICE_NAME ?? '').trim() !== '' ||
    listOf(env.OTEL_RESOURCE_ATTRIBUTES).some((pair) => pair.startsWith('service.name='))
  );
}

let sdk: NodeSDK | null = null;
let grpcInstrumented = false;
let stopping: Promise<void> | null = null;

/**
 * ioredis's auto-pipelining sends the commands of one event-loop turn from a callback scheduled by
 * the first of them, so every command of the batch would run, and be traced, in the first
 * caller's context: spans of one settlement would land in another's trace. Each queued command
 * keeps the context it was issued in. Wraps outside the ioredis instrumentation, which must
 * already have patched the module (its span is started in the context this wrapper sets).
 */
function keepPipelinedCommandsInTheirContext(ioredis: typeof import('ioredis')): void {
  const issuedIn = new WeakMap<Command, Context>();
  const pipeline = ioredis.Pipeline.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its `this` below
  const queue = pipeline.sendCommand;
  pipeline.sendCommand = function (this: typeof pipeline, command: Command): unknown {
    issuedIn.set(command, context.active());
    return queue.call(this, command);
  };
  const client = ioredis.Redis.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its `this` below
  const send = client.sendCommand;
  client.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]): unknown {
    const issued = issuedIn.get(command);
    const call = (): unknown => Reflect.apply(send, this, [command, ...rest]) as unknown;
    return issued === undefined ? call() : context.with(issued, call);
  };
}

export interface TelemetryOptions {
  /**
   * Patch grpc-js and ioredis (when traces are exported). Only takes when they have not been
   * loaded yet, which is why the `--require` entry (register.ts) does it and in-process callers
   * (tests) do not.
   */
  instrument: boolean;
}

/**
 * Starts the OpenTelemetry NodeSDK once per process, configured by the standard OTEL_* variables
 * alone: OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_(TRACES_|METRICS_)ENDPOINT and _PROTOCOL,
 * OTEL_TRACES_SAMPLER(_ARG), OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER (otlp, prometheus with
 * OTEL_EXPORTER_PROMETHEUS_HOST/PORT, console, none), OTEL_BSP_*, OTEL_PROPAGATORS,
 * OTEL_SDK_DISABLED. With no trace export configured (and no OTEL_TRACES_SAMPLER), spans are not
 * recorded: calls still get real trace ids, continued from the caller's traceparent, for errors,
 * logs and the instruction record, but no span is built only to be dropped (that cost a quarter of
 * the gateway's CPU per call). Metrics are not collected unless exported.
 */
export function startTelemetry(options: TelemetryOptions): void {
  if (sdk !== null) return;
  const env = process.env;
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  // Without a trace export the instrumentations' spans would not be recorded: their wrappers
  // would only cost time. Caravan's own code continues trace ids and propagates traceparent itself.
  const instrument = options.instrument && !disabled && exportRequested(env, 'TRACES');
  sdk = new NodeSDK({
    ...(serviceNameGiven(env) ? {} : { serviceName: 'caravan' }),
    ...(exportRequested(env, 'TRACES')
      ? {}
      : {
          spanProcessors: [new NoopSpanProcessor()],
          ...((env.OTEL_TRACES_SAMPLER ?? '').trim() === '' ? { sampler: new AlwaysOffSampler() } : {}),
        }),
    ...(exportRequested(env, 'METRICS') ? {} : { metricReaders: [] }),
    // Logs are JSON lines on stdout (pino), with the trace id in each line; none go through the SDK.
    logRecordProcessors: [],
    instrumentations: instrument
      ? [
          new GrpcInstrumentation({
            // Health probes every few seconds would bury the settlements' traces.
            ignoreGrpcMethods: ['Check', 'Watch'],
          }),
          new IORedisInstrumentation({
            // Only commands inside a settlement's trace; the dispatcher's blocking reads and the
            // pollers would otherwise each start a trace of their own.
            requireParentSpan: true,
            // Arguments carry instruction bodies (names, accounts) into Lua scripts: never record them.
            dbStatementSerializer: (command) => command,
          }),
        ]
      : [],
  });
  sdk.start();
  if (instrument) {
    grpcInstrumented = true;
    // Loaded here, after sdk.start(), so that the ioredis instrumentation has patched it first.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    keepPipelinedCommandsInTheirContext(require('ioredis') as typeof import('ioredis'));
  }
  // The servers stop gracefully and then let the event loop drain: that is when spans and metrics
  // still buffered are flushed.
  process.once('beforeExit', () => {
    shutdownTelemetry().catch(() => undefined);
  });
  // A server process that exits explicitly after its stop flushes first (run-until-signal.ts).
  setTelemetryFlush(() => shutdownTelemetry().catch(() => undefined));
}

/** Whether gRPC server calls get their SERVER span from the grpc-js instrumentation. */
export function grpcServerSpansInstrumented(): boolean {
  return grpcInstrumented;
}

/** Flushes and stops the SDK (idempotent); export failures are the SDK's to report (OTEL_LOG_LEVEL). */
export function shutdownTelemetry(): Promise<void> {
  stopping ??= sdk === null ? Promise.resolve() : sdk.shutdown();
  return stopping;
}
