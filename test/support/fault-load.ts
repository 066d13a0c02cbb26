import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import type { Cluster, Redis } from 'ioredis';
import {
  SettlementGatewayClient,
  type SubmitInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/gateway';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { decodeStatusDetails } from '../../src/grpc/status';
import type { KeySpace } from '../../src/store/keys';
import type { Env } from './cli';
import { asParticipant, submit } from './gateway';
import { validInstruction } from './instructions';
import { spawnCaravan, type ServerProcess } from './processes';
import { keysUnder } from './redis';

/** The participant every fault test submits as (the instructing agent of validInstruction()). */
export const HALYK = asParticipant('HSBKKZKX');

const GATEWAY_LISTENING = /"msg":"caravan gateway listening"/;

/**
 * `caravan serve` in development mode on a port the caller chose, so that a gateway started after
 * a kill listens where the clients already point. Without its dispatcher unless `env` turns it
 * on, so outbox entries stay where intake wrote them and can be counted. Logs at info, the
 * default level, so the gateway under test does the work a production one does.
 */
export function startServe(options: {
  port: number;
  redisUrl: string;
  prefix: string;
  env?: Env;
}): ServerProcess {
  return spawnCaravan(
    ['serve'],
    {
      CARAVAN_DEV_INSECURE: 'true',
      CARAVAN_LISTEN: `127.0.0.1:${options.port}`,
      REDIS_URL: options.redisUrl,
      CARAVAN_REDIS_PREFIX: options.prefix,
      CARAVAN_DISPATCHER: 'off',
      CARAVAN_LOG_LEVEL: 'info',
      // The load and the read-back after it are a fault's witnesses, not a participant to limit.
      CARAVAN_RATE_LIMIT: '0',
      ...options.env,
    },
    GATEWAY_LISTENING,
  );
}

/**
 * A client that finds a restarted server quickly: grpc-js backs off up to two minutes between
 * reconnection attempts by default, which would make the recovery times measured here the
 * client's, not the gateway's.
 */
export function reconnectingClient(address: string): SettlementGatewayClient {
  return new SettlementGatewayClient(address, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 500,
  });
}

/** One SubmitInstruction call and how it ended, timed from the client. */
export type Attempt =
  | { ok: true; answer: SubmitInstructionResponse; ms: number; endedAt: number }
  | {
      ok: false;
      code: status;
      message: string;
      /** google.rpc.RetryInfo's delay in ms, null when the error carried none. */
      retryAfterMs: number | null;
      ms: number;
      endedAt: number;
    };

export async function attemptSubmit(
  client: SettlementGatewayClient,
  instruction: SettlementInstruction,
  deadlineMs = 10_000,
): Promise<Attempt> {
  const started = performance.now();
  try {
    const answer = await submit(client, instruction, HALYK, deadlineMs);
    return { ok: true, answer, ms: performance.now() - started, endedAt: Date.now() };
  } catch (err) {
    const e = err as ServiceError;
    if (typeof e.code !== 'number') throw err;
    const retry = decodeStatusDetails(e.metadata).retryInfo?.retryDelay;
    return {
      ok: false,
      code: e.code,
      message: e.details,
      retryAfterMs: retry ? Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6) : null,
      ms: performance.now() - started,
      endedAt: Date.now(),
    };
  }
}

/** "UNAVAILABLE×12, CANCELLED×1", or "none". */
export function codeCounts(codes: Iterable<status>): string {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(status[code], (counts.get(status[code]) ?? 0) + 1);
  return counts.size === 0 ? 'none' : [...counts].map(([name, n]) => `${name}×${n}`).join(', ');
}

export interface StoredIntake {
  /** UETRs with an instruction record under the key space's prefix. */
  records: Set<string>;
  /** Outbox entries per UETR, over every partition's stream. */
  outbox: Map<string, number>;
  outboxEntries: number;
  /** Entries in a partition's outbox that the UETR's hash does not map to (would never be read for it). */
  misplaced: number;
}

/**
 * What intake left in Redis, read the way DESIGN.md lays it out: one record hash per UETR
 * (`<prefix>:{p<N>}:ins:<uetr>`, found by a bounded SCAN) and one entry per accepted UETR in the
 * outbox stream of its partition.
 */
