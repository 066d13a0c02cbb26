import { Metadata, credentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { loadConfig, type Config } from '../../src/config/config';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway';
import {
  SettlementGatewayClient,
  type Instruction,
  type SubmitInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/gateway';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { DEV_PARTICIPANT_HEADER } from '../../src/grpc/caller-identity';
import { parseListFiles } from '../../src/compliance/importers';
import type { ScreenInstruction } from '../../src/settlement/screening-seam';
import { createLogger } from '../../src/telemetry/logger';
import { startTracing } from '../../src/telemetry/tracing';
import type { RouteRule } from '../../src/routing/route-rule';
import { createKeySpace } from '../../src/store/keys';
import { createRedisClient, waitUntilReady } from '../../src/store/redis-client';
import { createRouteStore } from '../../src/store/route-store';
import { TEST_REDIS_URL } from './redis';

export interface TestGateway {
  gateway: Gateway;
  address: string;
  config: Config;
}

/** A rule taking every instruction, to a counterparty that is never called while the dispatcher is off. */
export function catchAllRoute(address = '127.0.0.1:1', id = 'catch-all'): RouteRule {
  return {
    id,
    match: { creditorAgent: '', currency: '', minAmount: '', maxAmount: '' },
    priority: 1000,
    counterparties: [
      {
        name: 'test-counterparty',
        address,
        transport: 'plaintext',
        serverName: '',
        caPem: '',
        deadlineMs: 0,
      },
    ],
    updatedBy: 'test',
    updatedAtMs: 0,
  };
}

/** Stores route rules under a prefix directly, as an operator's PutRoute would (REDIS_URL may name a Cluster). */
export async function putRoutes(
  prefix: string,
  rules: readonly RouteRule[],
  redisUrl: string = TEST_REDIS_URL,
): Promise<void> {
  const redis = createRedisClient(redisUrl, { commandTimeoutMs: 10_000 });
  try {
    await waitUntilReady(redis, redisUrl, 10_000);
    const store = createRouteStore(redis, createKeySpace(prefix, 16));
    for (const rule of rules) await store.put(rule);
  } finally {
    redis.disconnect();
  }
}

/**
 * A real gateway on a free loopback port, in this process, with its own Redis key prefix. Unless
 * told otherwise it runs without its dispatcher and with one catch-all route, so intake specs see
 * instructions stay ACCEPTED; delivery specs pass routes and CARAVAN_DISPATCHER=on.
 */
export async function startTestGateway(
  prefix: string,
  options: {
    env?: Record<string, string>;
    screen?: ScreenInstruction;
    routes?: readonly RouteRule[];
    auditSweep?: GatewayOptions['auditSweep'];
  } = {},
): Promise<TestGateway> {
  startTracing();
  const redisUrl = options.env?.REDIS_URL ?? TEST_REDIS_URL;
  await putRoutes(prefix, options.routes ?? [catchAllRoute()], redisUrl);
  const config = loadConfig({
    CARAVAN_LISTEN: '127.0.0.1:0',
    REDIS_URL: redisUrl,
    CARAVAN_REDIS_PREFIX: prefix,
    CARAVAN_DEV_INSECURE: 'true',
    CARAVAN_LOG_LEVEL: 'silent',
    CARAVAN_WATCH_POLL_MS: '500',
    CARAVAN_DISPATCHER: 'off',
    ...options.env,
  });
  const log = createLogger(config.logLevel);
  const gateway = await startGateway({
    config,
    log,
    parseList: parseListFiles,
    ...(options.screen ? { screen: options.screen } : {}),
    ...(options.auditSweep ? { auditSweep: options.auditSweep } : {}),
  });
  return { gateway, address: `127.0.0.1:${gateway.port}`, config };
}

export function devClient(
  address: string,
  creds: ChannelCredentials = credentials.createInsecure(),
): SettlementGatewayClient {
  return new SettlementGatewayClient(address, creds);
}

export function asParticipant(bic: string): Metadata {
  const metadata = new Metadata();
  metadata.set(DEV_PARTICIPANT_HEADER, bic);
  return metadata;
}

export function submit(
  client: SettlementGatewayClient,
  instruction: SettlementInstruction | undefined,
  metadata: Metadata,
  deadlineMs = 10_000,
): Promise<SubmitInstructionResponse> {
  return new Promise((resolve, reject) =>
    client.submitInstruction({ instruction }, metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

export function getInstruction(
  client: SettlementGatewayClient,
  uetr: string,
  metadata: Metadata,
): Promise<Instruction> {
  return new Promise((resolve, reject) =>
    client.getInstruction({ uetr }, metadata, { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** Awaits a promise that must fail with a gRPC error, and returns the error. */
export async function grpcError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number')
      return err as ServiceError;
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
