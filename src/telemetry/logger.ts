import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs. Every line carries the active trace id so an operator can jump from a log
 * line to the trace; callers add `uetr` and `participant`, never names, accounts or card numbers.
 */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'caravan' },
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
