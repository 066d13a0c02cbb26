import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { callUnary } from '../cli/grpc-call';
import { parseListFiles } from '../compliance/importers';
import { loadConfig, type Config, type RoleToken } from '../config/config';
import { startGateway } from '../gateway';
import {
  ComplianceClient,
  ListFormat,
  type ImportListRequest,
  type ImportListResponse,
} from '../gen/caravan/compliance/v1/compliance';
import { InstructionProblem, OperationsClient } from '../gen/caravan/operations/v1/operations';
import { Transport, type Route } from '../gen/caravan/operations/v1/routes';
import { SettlementGatewayClient, type Instruction } from '../gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import { DEV_PARTICIPANT_HEADER } from '../grpc/caller-identity';
import { channelCredentials } from '../grpc/credentials';
import { createReceiverLog, loadReceiverConfig, startReceiver } from '../receiver';
import { freePort } from '../store/private-redis';
import { createRedis, waitUntilReady } from '../store/redis-client';
import type { Logger } from '../telemetry/logger';
import { DEMO_CASES, DEMO_COUNTERPARTIES, DEMO_PARTICIPANT, type DemoCase } from './demo-cases';
import { SAMPLE_LISTS, type SampleList } from './demo-sample-list';

/** Few attempts and short waits, so the case whose counterparty is down fails within seconds. */
const DEMO_DELIVERY = { attempts: 3, retryBaseMs: 100, retryMaxMs: 400, deadlineMs: 2_000 } as const;

const CALL_DEADLINE_MS = 10_000;
const POLL_MS = 100;
/** Far beyond what the slowest case needs (the down counterparty's attempts and backoff). */
const SETTLE_TIMEOUT_MS = 30_000;

export interface DemoConfigOptions {
  prefix: string;
  redisUrl: string | undefined;
  logLevel: string | undefined;
}

/**
 * The gateway configuration of a demo: development mode on a free loopback port, the dispatcher
 * in process, two officers with fresh tokens, and everything under the demo's own key prefix.
 */
export function demoConfig(options: DemoConfigOptions): Config {
  const token = () => randomBytes(12).toString('hex');
  const officers: RoleToken[] = [
    { id: 'demo-alice', roles: ['compliance', 'operations'], token: token() },
    { id: 'demo-bob', roles: ['compliance'], token: token() },
  ];
  return loadConfig({
    CARAVAN_LISTEN: '127.0.0.1:0',
    REDIS_URL: options.redisUrl,
    CARAVAN_REDIS_PREFIX: options.prefix,
    CARAVAN_DEV_INSECURE: 'true',
    CARAVAN_ROLE_TOKENS: JSON.stringify(officers),
    CARAVAN_DISPATCHER: 'on',
    CARAVAN_DELIVERY_ATTEMPTS: String(DEMO_DELIVERY.attempts),
    CARAVAN_RETRY_BASE_MS: String(DEMO_DELIVERY.retryBaseMs),
    CARAVAN_RETRY_MAX_MS: String(DEMO_DELIVERY.retryMaxMs),
    CARAVAN_DELIVERY_DEADLINE_MS: String(DEMO_DELIVERY.deadlineMs),
    CARAVAN_LOG_LEVEL: options.logLevel,
  });
}

export interface DemoSettings {
  /** The gateway's gRPC address. */
  address: string;
  redisUrl: string;
  prefix: string;
  participant: string;
  officers: readonly RoleToken[];
  counterparties: { name: string; bic: string; country: string; up: boolean; address: string }[];
  lists: { list: string; version: number; entries: number }[];
}

/** Where an instruction went after intake, as the receivers and the Operations service tell it. */
export interface DeliveryReport {
  counterparty: string;
  /** For a delivered instruction the attempt that got through, for a failed one the attempts made. */
  attempts: number;
  /** Deliveries of the UETR the receiver recorded (1: exactly once). */
  received: number;
}

export interface CaseOutcome {
  number: number;
  demoCase: DemoCase;
  uetr: string;
  /** The instruction as the gateway answers GetInstruction once it left RECEIVED and ACCEPTED. */
  record: Instruction;
  delivery: DeliveryReport | null;
}

export interface RunningDemo {
  settings: DemoSettings;
  outcomes: CaseOutcome[];
  /** Stops the gateway and receivers and deletes every key under the demo's prefix. */
  stop(): Promise<void>;
}

