import { z } from 'zod';
import { DEFAULT_REVIEW_THRESHOLD } from '../screening/name-score';
import type { CallLimits } from '../grpc/call-admission';
import { parseRedisUrl } from './redis-url';

/** Where the gateway listens and how it reaches Redis and its peers; read once at start. */
export interface Config {
  listen: string;
  /** A plaintext port serving only grpc.health.v1 (Kubernetes probes cannot present mTLS certificates). */
  healthListen: string | null;
  redisUrl: string;
  /** False when REDIS_URL was not set: `npm start` may then start a private redis-server. */
  redisUrlExplicit: boolean;
  redisPrefix: string;
  partitions: number;
  devInsecure: boolean;
  tls: TlsFiles | null;
  maxMessageBytes: number;
  shutdownGraceMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  watchPollMs: number;
  redisCommandTimeoutMs: number;
  /**
   * Replicas that must hold a submission before it is acknowledged (0: the primary's word is
   * enough), and how long to wait for them.
   */
  redisReplication: { replicas: number; timeoutMs: number };
  limits: CallLimits;
  screening: ScreeningConfig;
  delivery: DeliveryConfig;
  /** Development mode only: bearer tokens that stand for officers and their roles. */
  roleTokens: RoleToken[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface ScreeningConfig {
  /** False runs intake without sanctions screening (a loud warning at start); never in production. */
  enabled: boolean;
  /** Name matches scoring at least this are held for review. */
  reviewThreshold: number;
  /** Screening refuses to decide once the list versions are unconfirmed for longer than this. */
  stalenessMs: number;
  /** How often list pointers are re-read without a notification. */
  pollMs: number;
  /** An import whose entry count drops by more than this share is refused unless forced. */
  maxDropShare: number;
  /** Releases by different officers needed to release a held instruction (2 = four-eyes). */
  releasesRequired: number;
  /** List versions whose entries are kept for rollback. */
  keepVersions: number;
}

export interface DeliveryConfig {
  /** False leaves delivery to separate `caravan dispatch` processes. */
  dispatcher: boolean;
  concurrency: number;
  maxAttempts: number;
  deadlineMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  claimIdleMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  routesPollMs: number;
}

export type Role = 'compliance' | 'operations';

export interface RoleToken {
  id: string;
  roles: Role[];
  token: string;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Settings the `caravan` client commands share. */
export interface ClientConfig {
  address: string;
  devInsecure: boolean;
  participant: string | null;
  tls: TlsFiles | null;
  deadlineMs: number;
  /** Development mode: the officer's bearer token for the Compliance and Operations services. */
  token: string | null;
  /** HTTP/2 pings on an idle connection, so a gateway gone silent ends a watch instead of hanging it. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:50051')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

/**
 * A number written out: z.coerce alone reads an empty or blank value as 0, which would silently
 * turn off replica confirmation, the rate limit or the shutdown grace after a templating slip.
 */
const written = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, `must be ${what}`);
const positiveInt = (min: number, max: number) =>
  written('a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const decimal = () => written('a number such as 0.5').transform(Number);

/** One Redis (redis://, rediss://) or the seed nodes of a Redis Cluster (redis+cluster://h1:p1,h2:p2). */
export const redisUrl = z.string().superRefine((value, ctx) => {
  const parsed = parseRedisUrl(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

export const redisPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,40}$/, 'must be 1-40 characters of letters, digits, _ . : -');

const serverSchema = z.object({
  CARAVAN_LISTEN: hostPort.default('127.0.0.1:50051'),
  CARAVAN_HEALTH_LISTEN: hostPort.optional(),
  REDIS_URL: redisUrl.optional(),
  CARAVAN_REDIS_PREFIX: redisPrefix.default('caravan'),
  CARAVAN_PARTITIONS: positiveInt(1, 1024).default(16),
  CARAVAN_DEV_INSECURE: boolean.default(false),
  CARAVAN_TLS_CERT: z.string().min(1).optional(),
  CARAVAN_TLS_KEY: z.string().min(1).optional(),
  CARAVAN_TLS_CA: z.string().min(1).optional(),
  CARAVAN_MAX_MESSAGE_BYTES: positiveInt(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  CARAVAN_SHUTDOWN_GRACE_MS: positiveInt(0, 600_000).default(10_000),
  CARAVAN_KEEPALIVE_TIME_MS: positiveInt(1_000, 3_600_000).default(30_000),
  CARAVAN_KEEPALIVE_TIMEOUT_MS: positiveInt(1_000, 600_000).default(10_000),
  CARAVAN_WATCH_POLL_MS: positiveInt(100, 60_000).default(2_000),
  CARAVAN_REDIS_TIMEOUT_MS: positiveInt(50, 60_000).default(2_000),
  CARAVAN_REDIS_MIN_REPLICAS: positiveInt(0, 16).default(0),
  CARAVAN_REDIS_REPLICA_TIMEOUT_MS: positiveInt(10, 60_000).default(500),
  CARAVAN_RATE_LIMIT: positiveInt(0, 1_000_000).default(1_000),
  CARAVAN_RATE_BURST: positiveInt(1, 10_000_000).optional(),
  CARAVAN_MAX_IN_FLIGHT: positiveInt(1, 1_000_000).default(1_024),
  CARAVAN_MAX_IN_FLIGHT_PER_PARTICIPANT: positiveInt(1, 1_000_000).default(256),
  CARAVAN_MAX_WATCHES_PER_PARTICIPANT: positiveInt(1, 1_000_000).default(1_000),
  CARAVAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CARAVAN_SCREENING: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  CARAVAN_REVIEW_THRESHOLD: decimal().pipe(z.number().gt(0).max(1)).optional(),
  CARAVAN_LIST_STALENESS_MS: positiveInt(1_000, 3_600_000).default(15_000),
  CARAVAN_LIST_POLL_MS: positiveInt(100, 60_000).default(1_000),
  CARAVAN_LIST_MAX_DROP: decimal().pipe(z.number().min(0).max(1)).default(0.2),
  CARAVAN_RELEASES_REQUIRED: positiveInt(1, 5).default(2),
  CARAVAN_LIST_KEEP_VERSIONS: positiveInt(2, 1000).default(10),
  CARAVAN_DISPATCHER: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  CARAVAN_DISPATCH_CONCURRENCY: positiveInt(1, 10_000).default(256),
  CARAVAN_DELIVERY_ATTEMPTS: positiveInt(1, 100).default(8),
  CARAVAN_DELIVERY_DEADLINE_MS: positiveInt(50, 600_000).default(5_000),
  CARAVAN_RETRY_BASE_MS: positiveInt(1, 600_000).default(250),
  CARAVAN_RETRY_MAX_MS: positiveInt(1, 3_600_000).default(30_000),
  CARAVAN_CLAIM_IDLE_MS: positiveInt(500, 3_600_000).default(30_000),
  CARAVAN_BREAKER_FAILURES: positiveInt(1, 1_000).default(5),
  CARAVAN_BREAKER_OPEN_MS: positiveInt(100, 3_600_000).default(10_000),
  CARAVAN_ROUTES_POLL_MS: positiveInt(100, 60_000).default(1_000),
  CARAVAN_ROLE_TOKENS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(
      z.array(
        z.object({
          id: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'officer ids are 1-64 letters, digits, . _ @ -'),
          roles: z.array(z.enum(['compliance', 'operations'])).min(1),
          token: z.string().min(16, 'tokens must be at least 16 characters'),
        }),
        { message: 'must be a JSON array of {"id","roles":["compliance"|"operations"],"token"}' },
      ),
    )
    .optional(),
});

const clientSchema = z.object({
  CARAVAN_ADDR: hostPort.default('127.0.0.1:50051'),
  CARAVAN_DEV_INSECURE: boolean.default(false),
  CARAVAN_PARTICIPANT: z
    .string()
    .regex(/^[A-Z0-9]{8}([A-Z0-9]{3})?$/, 'must be a BIC of 8 or 11 upper-case characters')
    .optional(),
  CARAVAN_TLS_CERT: z.string().min(1).optional(),
  CARAVAN_TLS_KEY: z.string().min(1).optional(),
  CARAVAN_TLS_CA: z.string().min(1).optional(),
  CARAVAN_DEADLINE_MS: positiveInt(100, 600_000).default(10_000),
  CARAVAN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // The gateway refuses pings more often than every 5 s.
  CARAVAN_KEEPALIVE_TIME_MS: positiveInt(5_000, 3_600_000).default(30_000),
  CARAVAN_KEEPALIVE_TIMEOUT_MS: positiveInt(1_000, 600_000).default(10_000),
});

type TlsEnv = { CARAVAN_TLS_CERT?: string; CARAVAN_TLS_KEY?: string; CARAVAN_TLS_CA?: string };

/**
 * Validates the schema and the TLS rules together, so one run reports every problem: a bad
 * address and missing TLS settings are both listed, not one after the other.
 */
function parse<T extends z.ZodType>(
  schema: T,
  env: Env,
  role: 'server' | 'client',
): { values: z.infer<T>; tls: TlsFiles | null } {
  const result = schema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const devInsecure = boolean.safeParse(env.CARAVAN_DEV_INSECURE ?? 'false');
  const tls = tlsFiles(env, devInsecure.success && devInsecure.data, role);
  if (typeof tls === 'string') problems.push(tls);
  if (!result.success || typeof tls === 'string') throw new ConfigError(problems);
  return { values: result.data, tls };
}

/** The CARAVAN_TLS_* files, null in development mode, or why they are not usable together. */
export function tlsFiles(
  env: TlsEnv,
  devInsecure: boolean,
  role: 'server' | 'client' | 'receiver',
): TlsFiles | null | string {
  const { CARAVAN_TLS_CERT: certFile, CARAVAN_TLS_KEY: keyFile, CARAVAN_TLS_CA: caFile } = env;
  const given = [certFile, keyFile, caFile].filter((v) => v !== undefined).length;
  if (devInsecure) {
    return given > 0
      ? 'CARAVAN_DEV_INSECURE=true turns TLS off, but CARAVAN_TLS_* are set: choose one of the two'
      : null;
  }
  if (certFile === undefined || keyFile === undefined || caFile === undefined) {
    const missing = [
      certFile === undefined ? 'CARAVAN_TLS_CERT' : null,
      keyFile === undefined ? 'CARAVAN_TLS_KEY' : null,
      caFile === undefined ? 'CARAVAN_TLS_CA' : null,
    ].filter((v): v is string => v !== null);
    const what =
      role === 'server'
        ? 'the gateway needs its certificate, its key and the CA that signs participant certificates'
        : role === 'receiver'
          ? "the receiver needs its certificate, its key and the CA that signs Caravan's client certificates"
          : 'the client needs its participant certificate, its key and the CA of the gateway';
    return (
      `${missing.join(', ')}: mTLS is on by default and ${missing.length > 1 ? 'these are' : 'this is'} not set: ${what}. ` +
      'For plaintext local development set CARAVAN_DEV_INSECURE=true instead.'
    );
  }
  return { certFile, keyFile, caFile };
}

/** Every environment variable the gateway and dispatcher read, for checks of deployment files. */
export const SERVER_ENV_NAMES: readonly string[] = Object.keys(serverSchema.shape);

/** Reads the gateway's settings from the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const { values: v, tls } = parse(serverSchema, env, 'server');
  if (v.CARAVAN_REDIS_MIN_REPLICAS > 0 && v.CARAVAN_REDIS_REPLICA_TIMEOUT_MS >= v.CARAVAN_REDIS_TIMEOUT_MS) {
    throw new ConfigError([
      'CARAVAN_REDIS_REPLICA_TIMEOUT_MS: must be less than CARAVAN_REDIS_TIMEOUT_MS, or the command timeout ends the wait for replicas first',
    ]);
  }
  if (v.CARAVAN_RETRY_BASE_MS > v.CARAVAN_RETRY_MAX_MS) {
    throw new ConfigError(['CARAVAN_RETRY_BASE_MS: must not exceed CARAVAN_RETRY_MAX_MS']);
  }
  if (v.CARAVAN_ROLE_TOKENS !== undefined && !v.CARAVAN_DEV_INSECURE) {
    throw new ConfigError([
      "CARAVAN_ROLE_TOKENS: role tokens are for development mode only; with mTLS an officer's role comes from the OU of their client certificate",
    ]);
  }
  return {
    listen: v.CARAVAN_LISTEN,
    healthListen: v.CARAVAN_HEALTH_LISTEN ?? null,
    redisUrl: v.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisUrlExplicit: v.REDIS_URL !== undefined,
    redisPrefix: v.CARAVAN_REDIS_PREFIX,
    partitions: v.CARAVAN_PARTITIONS,
    devInsecure: v.CARAVAN_DEV_INSECURE,
    tls,
    maxMessageBytes: v.CARAVAN_MAX_MESSAGE_BYTES,
    shutdownGraceMs: v.CARAVAN_SHUTDOWN_GRACE_MS,
    keepaliveTimeMs: v.CARAVAN_KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: v.CARAVAN_KEEPALIVE_TIMEOUT_MS,
    watchPollMs: v.CARAVAN_WATCH_POLL_MS,
    redisCommandTimeoutMs: v.CARAVAN_REDIS_TIMEOUT_MS,
    redisReplication: {
      replicas: v.CARAVAN_REDIS_MIN_REPLICAS,
      timeoutMs: v.CARAVAN_REDIS_REPLICA_TIMEOUT_MS,
    },
    limits: {
      ratePerSecond: v.CARAVAN_RATE_LIMIT,
      burst: v.CARAVAN_RATE_BURST ?? Math.max(1, 2 * v.CARAVAN_RATE_LIMIT),
      maxInFlight: v.CARAVAN_MAX_IN_FLIGHT,
      maxInFlightPerParticipant: v.CARAVAN_MAX_IN_FLIGHT_PER_PARTICIPANT,
      maxWatchesPerParticipant: v.CARAVAN_MAX_WATCHES_PER_PARTICIPANT,
    },
    screening: {
      enabled: v.CARAVAN_SCREENING === 'on',
      reviewThreshold: v.CARAVAN_REVIEW_THRESHOLD ?? DEFAULT_REVIEW_THRESHOLD,
      stalenessMs: v.CARAVAN_LIST_STALENESS_MS,
      pollMs: v.CARAVAN_LIST_POLL_MS,
      maxDropShare: v.CARAVAN_LIST_MAX_DROP,
      releasesRequired: v.CARAVAN_RELEASES_REQUIRED,
      keepVersions: v.CARAVAN_LIST_KEEP_VERSIONS,
    },
    delivery: {
      dispatcher: v.CARAVAN_DISPATCHER === 'on',
      concurrency: v.CARAVAN_DISPATCH_CONCURRENCY,
      maxAttempts: v.CARAVAN_DELIVERY_ATTEMPTS,
      deadlineMs: v.CARAVAN_DELIVERY_DEADLINE_MS,
      retryBaseMs: v.CARAVAN_RETRY_BASE_MS,
      retryMaxMs: v.CARAVAN_RETRY_MAX_MS,
      claimIdleMs: v.CARAVAN_CLAIM_IDLE_MS,
      breakerFailures: v.CARAVAN_BREAKER_FAILURES,
      breakerOpenMs: v.CARAVAN_BREAKER_OPEN_MS,
      routesPollMs: v.CARAVAN_ROUTES_POLL_MS,
    },
    roleTokens: v.CARAVAN_ROLE_TOKENS ?? [],
    logLevel: v.CARAVAN_LOG_LEVEL,
  };
}

/** Reads the `caravan` client commands' settings from the environment. */
export function loadClientConfig(
  env: Env = process.env,
  caller: 'participant' | 'officer' = 'participant',
): ClientConfig {
  const { values: v, tls } = parse(clientSchema, env, 'client');
  if (v.CARAVAN_DEV_INSECURE && caller === 'participant' && v.CARAVAN_PARTICIPANT === undefined) {
    throw new ConfigError([
      'CARAVAN_PARTICIPANT is not set: in development mode the participant BIC travels in metadata, e.g. CARAVAN_PARTICIPANT=HSBKKZKX',
    ]);
  }
  if (v.CARAVAN_DEV_INSECURE && caller === 'officer' && v.CARAVAN_TOKEN === undefined) {
    throw new ConfigError([
      "CARAVAN_TOKEN is not set: in development mode an officer is identified by a token from the gateway's CARAVAN_ROLE_TOKENS",
    ]);
  }
  return {
    address: v.CARAVAN_ADDR,
    devInsecure: v.CARAVAN_DEV_INSECURE,
    participant: v.CARAVAN_PARTICIPANT ?? null,
    tls,
    deadlineMs: v.CARAVAN_DEADLINE_MS,
    token: v.CARAVAN_TOKEN ?? null,
    keepaliveTimeMs: v.CARAVAN_KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: v.CARAVAN_KEEPALIVE_TIMEOUT_MS,
  };
}
