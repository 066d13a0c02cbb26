import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * An error as a log line shows it: its class, code, message and stack, nothing else. pino's own
 * serializer copies every property of the error, and ioredis puts the failed command's arguments on
 * its errors (`command.args`): for a submission's record script, the whole instruction, names and
 * accounts included.
 */
export function loggedError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    message: err.message,
    stack: err.stack,
  };
}

/**
 * Structured JSON logs. Every line carries the active trace id so an operator can jump from a log
 * line to the trace; callers add `uetr` and `participant`, never names, accounts or card numbers.
 */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'caravan' },
      serializers: { err: loggedError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        return span ? { trace_id: span.spanContext().traceId } : {};
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