export class DemoPrefixInUse extends Error {
  constructor(prefix: string) {
    super(
      `Redis already holds keys under ${prefix}: the demo deletes everything under its prefix when it ends, so it needs one of its own (leave out --prefix for a fresh one)`,
    );
    this.name = 'DemoPrefixInUse';
  }
}

/** Stops what was started, newest first; a failing step is logged and the others still run. */
function createCleanup(log: Logger) {
  type Step = () => void | Promise<unknown>;
  const steps: Step[] = [];
  let running: Promise<void> | null = null;
  return {
    add(step: Step): void {
      steps.push(step);
    },
    run(): Promise<void> {
      running ??= (async () => {
        const failures: unknown[] = [];
        for (const step of steps.reverse()) {
          try {
            await step();
          } catch (err) {
            log.error({ err }, 'demo clean-up step failed');
            failures.push(err);
          }
        }
        if (failures.length > 0) throw failures[0];
      })();
      return running;
    },
  };
}

/** Keys under the prefix, a SCAN page at a time (never KEYS: the Redis may be shared and large). */
async function* keysUnder(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (page.length > 0) yield page;
  } while (cursor !== '0');
}

async function prefixInUse(redis: Redis, prefix: string): Promise<boolean> {
  const first = await keysUnder(redis, prefix).next();
  return first.done !== true;
}

async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  for await (const page of keysUnder(redis, prefix)) await redis.unlink(...page);
}

const deadline = () => new Date(Date.now() + CALL_DEADLINE_MS);

function metadata(key: string, value: string): Metadata {
  const m = new Metadata();
  m.set(key, value);
  return m;
}

