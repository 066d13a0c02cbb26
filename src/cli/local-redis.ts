import type { Config } from '../config/config';
import { answers, redisServerInstalled, startPrivateRedis, type PrivateRedis } from '../store/private-redis';
import type { Logger } from '../telemetry/logger';

export interface LocalRedis {
  /** The configuration, pointed at the private redis-server when one was started. */
  config: Config;
  /** The redis-server started for this process, to stop with it; null when another Redis answered. */
  privateRedis: PrivateRedis | null;
}

/**
 * The Redis of a gateway started on a developer's machine: REDIS_URL when set, else the one on
 * 127.0.0.1:6379, else a private redis-server keeping its data in `dir`. Null, after saying what
 * to do, when there is none of the three, so the first run on a fresh machine explains itself.
 */
export async function localRedis(config: Config, log: Logger, dir: string): Promise<LocalRedis | null> {
  if (config.redisUrlExplicit || (await answers('127.0.0.1', 6379))) return { config, privateRedis: null };
  if (!redisServerInstalled()) {
    log.fatal('no Redis answers on 127.0.0.1:6379 and redis-server is not installed');
    process.stderr.write(
      'caravan needs Redis: start one on 127.0.0.1:6379 (e.g. `apt-get install redis-server`), or set REDIS_URL to yours\n',
    );
    return null;
  }
  const privateRedis = await startPrivateRedis(dir);
  log.warn(
    { redis: privateRedis.url, dir },
    'no Redis answered on 127.0.0.1:6379: started a private redis-server (AOF on) that stops with the gateway',
  );
  return { config: { ...config, redisUrl: privateRedis.url }, privateRedis };
}
