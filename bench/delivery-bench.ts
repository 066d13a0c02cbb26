import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { SettlementGatewayClient } from '../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../src/gen/caravan/settlement/v1/status';
import { DEV_PARTICIPANT_HEADER } from '../src/grpc/caller-identity';
import { createKeySpace } from '../src/store/keys';
import { validInstruction } from '../test/support/instructions';
import { putCatchAllRoute } from './bench-routes';
import { deleteKeys } from './intake-bench';
import { freePort, startChild, waitUntilServing, type ChildServer } from './processes';
import { fixed, type SectionReport } from './report';
import type { BenchContext, Section } from './section';
import { LatencySamples, type LatencySummary } from './stats';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';
const RECEIVER_SERVICE = 'caravan.settlement.v1.SettlementReceiver';
const BANK = 'BENCHBANK';
const SETTLE_TIMEOUT_MS = 120_000;

interface Sent {
  uetr: string;
  sentAtMs: number;
  ackMs: number;
}

interface DeliveryRun {
  mode: string;
  sent: Sent[];
  errors: number;
  windowMs: number;
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: must be a positive number`);
  return value;
}

function submitOne(
  client: SettlementGatewayClient,
  metadata: Metadata,
  sent: Sent[],
  onError: () => void,
): Promise<void> {
  const instruction = validInstruction();
  const sentAtMs = Date.now();
  return new Promise((resolve) =>
    client.submitInstruction({ instruction }, metadata, { deadline: sentAtMs + 10_000 }, (err, res) => {
      if (err || res.state !== InstructionState.INSTRUCTION_STATE_ACCEPTED) onError();
      else sent.push({ uetr: instruction.uetr, sentAtMs, ackMs: Date.now() - sentAtMs });
      resolve();
    }),
  );
}

async function closedLoop(
  client: SettlementGatewayClient,
  metadata: Metadata,
  concurrency: number,
  ms: number,
): Promise<DeliveryRun> {
  const sent: Sent[] = [];
  let errors = 0;
  const until = Date.now() + ms;
  const worker = async () => {
    while (Date.now() < until) {
      await submitOne(client, metadata, sent, () => errors++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { mode: `closed loop c=${concurrency}`, sent, errors, windowMs: ms };
}

async function openLoop(
  client: SettlementGatewayClient,
  metadata: Metadata,
  rate: number,
  ms: number,
): Promise<DeliveryRun> {
  const sent: Sent[] = [];
  let errors = 0;
  const start = Date.now();
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  while (Date.now() - start < ms) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    for (; issued < due; issued++) {
      const call = submitOne(client, metadata, sent, () => errors++).finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inFlight);
  return { mode: `open loop ${rate} req/s`, sent, errors, windowMs: ms };
}

/** Waits until every acknowledged instruction is settled, then reads when each was delivered. */
async function settle(
  redis: Redis,
  prefix: string,
  run: DeliveryRun,
): Promise<{
  delivered: number;
  other: Record<string, number>;
  e2e: LatencySummary;
  ack: LatencySummary;
  lastMs: number;
}> {
  const keys = createKeySpace(prefix, 16);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let replies: [Error | null, unknown][] = [];
  for (;;) {
    const pipeline = redis.pipeline();
    for (const s of run.sent) pipeline.hmget(keys.instruction(s.uetr).record, 'state', 'updated_at');
    replies = (await pipeline.exec()) ?? [];
    const open = replies.filter(([, v]) => (v as (string | null)[])[0] === 'ACCEPTED').length;
    if (open === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const e2e = new LatencySamples(run.sent.length);
  const ack = new LatencySamples(run.sent.length);
  const other: Record<string, number> = {};
  let delivered = 0;
  let lastMs = 0;
  run.sent.forEach((s, i) => {
    const [state, updatedAt] = replies[i][1] as (string | null)[];
    ack.add(s.ackMs);
    if (state === 'DELIVERED') {
      delivered++;
      e2e.add(Number(updatedAt) - s.sentAtMs);
      lastMs = Math.max(lastMs, Number(updatedAt));
    } else {
      other[String(state)] = (other[String(state)] ?? 0) + 1;
    }
  });
  return { delivered, other, e2e: e2e.summary(), ack: ack.summary(), lastMs };
}

async function runDelivery(report: SectionReport, { root, cleanup }: BenchContext): Promise<void> {
  const seconds = numberFromEnv('BENCH_SECONDS', 10);
  const concurrency = numberFromEnv('BENCH_CONCURRENCY', 64);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-delivery-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(redisUrl);
  const servers: ChildServer[] = [];
  const release = cleanup.add('delivery servers and keys', async () => {
    await Promise.all(servers.map((s) => s.stop()));
    const deleted = await deleteKeys(redis, prefix);
    console.log(`  cleanup: servers stopped; ${deleted} Redis keys under ${prefix}:* deleted`);
    redis.disconnect();
  });
  const devEnv = {
    ...process.env,
    CARAVAN_DEV_INSECURE: 'true',
    // The bench measures the gateway, not one participant's allowance.
    CARAVAN_RATE_LIMIT: '0',
    CARAVAN_REDIS_PREFIX: prefix,
    CARAVAN_LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    CARAVAN_TLS_CERT: undefined,
    CARAVAN_TLS_KEY: undefined,
    CARAVAN_TLS_CA: undefined,
  };
  try {
    const receiverPort = await freePort();
    const receiver = startChild(
      'receiver',
      process.execPath,
      [join(root, 'bin', 'caravan'), 'receiver', '--name', BANK],
      {
        cwd: root,
        address: `127.0.0.1:${receiverPort}`,
        env: { ...devEnv, CARAVAN_RECEIVER_LISTEN: `127.0.0.1:${receiverPort}` },
      },
    );
    servers.push(receiver);
    await waitUntilServing(receiver, RECEIVER_SERVICE);
    await putCatchAllRoute(redis, prefix, receiver.address);
    const gatewayPort = await freePort();
    const gateway = startChild('gateway', process.execPath, [join(root, 'bin', 'caravan'), 'serve'], {
      cwd: root,
      address: `127.0.0.1:${gatewayPort}`,
      env: { ...devEnv, CARAVAN_LISTEN: `127.0.0.1:${gatewayPort}`, CARAVAN_DISPATCHER: 'on' },
    });
    servers.push(gateway);
    await waitUntilServing(gateway, SERVICE);
    report.note(
      'one gateway process with its in-process dispatcher, one reference receiver process, empty lists; ' +
        'end-to-end = from the client sending SubmitInstruction to the DELIVERED state change',
    );

    const client = new SettlementGatewayClient(gateway.address, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set(DEV_PARTICIPANT_HEADER, 'HSBKKZKX');
    await closedLoop(client, metadata, 8, 1_000);

    const rows: (string | number | null)[][] = [];
    const results: Record<string, unknown>[] = [];
    const measure = async (run: DeliveryRun) => {
      const settled = await settle(redis, prefix, run);
      const firstSent = Math.min(...run.sent.map((s) => s.sentAtMs));
      const throughput = settled.delivered / ((settled.lastMs - firstSent) / 1000);
      rows.push([
        run.mode,
        run.sent.length,
        settled.delivered,
        fixed(throughput, 0),
        fixed(settled.ack.p50, 1),
        fixed(settled.ack.p99, 1),
        fixed(settled.e2e.p50, 1),
        fixed(settled.e2e.p99, 1),
        run.errors + Object.values(settled.other).reduce((a, b) => a + b, 0),
      ]);
      results.push({ mode: run.mode, acknowledged: run.sent.length, ...settled, throughput });
      return throughput;
    };
    const closedThroughput = await measure(await closedLoop(client, metadata, concurrency, seconds * 1000));
    const rate = numberFromEnv(
      'BENCH_DELIVERY_RATE',
      Math.max(10, Math.floor((closedThroughput * 0.5) / 50) * 50),
    );
    await measure(await openLoop(client, metadata, rate, seconds * 1000));
    client.close();

    report.table(
      'submit → DELIVERED, through the dispatcher and a reference receiver',
      [
        { title: 'load' },
        { title: 'acked', align: 'right' },
        { title: 'delivered', align: 'right' },
        { title: 'delivered/s', align: 'right' },
        { title: 'ack p50 ms', align: 'right' },
        { title: 'ack p99 ms', align: 'right' },
        { title: 'e2e p50 ms', align: 'right' },
        { title: 'e2e p99 ms', align: 'right' },
        { title: 'errors/undelivered', align: 'right' },
      ],
      rows,
    );
    report.note(
      'delivered/s: deliveries ÷ (last DELIVERED − first send); the open-loop rate is half the closed-loop figure unless BENCH_DELIVERY_RATE is set.',
    );
    report.set('runs', JSON.parse(JSON.stringify(results)) as never);
    const failures = rows.reduce((n, r) => n + Number(r[8]), 0);
    if (failures > 0)
      report.fail(`${failures} instruction(s) failed or were not delivered within ${SETTLE_TIMEOUT_MS} ms`);
  } finally {
    await release();
  }
}

export const deliverySection: Section = {
  name: 'delivery',
  description: 'End-to-end throughput and latency: SubmitInstruction → dispatcher → receiver → DELIVERED',
  run: runDelivery,
};
