import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/config';
import { EXIT, type ExitCode } from './exit-codes';
import { runUntilSignal } from './run-until-signal';

async function serve(): Promise<ExitCode> {
  let config = loadConfig();
  // The server side (Redis, tracing, logging) loads only here, so client commands start fast.
  const { startTracing } = await import('../telemetry/tracing');
  startTracing();
  const [{ startGateway }, { parseListFiles }, { redactUrl }, { createLogger }, { localRedis }] =
    await Promise.all([
      import('../gateway'),
      import('../compliance/importers'),
      import('../store/redis-client'),
      import('../telemetry/logger'),
      import('./local-redis'),
    ]);
  const log = createLogger(config.logLevel);
  if (config.devInsecure) {
    log.warn(
      'DEVELOPMENT MODE: CARAVAN_DEV_INSECURE=true — plaintext gRPC, and the participant is whatever the x-caravan-participant header says. Never run this with real participants.',
    );
    process.stderr.write(
      '\n  *** CARAVAN DEVELOPMENT MODE: NO TLS, NO AUTHENTICATION (CARAVAN_DEV_INSECURE=true) ***\n\n',
    );
  }
  if (!config.screening.enabled) {
    log.warn('CARAVAN_SCREENING=off: sanctions screening is OFF, valid instructions are accepted unscreened');
  }
  const redis = await localRedis(config, log, path.resolve('.caravan'));
  if (redis === null) return EXIT.config;
  config = redis.config;
  const { privateRedis } = redis;
  const gateway = await startGateway({
    config,
    log,
    parseList: parseListFiles,
  }).catch(async (err: unknown) => {
    await privateRedis?.stop();
    throw err;
  });
  log.info(
    {
      listen: config.listen,
      port: gateway.port,
      redis: redactUrl(config.redisUrl),
      mtls: config.tls !== null,
    },
    'caravan gateway listening',
  );

  return runUntilSignal(log, 'draining calls', () => gateway.stop().then(() => privateRedis?.stop()));
}

export function registerServeCommand(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  program
    .command('serve')
    .description('run the gateway (gRPC SettlementGateway, health and reflection)')
    .addHelpText(
      'after',
      `
Settings (environment variables):
  CARAVAN_LISTEN          address to listen on (default 127.0.0.1:50051)
  REDIS_URL               Redis (default redis://127.0.0.1:6379)
  CARAVAN_TLS_CERT/_KEY/_CA  the gateway's certificate, key, and the CA of participant certificates
  CARAVAN_DEV_INSECURE    true for plaintext development mode (participant from x-caravan-participant)
  See README.md for the full list.

Example:
  CARAVAN_DEV_INSECURE=true caravan serve
`,
    )
    .action(() => run(serve));
}
