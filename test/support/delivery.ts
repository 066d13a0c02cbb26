import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { credentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { OperationsClient } from '../../src/gen/caravan/operations/v1/operations';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import type { Instruction } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { loadReceiverConfig, startReceiver, type RunningReceiver } from '../../src/receiver';
import type { Counterparty, RouteRule } from '../../src/routing/route-rule';
import { createLogger } from '../../src/telemetry/logger';
import { getInstruction } from './gateway';
import { TEST_REDIS_URL } from './redis';

/**
 * The lowest port the kernel hands out to servers that bind port 0 (Linux's default when it
 * cannot be read).
 */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether something holds this loopback port (it cannot be listened on). */
function portTaken(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/**
 * A loopback port nothing listens on: a counterparty that is down. Chosen below the ports the
 * kernel gives servers that bind port 0, so that no server a test starts afterwards can take it
 * (it did once: the "dead" counterparty answered as the gateway, UNIMPLEMENTED).
 */
export async function closedPort(): Promise<number> {
  const below = ephemeralPortsFrom();
  const from = Math.max(1024, below - 10_000);
  for (let tries = 0; tries < 100 && from < below; tries++) {
    const port = from + Math.floor(Math.random() * (below - from));
    if (!(await portTaken(port))) return port;
  }
  throw new Error(`no free port between ${from} and ${below}`);
}

export interface TestReceiver {
  name: string;
  address: string;
  running: RunningReceiver;
}

/** A reference receiver in this process on a free port, plaintext, keyed under `prefix`. */
export async function startTestReceiver(
  prefix: string,
  name: string,
  behaviour: {
    rejectShare?: number;
    failShare?: number;
    delayMs?: number;
    hangShare?: number;
    listen?: string;
    /** Another Redis than the tests' (e.g. a redis+cluster:// URL). */
    redisUrl?: string;
  } = {},
): Promise<TestReceiver> {
  const config = loadReceiverConfig(
    {
      listen: behaviour.listen ?? '127.0.0.1:0',
      name,
      redisUrl: behaviour.redisUrl ?? TEST_REDIS_URL,
      prefix,
      ...(behaviour.rejectShare !== undefined ? { rejectShare: behaviour.rejectShare } : {}),
      ...(behaviour.failShare !== undefined ? { failShare: behaviour.failShare } : {}),
      ...(behaviour.delayMs !== undefined ? { delayMs: behaviour.delayMs } : {}),
      ...(behaviour.hangShare !== undefined ? { hangShare: behaviour.hangShare } : {}),
    },
    { CARAVAN_DEV_INSECURE: 'true', CARAVAN_LOG_LEVEL: 'silent' },
  );
  const running = await startReceiver({ config, log: createLogger('silent') });
  return { name, address: `127.0.0.1:${running.port}`, running };
}

export function counterparty(name: string, address: string, deadlineMs = 0): Counterparty {
  return { name, address, transport: 'plaintext', serverName: '', caPem: '', deadlineMs };
}

export function route(
  id: string,
  counterparties: Counterparty[],
  match: Partial<RouteRule['match']> = {},
): RouteRule {
  return {
    id,
    match: { creditorAgent: '', currency: '', minAmount: '', maxAmount: '', ...match },
    priority: 10,
    counterparties,
    updatedBy: 'test',
    updatedAtMs: 0,
  };
}

export function operationsClient(address: string): OperationsClient {
  return new OperationsClient(address, credentials.createInsecure());
}

type OperationsMethod = 'listRoutes' | 'putRoute' | 'removeRoute' | 'listInstructions' | 'replayInstruction';
type OperationsResponse<M extends OperationsMethod> = Parameters<Parameters<OperationsClient[M]>[3]>[1];

/** A unary Operations call as a promise. */
export function ops<M extends OperationsMethod>(
  client: OperationsClient,
  method: M,
  request: Parameters<OperationsClient[M]>[0],
  metadata: Metadata,
): Promise<OperationsResponse<M>> {
  const call = client[method] as (...args: unknown[]) => unknown;
  return new Promise((resolve, reject) => {
    call.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, res: OperationsResponse<M>) => (err ? reject(err) : resolve(res)),
    );
  });
}

/** Polls the instruction until it reaches `state`, failing with its last record after `timeoutMs`. */
export async function waitForState(
  client: SettlementGatewayClient,
  uetr: string,
  metadata: Metadata,
  state: InstructionState,
  timeoutMs = 15_000,
): Promise<Instruction> {
  const until = Date.now() + timeoutMs;
  let last: Instruction | undefined;
  while (Date.now() < until) {
    last = await getInstruction(client, uetr, metadata);
    if (last.state === state) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `instruction ${uetr} did not reach ${InstructionState[state]}; last: ${JSON.stringify(last)}`,
  );
}
