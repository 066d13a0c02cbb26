import type { AuditLog, AuditSweep } from '../store/audit-log';
import type { Logger } from '../telemetry/logger';

export interface AuditSweeperDeps {
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** How often pending audit entries are looked for. */
  intervalMs: number;
  /**
   * Entries younger than this are left to the gateway that made them, which writes them just
   * after its change commits (a sweep writing one first does no harm: each is written once).
   */
  graceMs: number;
}

export interface AuditSweeper {
  /** One pass now (the periodic passes run on their own); the pass under way if there is one. */
  sweep(): Promise<AuditSweep | null>;
  close(): Promise<void>;
}

/**
 * Writes the audit entries of committed changes whose gateway could not write them (it was killed,
 * or Redis failed it between the change and the entry). Every gateway sweeps, at start and then
 * periodically, so an entry reaches the log while any gateway runs.
 */
export function startAuditSweeper({ audit, log, now, intervalMs, graceMs }: AuditSweeperDeps): AuditSweeper {
  let running: Promise<AuditSweep | null> | null = null;

  async function pass(): Promise<AuditSweep | null> {
    try {
      const found = await audit.sweep(now() - graceMs);
      for (const entry of found.written) {
        log.warn(
          { action: entry.action, subject: entry.subject, occurredAtMs: entry.occurredAtMs },
          'audit entry written by the sweep: its change had committed without it',
        );
      }
      if (found.malformed.length > 0) {
        log.error(
          { pending: found.malformed.slice(0, 10), count: found.malformed.length },
          'pending audit entries in Redis that cannot be read are left in place',
        );
      }
      return found;
    } catch (err) {
      log.warn({ err, retryInMs: intervalMs }, 'audit sweep failed');
      return null;
    }
  }

  function sweep(): Promise<AuditSweep | null> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  void sweep();
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return {
    sweep,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
