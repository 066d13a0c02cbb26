import type { Logger } from '../telemetry/logger';
import { EXIT, type ExitCode } from './exit-codes';

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
        .then(() => {
          log.info('stopped');
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
