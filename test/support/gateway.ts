import { Metadata, credentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { loadConfig, type Config } from '../../src/config/config';
import { startGateway, type Gateway } from '../../src/gateway';
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
import { TEST_REDIS_URL } from './redis';

export interface TestGateway {
  gateway: Gateway;
  address: string;
  config: Config;
}

/** A real gateway on a free loopback port, in this process, with its own Redis key prefix. */
export async function startTestGateway(
  prefix: string,
  options: { env?: Record<string, string>; screen?: ScreenInstruction } = {},
): Promise<TestGateway> {
  startTracing();
  const config = loadConfig({
    CARAVAN_LISTEN: '127.0.0.1:0',
    REDIS_URL: TEST_REDIS_URL,
    CARAVAN_REDIS_PREFIX: prefix,
    CARAVAN_DEV_INSECURE: 'true',
    CARAVAN_LOG_LEVEL: 'silent',
    CARAVAN_WATCH_POLL_MS: '500',
    ...options.env,
  });
  const log = createLogger(config.logLevel);
  const gateway = await startGateway({
    config,
    log,
    parseList: parseListFiles,
    ...(options.screen ? { screen: options.screen } : {}),
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
