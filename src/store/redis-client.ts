import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from '../config/redis-url';

export interface RedisClientOptions {
  /** Bound on a single command, so intake answers UNAVAILABLE quickly when Redis hangs. */
  commandTimeoutMs: number;
}

/** A connection to one Redis or to a Redis Cluster: every store module takes either. */
export type RedisClient = Redis | Cluster;

const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);

function targetOf(url: string): RedisTarget {
  const target = parseRedisUrl(url);
  if (typeof target === 'string') throw new Error(`REDIS_URL ${redactUrl(url)}: ${target}`);
  return target;
}

/**
 * A Redis connection for request paths: a command waits at most the timeout and is retried once
 * across a reconnect, then fails, so callers fail closed instead of queueing work without bound.
 * Only for one Redis; createRedisClient also takes a Cluster URL.
 */
export function createRedis(url: string, options: RedisClientOptions, overrides: RedisOptions = {}): Redis {
  if (targetOf(url).kind === 'cluster') {
    throw new Error(`REDIS_URL ${redactUrl(url)} names a Redis Cluster, which this command does not support`);
  }
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    enableAutoPipelining: true,
    connectTimeout: 5_000,
    retryStrategy,
    ...overrides,
  });
}

/**
 * The request-path connection for REDIS_URL: a `Redis` for redis:// and rediss://, a `Cluster` for
 * redis+cluster:// and rediss+cluster:// with the same bounds (command timeout on every node
 * connection, reconnect backoff), reads and writes on masters only (a replica may lag behind what
 * this replica just wrote), and a few redirections while a failover settles.
 *
 * Auto-pipelining is off on a Cluster: ioredis batches the commands of one event-loop turn per
 * node, and when a failover moves some of that node's slots, a batch whose commands meet MOVED for
 * different slots is not redirected; the MOVED errors reach the callers (seen in
 * test/cluster/redis-cluster.spec.ts). Single commands, MULTI and explicit one-slot pipelines are
 * redirected. Commands are still pipelined on each node connection, just not coalesced.
 */
export function createRedisClient(url: string, options: RedisClientOptions): RedisClient {
  const target = targetOf(url);
  if (target.kind === 'standalone') return createRedis(url, options);
  const clusterOptions: ClusterOptions = {
    scaleReads: 'master',
    enableAutoPipelining: false,
    // While the whole cluster is unreachable commands fail at once rather than wait in a queue
    // without bound (the node connections' command timeout does not cover that queue).
    enableOfflineQueue: false,
    clusterRetryStrategy: retryStrategy,
    // A command that meets a failed master is retried on the refreshed slot map: 16 × 200 ms spans
    // a replica's promotion after cluster-node-timeout, beyond that the caller sees the error.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: 5_000,
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(target.nodes, clusterOptions);
}

/**
 * Another connection like `client` for work that holds per-connection state or blocks it:
 * subscriptions and blocking stream reads. It has no command timeout (a blocking read outlasts
 * any) and no auto-pipelining. For a Cluster it is `cluster.duplicate()`: its own node
 * connections, and pub/sub through one node of the cluster (the cluster bus forwards messages).
 */
export function duplicateForBlocking(client: RedisClient): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate([], {
      enableAutoPipelining: false,
      enableOfflineQueue: true,
      redisOptions: { ...client.options.redisOptions, commandTimeout: undefined, maxRetriesPerRequest: null },
    });
  }
  return client.duplicate({
    commandTimeout: undefined,
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
  });
}

/** Waits until the client is ready, or throws a message that names the URL and the fix. */
export async function waitUntilReady(redis: RedisClient, url: string, timeoutMs: number): Promise<void> {
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

/**
 * The URL without its credentials, for messages and logs. They end at the last @ of the authority
 * (as ioredis and WHATWG URLs read it: a password may hold an unencoded @), and a password may
 * also come as a query parameter.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('//');
  if (at < 0) return url;
  const rest = url.slice(at + 2);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const credentials = authority.lastIndexOf('@');
  const redacted = credentials < 0 ? url : `${url.slice(0, at + 2)}***${rest.slice(credentials)}`;
  return redacted.replace(/([?&](?:password|pass|username|user)=)[^&#]*/gi, '$1***');
}
