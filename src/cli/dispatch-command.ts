import type { Command } from 'commander';
import { loadConfig } from '../config/config';
import type { ExitCode } from './exit-codes';
import { runUntilSignal } from './run-until-signal';

async function dispatch(): Promise<ExitCode> {
  const config = loadConfig();
  const { startTracing } = await import('../telemetry/tracing');
  startTracing();
  const [{ startDispatcherProcess }, { redactUrl }, { createLogger }] = await Promise.all([
    import('../dispatcher-process'),
    import('../store/redis-client'),
    import('../telemetry/logger'),
  ]);
  const log = createLogger(config.logLevel);
  const running = await startDispatcherProcess(config, log);
  log.info(
    {
      redis: redactUrl(config.redisUrl),
      prefix: config.redisPrefix,
      partitions: config.partitions,
      consumer: running.dispatcher.consumer,
    },
    'caravan dispatcher running',
  );
  return runUntilSignal(log, 'finishing deliveries under way', () => running.stop());
}

export function registerDispatchCommand(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  program
    .command('dispatch')
    .description(
      'run a dispatcher alone: deliver accepted instructions from the outbox (scales apart from intake)',
    )
    .addHelpText(
      'after',
      `
A dispatcher reads the partition outboxes in Redis as one consumer of a consumer group, so any
number of dispatchers share the work; entries of a dispatcher that died are taken over after
CARAVAN_CLAIM_IDLE_MS. Run gateways with CARAVAN_DISPATCHER=off to deliver only from these.

Settings (environment variables, as for caravan serve):
  REDIS_URL, CARAVAN_REDIS_PREFIX, CARAVAN_PARTITIONS   must match the gateways'
  CARAVAN_DISPATCH_CONCURRENCY   instructions in delivery at once (default 256)
  CARAVAN_DELIVERY_ATTEMPTS      attempts before FAILED (default 8)
  CARAVAN_DELIVERY_DEADLINE_MS   deadline of one attempt (default 5000)
  CARAVAN_TLS_CERT/_KEY/_CA      client certificate presented to TLS counterparties
  See README.md for the full list.

Example:
  CARAVAN_DEV_INSECURE=true REDIS_URL=redis://10.0.0.7:6379 caravan dispatch
`,
    )
    .action(() => run(dispatch));
}