export async function storedIntake(redis: Redis | Cluster, keys: KeySpace): Promise<StoredIntake> {
  const records = new Set<string>();
  for (const key of await keysUnder(redis, keys.prefix)) {
    const match = /:\{p\d+\}:ins:(.+)$/.exec(key);
    if (match) records.add(match[1]);
  }
  const outbox = new Map<string, number>();
  let outboxEntries = 0;
  let misplaced = 0;
  for (let p = 0; p < keys.partitions; p++) {
    const entries = await redis.xrange(keys.outbox(p), '-', '+');
    for (const [, fields] of entries) {
      const uetr = fields[fields.indexOf('uetr') + 1] ?? '';
      outbox.set(uetr, (outbox.get(uetr) ?? 0) + 1);
      outboxEntries++;
      if (keys.partitionOf(uetr) !== p) misplaced++;
    }
  }
  return { records, outbox, outboxEntries, misplaced };
}

/** Runs `work` on every item with at most `concurrency` at a time, in order of the items. */
export async function eachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One SubmitInstruction call of an outage run. */
export type Call = Attempt & { uetr: string; attempt: number; startedAt: number };

/** The fault an outage run injects: `begin` makes Redis unusable, `end` gives it back. */
export interface Fault {
  begin(): Promise<void>;
  end(): Promise<void>;
}

export interface OutageRun {
  instructions: Map<string, SettlementInstruction>;
  /** Every call, in the order they ended. */
  calls: Call[];
  /** The answer each instruction finally got and after how many calls (absent: never answered). */
  answers: Map<string, { answer: SubmitInstructionResponse; attempts: number }>;
  /** UETRs refused with ALREADY_EXISTS on a retry: never expected, since a retry sends the same body. */
  conflicts: string[];
  /** Date.now() when `begin` had returned, when `end` was called, and when it had returned. */
  downAt: number;
  endingAt: number;
  upAt: number;
  /** What `during` answered, if given. */
  during: unknown;
}

/**
 * Submissions by `concurrency` clients that behave as the API asks: a call that fails is retried
 * with the same instruction after google.rpc.RetryInfo's delay (200 ms when there is none). Once
 * `before` instructions have been accepted the fault begins, lasts `outageMs` (while `during`
 * runs, e.g. health probes), and ends; the clients stop once `after` instructions submitted after
 * the end have been accepted, and each finishes the instruction it has in hand.
 */
export async function submitThroughOutage(options: {
  client: SettlementGatewayClient;
  concurrency: number;
  before: number;
  after: number;
  outageMs: number;
  fault: Fault;
  during?: () => Promise<unknown>;
  deadlineMs?: number;
  /** Calls one instruction may take before the run fails: the gateway is not recovering. */
  maxAttempts?: number;
}): Promise<OutageRun> {
  const { client, fault, deadlineMs = 10_000, maxAttempts = 60 } = options;
  const run: OutageRun = {
    instructions: new Map(),
    calls: [],
    answers: new Map(),
    conflicts: [],
    downAt: Infinity,
    endingAt: Infinity,
    upAt: Infinity,
    during: undefined,
  };
  let acceptedBefore = 0;
  let acceptedAfter = 0;
  // Set by the workers: a holder, so TypeScript does not narrow them to their initial null.
  const state: { outage: Promise<void> | null; failed: unknown } = { outage: null, failed: null };

  const injectOutage = async () => {
    await fault.begin();
    run.downAt = Date.now();
    const [during] = await Promise.all([options.during?.(), sleep(options.outageMs)]);
    run.during = during;
    run.endingAt = Date.now();
    await fault.end();
    run.upAt = Date.now();
  };

  const worker = async () => {
    while (
      state.failed === null &&
      (state.outage === null || run.upAt === Infinity || acceptedAfter < options.after)
    ) {
      const instruction = validInstruction();
      run.instructions.set(instruction.uetr, instruction);
      for (let attempt = 1; ; attempt++) {
        const startedAt = Date.now();
        const result = await attemptSubmit(client, instruction, deadlineMs);
        run.calls.push({ ...result, uetr: instruction.uetr, attempt, startedAt });
        if (result.ok) {
          run.answers.set(instruction.uetr, { answer: result.answer, attempts: attempt });
          if (state.outage === null && ++acceptedBefore >= options.before) {
            state.outage = injectOutage().catch((err: unknown) => {
              state.failed = err;
            });
          }
          if (startedAt >= run.upAt && attempt === 1) acceptedAfter++;
          break;
        }
        if (result.code === status.ALREADY_EXISTS) {
          run.conflicts.push(instruction.uetr);
          break;
        }
        if (state.failed !== null) break;
        if (attempt >= maxAttempts) {
          state.failed ??= new Error(
            `${instruction.uetr}: ${status[result.code]} (${result.message}) on all ${attempt} attempts`,
          );
          break;
        }
        await sleep(result.retryAfterMs ?? 200);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await state.outage;
  if (state.failed !== null)
    throw state.failed instanceof Error ? state.failed : new Error(JSON.stringify(state.failed));
  return run;
}
