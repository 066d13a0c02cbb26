import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/config';
import type { PrivateRedis } from '../store/private-redis';
import { EXIT, type ExitCode } from './exit-codes';
import { runUntilSignal } from './run-until-signal';

async function serve(): Promise<ExitCode> {
  let config = loadConfig();
  // The server side (Redis, tracing, logging) loads only here, so client commands start fast.
  const { startTracing } = await import('../telemetry/tracing');
  startTracing();
  const [
    { startGateway },
    { parseListFiles },
    { redactUrl },
    { createLogger },
    { answers, redisServerInstalled, startPrivateRedis },
  ] = await Promise.all([
    import('../gateway'),
    import('../compliance/importers'),
    import('../store/redis-client'),
    import('../telemetry/logger'),
    import('../store/private-redis'),
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
  let privateRedis: PrivateRedis | null = null;
  if (!config.redisUrlExplicit && !(await answers('127.0.0.1', 6379))) {
    if (!redisServerInstalled()) {
      log.fatal('no Redis answers on 127.0.0.1:6379 and redis-server is not installed');
      process.stderr.write(
        'caravan needs Redis: start one on 127.0.0.1:6379 (e.g. `apt-get install redis-server`), or set REDIS_URL to yours\n',
      );
      return EXIT.config;
    }
    privateRedis = await startPrivateRedis(path.resolve('.caravan'));
    config = { ...config, redisUrl: privateRedis.url };
    log.warn(
      { redis: privateRedis.url, dir: path.resolve('.caravan') },
      'no Redis answered on 127.0.0.1:6379: started a private redis-server (AOF on) that stops with the gateway',
    );
  }
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
