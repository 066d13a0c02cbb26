import type { Command } from 'commander';
import {
  RECEIVER_SETTINGS,
  loadReceiverConfig,
  type ReceiverSetting,
  type ReceiverSettings,
} from '../receiver/receiver-config';
import type { ExitCode } from './exit-codes';
import { runUntilSignal } from './run-until-signal';

async function receive(settings: ReceiverSettings): Promise<ExitCode> {
  const config = loadReceiverConfig(settings);
  // The server side loads only here, so client commands start fast.
  const { startTracing } = await import('../telemetry/tracing');
  startTracing();
  const [{ startReceiver }, { redactUrl }, { createLogger }] = await Promise.all([
    import('../receiver/reference-receiver'),
    import('../store/redis-client'),
    import('../telemetry/logger'),
  ]);
  const log = createLogger(config.logLevel);
  if (config.tls === null) {
    log.warn(
      'DEVELOPMENT MODE: CARAVAN_DEV_INSECURE=true — plaintext gRPC, any client may deliver. Never run this with real counterparties.',
    );
    process.stderr.write(
      '\n  *** CARAVAN RECEIVER DEVELOPMENT MODE: NO TLS, NO CLIENT AUTHENTICATION (CARAVAN_DEV_INSECURE=true) ***\n\n',
    );
  }
  const receiver = await startReceiver({ config, log });
  log.info(
    {
      receiver: config.name,
      bic: config.bic,
      listen: config.listen,
      port: receiver.port,
      redis: redactUrl(config.redisUrl),
      prefix: config.redisPrefix,
      mtls: config.tls !== null,
      behaviour: config.behaviour,
    },
    'caravan receiver listening',
  );

  return runUntilSignal(log, 'draining calls', () => receiver.stop());
}

export function registerReceiverCommand(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  const command = program
    .command('receiver')
    .description(
      'run the reference SettlementReceiver: a counterparty that deduplicates deliveries on the UETR in Redis',
    );
  // The environment fallback is loadReceiverConfig's, shared with in-process receivers.
  for (const setting of Object.values(RECEIVER_SETTINGS)) {
    command.option(setting.flag, `${setting.help} [env ${setting.env}]`);
  }
  command
    .addHelpText(
      'after',
      `
Every UETR is recorded on its first delivery, with its answer; every later delivery of it gets the
same answer and only counts. A first delivery is recorded before any --delay-ms or hang, so a
caller whose deadline passed gets the recorded answer on its retry, at once.

TLS: CARAVAN_TLS_CERT/_KEY (the receiver's certificate) and CARAVAN_TLS_CA (the CA of Caravan's
client certificates), or CARAVAN_DEV_INSECURE=true for plaintext. CARAVAN_LOG_LEVEL sets the log level.

Example:
  CARAVAN_DEV_INSECURE=true caravan receiver --bic RZBMRUMM --reject-share 0.1 --reject-code AC04
`,
    )
    .action(() => run(() => receive(command.opts<Record<ReceiverSetting, string | undefined>>())));
}