/** Sends one list file to ImportList, as `caravan lists import --format csv` does. */
function importList(
  client: ComplianceClient,
  officer: Metadata,
  sample: SampleList,
): Promise<ImportListResponse> {
  return new Promise((resolve, reject) => {
    const call = client.importList(officer, { deadline: deadline() }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    const header: ImportListRequest = {
      part: {
        $case: 'header',
        value: {
          list: sample.list,
          format: ListFormat.LIST_FORMAT_CSV,
          fileNames: [`${sample.list}.csv`],
          force: false,
          note: 'caravan demo sample list',
        },
      },
    };
    call.write(header);
    call.write({ part: { $case: 'chunk', value: { fileIndex: 0, data: Buffer.from(sample.csv) } } });
    call.end();
  });
}

const SETTLING: ReadonlySet<InstructionState> = new Set([
  InstructionState.INSTRUCTION_STATE_RECEIVED,
  InstructionState.INSTRUCTION_STATE_ACCEPTED,
]);

/** Polls the instruction until it leaves RECEIVED and ACCEPTED (or the bound passes), and answers its record. */
async function settled(
  client: SettlementGatewayClient,
  uetr: string,
  participant: Metadata,
  signal: AbortSignal,
): Promise<Instruction> {
  const until = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    const record = await callUnary(client.getInstruction.bind(client), { uetr }, participant, deadline());
    if (!SETTLING.has(record.state) || Date.now() > until) return record;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Runs the demo against `config` (see demoConfig): starts the reference receivers and a gateway
 * with its dispatcher, loads the sample lists and routes through the Compliance and Operations
 * services, submits every case through the SettlementGateway and waits for each outcome. What it
 * started keeps running until `stop()`; on a failure or an abort it is stopped before the error
 * is thrown.
 */
export async function runDemo(config: Config, log: Logger, signal: AbortSignal): Promise<RunningDemo> {
  const cleanup = createCleanup(log);
  const prefix = config.redisPrefix;
  try {
    const redis = createRedis(config.redisUrl, { commandTimeoutMs: CALL_DEADLINE_MS });
    redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    cleanup.add(() => redis.quit().catch(() => redis.disconnect()));
    await waitUntilReady(redis, config.redisUrl, CALL_DEADLINE_MS);
    if (await prefixInUse(redis, prefix)) throw new DemoPrefixInUse(prefix);
    cleanup.add(() => deleteKeysUnder(redis, prefix));

    const counterparties: DemoSettings['counterparties'] = [];
    for (const counterparty of DEMO_COUNTERPARTIES) {
      signal.throwIfAborted();
      if (!counterparty.up) {
        counterparties.push({ ...counterparty, address: `127.0.0.1:${await freePort()}` });
        continue;
      }
      const receiver = await startReceiver({
        config: loadReceiverConfig(
          {
            listen: '127.0.0.1:0',
            name: counterparty.name,
            bic: counterparty.bic,
            redisUrl: config.redisUrl,
            prefix,
          },
          { CARAVAN_DEV_INSECURE: 'true' },
        ),
        log,
      });
      cleanup.add(() => receiver.stop());
      counterparties.push({ ...counterparty, address: `127.0.0.1:${receiver.port}` });
    }

    signal.throwIfAborted();
    const gateway = await startGateway({ config, log, parseList: parseListFiles });
    cleanup.add(() => gateway.stop());
    const address = `127.0.0.1:${gateway.port}`;
    const credentials = channelCredentials(null);
    const settlement = new SettlementGatewayClient(address, credentials);
    const compliance = new ComplianceClient(address, credentials);
    const operations = new OperationsClient(address, credentials);
    // Closed before the gateway stops, whose graceful shutdown waits for open connections.
    cleanup.add(() => [settlement, compliance, operations].forEach((client) => client.close()));
    const officer = metadata('authorization', `Bearer ${config.roleTokens[0].token}`);
    const participant = metadata(DEV_PARTICIPANT_HEADER, DEMO_PARTICIPANT);

    const lists: DemoSettings['lists'] = [];
    for (const sample of SAMPLE_LISTS) {
      signal.throwIfAborted();
      const imported = await importList(compliance, officer, sample);
      if (!imported.activated) {
        const problems = imported.problems.map((p) => `${p.file}:${p.line} ${p.message}`).join('; ');
        throw new Error(`the sample list ${sample.list} was refused: ${imported.refusal} ${problems}`);
      }
      lists.push({
        list: sample.list,
        version: Number(imported.version?.version ?? 0),
        entries: Number(imported.version?.entryCount ?? 0),
      });
    }
    // Imports reach the screening index through pub/sub; the first submission must not race it.
    await gateway.screening?.refresh();

    for (const counterparty of counterparties) {
      signal.throwIfAborted();
      const route: Route = {
        id: `demo-${counterparty.country.toLowerCase()}`,
        match: { creditorAgent: counterparty.country, currency: '', minAmount: '', maxAmount: '' },
        priority: 10,
        counterparties: [
          {
            name: counterparty.name,
            address: counterparty.address,
            transport: Transport.TRANSPORT_PLAINTEXT,
            serverName: '',
            caPem: '',
            deadlineMs: 0,
          },
        ],
        updatedBy: '',
        updateTime: undefined,
      };
      await callUnary(operations.putRoute.bind(operations), { route }, officer, deadline());
    }

    const submitted: { demoCase: DemoCase; uetr: string }[] = [];
    for (const demoCase of DEMO_CASES) {
      signal.throwIfAborted();
      const instruction = demoCase.instruction();
      const answer = await callUnary(
        settlement.submitInstruction.bind(settlement),
        { instruction },
        participant,
        deadline(),
      );
      submitted.push({ demoCase, uetr: answer.uetr });
    }
    const records = await Promise.all(
      submitted.map(({ uetr }) => settled(settlement, uetr, participant, signal)),
    );

    const deliveries = new Map<string, DeliveryReport>();
    for (const counterparty of counterparties.filter((c) => c.up)) {
      const receiverLog = createReceiverLog(redis, prefix, counterparty.name);
      for (const receipt of await receiverLog.received()) {
        deliveries.set(receipt.uetr, {
          counterparty: counterparty.name,
          attempts: receipt.attempt,
          received: await receiverLog.deliveries(receipt.uetr),
        });
      }
    }
    const failed = await callUnary(
      operations.listInstructions.bind(operations),
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_FAILED],
        stuckAfterMs: '0',
        participant: DEMO_PARTICIPANT,
        limit: 0,
      },
      officer,
      deadline(),
    );
    for (const summary of failed.instructions) {
      deliveries.set(summary.uetr, {
        counterparty: summary.counterparty,
        attempts: summary.attempts,
        received: 0,
      });
    }

    return {
      settings: {
        address,
        redisUrl: config.redisUrl,
        prefix,
        participant: DEMO_PARTICIPANT,
        officers: config.roleTokens,
        counterparties,
        lists,
      },
      outcomes: submitted.map(({ demoCase, uetr }, i) => ({
        number: i + 1,
        demoCase,
        uetr,
        record: records[i],
        delivery: deliveries.get(uetr) ?? null,
      })),
      stop: () => cleanup.run(),
    };
  } catch (err) {
    await cleanup.run();
    throw err;
  }
}
