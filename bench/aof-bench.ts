import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { SettlementGatewayService } from '../src/gen/caravan/settlement/v1/gateway';
import { canonicalBodyHash } from '../src/settlement/canonical-body';
import { createInstructionStore } from '../src/store/instruction-store';
import { createKeySpace } from '../src/store/keys';
import { REPLICA_WAIT_CONNECTIONS, createReplicaConfirmation } from '../src/store/replica-confirmation';
import { validInstruction } from '../test/support/instructions';
import { startRedisProcess, waitForReplicaSync, type RedisProcess } from '../test/support/redis-process';
import { putCatchAllRoute } from './bench-routes';
import {
  InstructionPool,
  assertAlive,
  cpuText,
  describeResponse,
  errorText,
  isFreshAcceptance,
  json,
  positive,
  probeSubmit,
  redisCpuProbe,
  submitMetadata,
} from './intake-bench';
import { closedLoop, openLoop, processCpuProbe, type RunResult, type UnaryTarget } from './load-generator';
import { freePort, startBenchGateway, waitUntilServing, type ChildServer } from './processes';
import { fixed, type Cell, type Column, type SectionReport } from './report';
import type { BenchContext, Section } from './section';
import { LatencySamples, type LatencySummary } from './stats';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';
/** The gateway's default CARAVAN_REDIS_REPLICA_TIMEOUT_MS. */
const REPLICA_TIMEOUT_MS = 500;
const SUBMIT_PATH = SettlementGatewayService.submitInstruction.path;

const ALWAYS = ['--appendonly', 'yes', '--appendfsync', 'always'];

/**
 * The persistence settings compared, the first being the baseline of the ratios. The last adds a
 * replica (same settings) that the gateway waits for before it acknowledges (CARAVAN_REDIS_MIN_REPLICAS).
 */
const MODES: readonly { name: string; args: readonly string[]; replica: boolean }[] = [
  { name: 'no AOF', args: ['--appendonly', 'no'], replica: false },
  { name: 'AOF everysec', args: ['--appendonly', 'yes', '--appendfsync', 'everysec'], replica: false },
  { name: 'AOF always', args: ALWAYS, replica: false },
  { name: 'AOF always + replica', args: ALWAYS, replica: true },
];

interface Setup {
  mode: (typeof MODES)[number];
  /** The replica's connection, with the replica, when the gateway waits for one. */
  replica: Redis | null;
  redis: RedisProcess;
  client: Redis;
  gateway: ChildServer;
  pool: InstructionPool;
}

/**
 * The record step alone, straight to Redis from this process: the same Lua script intake runs,
 * with fresh UETRs, `concurrency` calls in flight. Without the gateway in front it shows what the
 * fsync costs Redis itself, which the end-to-end rows hide while the gateway is the bottleneck.
 */
