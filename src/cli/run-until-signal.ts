import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../telemetry/logger';
import { flushTelemetry } from '../telemetry/telemetry-flush';
import { EXIT, type ExitCode } from './exit-codes';

/** How long a stopped process may wait for its log to be written and its peers to hang up. */
const LINGER_MS = 1_000;
/** How long the last spans and metrics may take to reach the collector. */
const TELEMETRY_FLUSH_MS = 5_000;

/**
 * Keeps a server process running until SIGTERM or SIGINT, then runs its graceful stop once and
 * answers the exit code: 0 after a clean stop, 1 when stopping failed.
 */
export function runUntilSignal(log: Logger, what: string, stop: () => Promise<unknown>): Promise<ExitCode> {
  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `shutting down: ${what}`);
      stop()
        .then(async () => {
          log.info('stopped');
          // The last spans and metrics go out now: the exit below skips 'beforeExit'.
          await Promise.race([flushTelemetry(), delay(TELEMETRY_FLUSH_MS, undefined, { ref: false })]);
          // Stopped cleanly, the process still waits for peers that keep a connection half open
          // after its GOAWAY (a client that ignores it): it must not outlive its stop for them.
          setTimeout(() => process.exit(EXIT.ok), LINGER_MS).unref();
          resolve(EXIT.ok);
        })
        .catch((err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(EXIT.failure);
        });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
