import type { LevelWithSilent } from 'pino';
import { z } from 'zod';
import {
  ConfigError,
  boolean,
  hostPort,
  redisPrefix,
  redisUrl,
  tlsFiles,
  type TlsFiles,
} from '../config/config';
import { checkBic } from '../settlement/bic';
import type { ReceiverBehaviour } from './receiver-behaviour';

/**
 * Every setting has a command-line option and an environment variable read when the option is
 * absent, so one receiver runs the same from a shell, a container or a test. The `caravan
 * receiver` options are generated from this table, so the two cannot drift apart.
 */
export const RECEIVER_SETTINGS = {
  listen: {
    flag: '--listen <host:port>',
    env: 'CARAVAN_RECEIVER_LISTEN',
    help: 'address to listen on (default 127.0.0.1:50061)',
  },
  bic: {
    flag: '--bic <bic>',
    env: 'CARAVAN_RECEIVER_BIC',
    help: 'BIC of the bank this receiver stands for',
  },
  name: {
    flag: '--name <name>',
    env: 'CARAVAN_RECEIVER_NAME',
    help: 'name in Redis keys and logs (default: the BIC)',
  },
  redisUrl: { flag: '--redis-url <url>', env: 'REDIS_URL', help: 'Redis (default redis://127.0.0.1:6379)' },
  prefix: {
    flag: '--prefix <prefix>',
    env: 'CARAVAN_REDIS_PREFIX',
    help: 'Redis key prefix (default caravan)',
  },
  rejectShare: {
    flag: '--reject-share <0..1>',
    env: 'CARAVAN_RECEIVER_REJECT_SHARE',
    help: 'share of UETRs refused, picked by a hash of the UETR (default 0)',
  },
  rejectCode: {
    flag: '--reject-code <code>',
    env: 'CARAVAN_RECEIVER_REJECT_CODE',
    help: 'ISO 20022 reason code of a refusal (default AC04)',
  },
  failShare: {
    flag: '--fail-share <0..1>',
    env: 'CARAVAN_RECEIVER_FAIL_SHARE',
    help: 'share of calls answered UNAVAILABLE without recording anything (default 0)',
  },
  delayMs: {
    flag: '--delay-ms <ms>',
    env: 'CARAVAN_RECEIVER_DELAY_MS',
    help: 'answer a first delivery this long after recording it (default 0)',
  },
  hangShare: {
    flag: '--hang-share <0..1>',
    env: 'CARAVAN_RECEIVER_HANG_SHARE',
    help: 'share of first deliveries recorded and never answered (default 0)',
  },
} as const;

export type ReceiverSetting = keyof typeof RECEIVER_SETTINGS;

/** Settings given directly: strings from the command line, numbers or strings from code. */
export type ReceiverSettings = Partial<Record<ReceiverSetting, string | number>>;

export interface ReceiverConfig {
  listen: string;
  /** Part of every Redis key and log line of this receiver. */
  name: string;
  bic: string | null;
  redisUrl: string;
  redisPrefix: string;
  /** Null in development mode (plaintext). */
  tls: TlsFiles | null;
  behaviour: ReceiverBehaviour;
  logLevel: LevelWithSilent;
}

type Env = Record<string, string | undefined>;

const SHARE = 'must be a number from 0 to 1';
const share = z.coerce.number({ message: SHARE }).min(0, SHARE).max(1, SHARE);

const schema = z.object({
  listen: hostPort.default('127.0.0.1:50061'),
  bic: z
    .string()
    .superRefine((value, ctx) => {
      const problem = checkBic(value);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . - (it is part of Redis keys)')
    .optional(),
  redisUrl: redisUrl.default('redis://127.0.0.1:6379'),
  prefix: redisPrefix.default('caravan'),
  rejectShare: share.default(0),
  rejectCode: z
    .string()
    .regex(
      /^[A-Z0-9]{4}$/,
      'must be an ISO 20022 status reason code: 4 upper-case letters or digits, e.g. AC04',
    )
    .default('AC04'),
  failShare: share.default(0),
  delayMs: z.coerce
    .number({ message: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must not be negative')
    .max(600_000, 'must be at most 600000 (10 minutes)')
    .default(0),
  hangShare: share.default(0),
  CARAVAN_DEV_INSECURE: boolean.default(false),
  CARAVAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Names a problem the way the user gave the setting: the option and its environment variable. */
function label(key: PropertyKey | undefined): string {
  if (typeof key === 'string' && key in RECEIVER_SETTINGS) {
    const setting = RECEIVER_SETTINGS[key as ReceiverSetting];
    return `${setting.flag.split(' ')[0]} (${setting.env})`;
  }
  return String(key);
}

/**
 * Validates the receiver's settings once, at start: each from `settings`, else from its environment
 * variable, else its default; TLS from CARAVAN_TLS_* as for the gateway. Throws ConfigError listing
 * every problem at once.
 */
export function loadReceiverConfig(settings: ReceiverSettings, env: Env = process.env): ReceiverConfig {
  const given = Object.fromEntries(
    Object.entries(RECEIVER_SETTINGS).map(([key, { env: variable }]) => [
      key,
      settings[key as ReceiverSetting] ?? env[variable],
    ]),
  );
  const result = schema.safeParse({
    ...given,
    CARAVAN_DEV_INSECURE: env.CARAVAN_DEV_INSECURE,
    CARAVAN_LOG_LEVEL: env.CARAVAN_LOG_LEVEL,
  });
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${label(issue.path[0])}: ${issue.message}`);
  const devInsecure = boolean.safeParse(env.CARAVAN_DEV_INSECURE ?? 'false');
  const tls = tlsFiles(env, devInsecure.success && devInsecure.data, 'receiver');
  if (typeof tls === 'string') problems.push(tls);
  const name = result.data?.name ?? result.data?.bic;
  if (given.name === undefined && given.bic === undefined) {
    problems.push(
      `${label('name')} or ${label('bic')}: one is required: the name is part of the receiver's Redis keys and logs, e.g. --bic RZBMRUMM`,
    );
  }
  if (!result.success || typeof tls === 'string' || name === undefined) throw new ConfigError(problems);
  const v = result.data;
  return {
    listen: v.listen,
    name,
    bic: v.bic ?? null,
    redisUrl: v.redisUrl,
    redisPrefix: v.prefix,
    tls,
    behaviour: {
      rejectShare: v.rejectShare,
      rejectCode: v.rejectCode,
      failShare: v.failShare,
      delayMs: v.delayMs,
      hangShare: v.hangShare,
    },
    logLevel: v.CARAVAN_LOG_LEVEL,
  };
}