async function recordLoop(
  client: Redis,
  prefix: string,
  options: { concurrency: number; warmupMs: number; durationMs: number; waitFor: Redis[] },
): Promise<{ throughput: number; latency: LatencySummary; errors: number }> {
  const replication =
    options.waitFor.length > 0
      ? {
          confirmation: createReplicaConfirmation(options.waitFor, {
            replicas: 1,
            timeoutMs: REPLICA_TIMEOUT_MS,
          }),
          replicas: 1,
          timeoutMs: REPLICA_TIMEOUT_MS,
        }
      : undefined;
  const store = createInstructionStore(client, createKeySpace(prefix, 16), { replication });
  const template = validInstruction();
  const bodyHash = canonicalBodyHash(template);
  const samples = new LatencySamples();
  let errors = 0;
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const worker = async () => {
    while (performance.now() < windowEnd) {
      const uetr = randomUUID();
      const sent = performance.now();
      try {
        await store.record({
          uetr,
          instruction: { ...template, uetr },
          bodyHash,
          participant: 'HSBKKZKX',
          traceId: '',
          traceparent: '',
          nowMs: Date.now(),
          outcome: { state: 'ACCEPTED', reason: { code: '', description: '' } },
          screening: '',
        });
        const done = performance.now();
        if (sent >= windowStart && done <= windowEnd) samples.add(done - sent);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { throughput: samples.count / (options.durationMs / 1000), latency: samples.summary(), errors };
}

const RECORD_COLUMNS: Column[] = [
  { title: 'redis persistence', align: 'left' },
  { title: 'in flight', align: 'left' },
  { title: 'records/s' },
  { title: '× no AOF' },
  { title: 'p50 ms' },
  { title: 'p99 ms' },
  { title: 'p99 × no AOF' },
  { title: 'max ms' },
  { title: 'errors' },
];

const COLUMNS: Column[] = [
  { title: 'redis persistence', align: 'left' },
  { title: 'mode', align: 'left' },
  { title: 'offered', align: 'left' },
  { title: 'req/s' },
  { title: '× no AOF' },
  { title: 'p50 ms' },
  { title: 'p99 ms' },
  { title: 'p99 × no AOF' },
  { title: 'max ms' },
  { title: 'errors', align: 'left' },
  { title: 'cpu gen/srv/redis', align: 'left' },
  { title: 'aof delayed fsync' },
];

function ratio(value: number, base: number | undefined): string {
  return base === undefined || !(base > 0) ? '-' : `${(value / base).toFixed(2)}×`;
}

/**
 * The cost of the AOF under intake: one gateway per persistence setting, each with a private
 * redis-server of its own whose data directory is on the repository's disk (.bench/, not a
 * possibly RAM-backed /tmp), driven by the same generator with the same closed loop and then the
 * same open-loop rate, so the three rows differ only in what Redis does before it answers.
 */
async function runAof(report: SectionReport, { root, cleanup }: BenchContext): Promise<void> {
  const seconds = positive('BENCH_SECONDS', 10, false);
  const warmupSeconds = positive('BENCH_WARMUP_SECONDS', 2, false);
  const concurrency = positive('BENCH_CONCURRENCY', 64);
  const fixedRate = process.env.BENCH_RATE ? positive('BENCH_RATE', 1000, false) : null;
  const deadlineMs = positive('BENCH_DEADLINE_MS', 10_000);
  const prefix = `bench-aof-${randomBytes(4).toString('hex')}`;
  const dataDir = join(root, '.bench', 'redis');
  report.note(
    `closed loop c=${concurrency}, then an open loop at one rate for all of them; ${warmupSeconds} s warm-up + ` +
      `${seconds} s measured per run; private redis-servers under ${dataDir}; lists empty (the section measures Redis, not screening)`,
  );

  const setups: Setup[] = [];
  // Each resource is listed as soon as it exists, so the cleanup stops whatever was started.
  const servers: RedisProcess[] = [];
  const clients: Redis[] = [];
  const gateways: ChildServer[] = [];
  const release = cleanup.add('aof: stop gateways and private redis-servers', async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((r) => r.stop()));
    console.log(
      `  cleanup: ${gateways.length} gateway(s) and ${servers.length} redis-server(s) stopped, their directories removed`,
    );
  });

  try {
    for (const mode of MODES) {
      const redis = await startRedisProcess(mode.args, { parentDir: dataDir });
      servers.push(redis);
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      clients.push(client);
      let replica: Redis | null = null;
      if (mode.replica) {
        const follower = await startRedisProcess(
          [...mode.args, '--replicaof', '127.0.0.1', String(redis.port)],
          {
            parentDir: dataDir,
          },
        );
        servers.push(follower);
        replica = new Redis(follower.url, { maxRetriesPerRequest: 1 });
        clients.push(replica);
        await waitForReplicaSync(client, replica);
      }
      await putCatchAllRoute(client, prefix, '127.0.0.1:1');
      const port = await freePort();
      const gateway = startBenchGateway(root, `gateway (${mode.name})`, {
        port,
        redisUrl: redis.url,
        prefix,
        env: mode.replica ? { CARAVAN_REDIS_MIN_REPLICAS: '1' } : {},
      });
      gateways.push(gateway);
      await waitUntilServing(gateway, SERVICE);
      const sample = await probeSubmit(gateway.address);
      if (!isFreshAcceptance(sample)) {
        throw new Error(
          `${mode.name}: the gateway did not freshly accept a valid instruction: ${describeResponse(sample)}`,
        );
      }
      setups.push({
        mode,
        replica,
        redis,
        client,
        gateway,
        pool: new InstructionPool({ wrap: false, limit: 2_000_000 }),
      });
    }

    const target = (s: Setup): UnaryTarget => ({
      name: s.mode.name,
      address: s.gateway.address,
      path: SUBMIT_PATH,
      metadata: submitMetadata(),
      nextRequest: () => s.pool.next(),
      checkResponse: isFreshAcceptance,
      deadlineMs,
    });
    const probes = (s: Setup) => [processCpuProbe('server', s.gateway.pid), redisCpuProbe(s.client)];
    const delayedFsync = async (s: Setup) =>
      Number(/^aof_delayed_fsync:(\d+)/m.exec(await s.client.info('persistence'))?.[1] ?? NaN);
    const warmupMs = warmupSeconds * 1000;
    const durationMs = seconds * 1000;
    const rows: { setup: Setup; result: RunResult; delayed: number }[] = [];
    const record = async (setup: Setup, result: RunResult) => {
      assertAlive(setup.gateway);
      rows.push({ setup, result, delayed: await delayedFsync(setup) });
      report.set(
        'runs',
        json(rows.map((r) => ({ persistence: r.setup.mode.name, delayedFsync: r.delayed, ...r.result }))),
      );
      report.note(
        `${setup.mode.name} ${result.mode}: ${fixed(result.throughput, 0)} req/s, p50 ${fixed(result.latencyMs.p50, 2)} ms, ` +
          `p99 ${fixed(result.latencyMs.p99, 2)} ms, errors ${errorText(result.errors)}`,
      );
      return result;
    };

    // Requests for a run are encoded before it starts, so only bytes are sent while the clock runs.
    const runSeconds = warmupSeconds + seconds;
    const closed: RunResult[] = [];
    let ceiling = 20_000;
    for (const s of setups) {
      s.pool.reserve(Math.ceil(ceiling * runSeconds) + concurrency);
      const result = await record(
        s,
        await closedLoop(target(s), { concurrency, warmupMs, durationMs, cpuProbes: probes(s) }),
      );
      closed.push(result);
      // A slower persistence setting cannot outrun the baseline by much; 25% headroom for noise.
      ceiling = Math.max(closed[0].throughput * 1.25, 100);
    }
    // Half the slowest setting's capacity keeps every gateway clear of its queueing knee, so the
    // p99s compare latency rather than queues.
    const slowest = Math.min(...closed.map((r) => r.throughput));
    const rate = fixedRate ?? Math.max(10, Math.min(1000, Math.floor((slowest * 0.5) / 50) * 50));
    report.set('openLoopRate', rate);
    for (const s of setups) {
      s.pool.reserve(Math.ceil(rate * runSeconds) + 1);
      await record(
        s,
        await openLoop(target(s), { rate, warmupMs, durationMs, maxInFlight: 20_000, cpuProbes: probes(s) }),
      );
    }

    const base = (loop: 'closed' | 'open') =>
      rows.find((r) => r.result.mode === loop && r.setup === setups[0])?.result;
    report.table(
      'SubmitInstruction by Redis persistence setting (same generator, same load, one run)',
      COLUMNS,
      rows.map(({ setup, result, delayed }): Cell[] => [
        setup.mode.name,
        result.mode,
        result.mode === 'closed' ? `c=${concurrency}` : `${result.offeredRate}/s`,
        fixed(result.throughput, 0),
        ratio(result.throughput, base(result.mode)?.throughput),
        fixed(result.latencyMs.p50, 2),
        fixed(result.latencyMs.p99, 2),
        ratio(result.latencyMs.p99, base(result.mode)?.latencyMs.p99),
        fixed(result.latencyMs.max, 2),
        errorText(result.errors),
        cpuText(result.cpu),
        Number.isNaN(delayed) ? '-' : delayed,
      ]),
    );
    report.note(
      '× no AOF: throughput (closed loop) and p99 (open loop) relative to Redis without persistence. ' +
        'aof delayed fsync: times Redis had to wait for a slow fsync (INFO persistence).',
    );

    const direct: { name: string; throughput: number; latency: LatencySummary; errors: number }[] = [];
    for (const s of setups) {
      // WAIT goes on connections of its own, as many as the gateway gives it.
      const waitFor = s.replica
        ? Array.from(
            { length: REPLICA_WAIT_CONNECTIONS },
            () => new Redis(s.redis.url, { maxRetriesPerRequest: 1 }),
          )
        : [];
      clients.push(...waitFor);
      const result = await recordLoop(s.client, `${prefix}-direct`, {
        concurrency,
        warmupMs,
        durationMs,
        waitFor,
      });
      direct.push({ name: s.mode.name, ...result });
      report.set('recordScriptAlone', json(direct));
    }
    report.table(
      `The record script alone, straight to Redis (c=${concurrency}, no gateway)`,
      RECORD_COLUMNS,
      direct.map((d): Cell[] => [
        d.name,
        `c=${concurrency}`,
        fixed(d.throughput, 0),
        ratio(d.throughput, direct[0]?.throughput),
        fixed(d.latency.p50, 2),
        fixed(d.latency.p99, 2),
        ratio(d.latency.p99, direct[0]?.latency.p99),
        fixed(d.latency.max, 2),
        d.errors,
      ]),
    );
    const errors =
      rows.reduce((n, r) => n + r.result.errorCount, 0) + direct.reduce((n, d) => n + d.errors, 0);
    if (errors > 0) report.fail(`${errors} call(s) failed: see the errors column`);
  } finally {
    await release();
  }
}

export const aofSection: Section = {
  name: 'aof',
  description:
    'SubmitInstruction throughput and latency with Redis persistence off, AOF everysec, AOF always, and AOF always with a replica the gateway waits for',
  run: runAof,
};
