import Redis, { type RedisOptions } from 'ioredis';

export interface RedisClientOptions {
  /** Bound on a single command, so intake answers UNAVAILABLE quickly when Redis hangs. */
  commandTimeoutMs: number;
}

/**
 * A Redis connection for request paths: a command waits at most the timeout and is retried once
 * across a reconnect, then fails, so callers fail closed instead of queueing work without bound.
 */
export function createRedis(url: string, options: RedisClientOptions, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    enableAutoPipelining: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    ...overrides,
  });
}

/** Waits until the client is ready, or throws a message that names the URL and the fix. */
export async function waitUntilReady(redis: Redis, url: string, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Redis at ${redactUrl(url)} did not answer within ${timeoutMs} ms; start Redis or set REDIS_URL`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.removeListener('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
