import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { SettlementGatewayService } from '../src/gen/caravan/settlement/v1/gateway';
import { startRedisCluster, type TestRedisCluster } from '../test/support/redis-cluster';
import { startRedisProcess, type RedisProcess } from '../test/support/redis-process';
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
  submitMetadata,
} from './intake-bench';
import {
  closedLoop,
  processCpuProbe,
  type CpuProbe,
  type RunResult,
  type UnaryTarget,
} from './load-generator';
import {
  freePort,
  startBenchGateway,
  startEchoServer,
  waitUntilServing,
  type ChildServer,
} from './processes';
import { fixed, type Cell, type Column, type SectionReport } from './report';
import type { BenchContext, Section } from './section';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';
const SUBMIT_PATH = SettlementGatewayService.submitInstruction.path;

type Store = 'standalone' | 'cluster';

interface Configuration {
  name: string;
  gateways: 1 | 2;
  store: Store;
  tracing: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  { name: '1 gateway', gateways: 1, store: 'standalone', tracing: false },
  { name: '1 gateway + tracing 100%', gateways: 1, store: 'standalone', tracing: true },
  { name: '2 gateways', gateways: 2, store: 'standalone', tracing: false },
  { name: '1 gateway + cluster', gateways: 1, store: 'cluster', tracing: false },
  { name: '2 gateways + cluster', gateways: 2, store: 'cluster', tracing: false },
];

const COLUMNS: Column[] = [
  { title: 'configuration', align: 'left' },
  { title: 'req/s' },
  { title: '× echo' },
  { title: 'p50 ms' },
  { title: 'p99 ms' },
  { title: 'gateway CPU ms/call' },
  { title: 'errors', align: 'left' },
  { title: 'cpu gen/gateways/redis', align: 'left' },
  { title: 'loadavg' },
];

/** An OTLP/HTTP endpoint that accepts every export and discards it. */
async function startSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the OTLP sink has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The CPU of several processes as one probe: the gateways together, or a cluster's nodes. */
function summedCpu(label: string, pids: number[]): CpuProbe {
  const probes = pids.map((pid) => processCpuProbe(label, pid));
  return {
    label,
    read: async () => {
      let total = 0;
      for (const p of probes) total += await Promise.resolve(p.read());
      return total;
    },
  };
}

/**
 * The README's capacity table: SubmitInstruction in a closed loop against one gateway process and
 * two, tracing off and exported at 100%, on one Redis and on a 3-master Redis Cluster, each beside
 * the bare grpc-js echo server driven the same way. Everything runs on this machine: with 2 cores
 * the generator, the gateways and Redis share them, which caps what a second gateway can add.
 */
async function runCapacity(report: SectionReport, { root, cleanup }: BenchContext): Promise<void> {
  const seconds = positive('BENCH_SECONDS', 10, false);
  const warmupSeconds = positive('BENCH_WARMUP_SECONDS', 2, false);
  const concurrency = positive('BENCH_CONCURRENCY', 64);
  const deadlineMs = positive('BENCH_DEADLINE_MS', 10_000);
  const rounds = positive('BENCH_ROUNDS', 2);
  const only = (process.env.BENCH_CAPACITY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const configurations =
    only.length === 0 ? CONFIGURATIONS : CONFIGURATIONS.filter((c) => only.includes(c.name));
  if (configurations.length === 0) {
    throw new Error(
      `BENCH_CAPACITY: none of ${only.join(', ')}; known: ${CONFIGURATIONS.map((c) => c.name).join(', ')}`,
    );
  }
  const prefix = `bench-capacity-${randomBytes(4).toString('hex')}`;
  report.note(
    `closed loop c=${concurrency}, ${warmupSeconds} s warm-up + ${seconds} s measured per configuration; lists empty ` +
      '(screening has its own section); Redis: a private redis-server with AOF everysec, or a private 3-master ' +
      'cluster (no replicas, AOF everysec); two gateways get the calls in turn, one channel each. ' +
      'Generator, gateways and Redis share the 2 cores: a second gateway process competes with the first for CPU.',
  );

  const gateways: ChildServer[] = [];
  let standalone: RedisProcess | null = null;
  let cluster: TestRedisCluster | null = null;
  const clients: (Redis | Cluster)[] = [];
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  const release = cleanup.add('capacity: stop gateways, echo, Redis and the OTLP sink', async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    for (const c of clients) c.disconnect();
    await standalone?.stop();
    await cluster?.stop();
    await sink?.close();
    console.log(`  cleanup: ${gateways.length} server process(es), private Redis and cluster stopped`);
  });

  try {
    standalone = await startRedisProcess(['--appendonly', 'yes', '--appendfsync', 'everysec'], {
      parentDir: join(root, '.bench', 'redis'),
    });
    const standaloneClient = new Redis(standalone.url, { maxRetriesPerRequest: 1 });
    clients.push(standaloneClient);
    await putCatchAllRoute(standaloneClient, prefix, '127.0.0.1:1');
    if (configurations.some((c) => c.store === 'cluster')) {
      cluster = await startRedisCluster(3, 0);
      const clusterClient = new Cluster(
        cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { redisOptions: { maxRetriesPerRequest: 1 } },
      );
      clients.push(clusterClient);
      await putCatchAllRoute(clusterClient, prefix, '127.0.0.1:1');
    }
    sink = configurations.some((c) => c.tracing) ? await startSink() : null;

    const startGateway = async (config: Configuration, index: number): Promise<ChildServer> => {
      const port = await freePort();
      const redisUrl = config.store === 'cluster' ? cluster!.url : standalone!.url;
      const gateway = startBenchGateway(root, `gateway ${index + 1} (${config.name})`, {
        port,
        redisUrl,
        prefix,
        env: {
          OTEL_TRACES_SAMPLER: undefined,
          OTEL_TRACES_EXPORTER: undefined,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_ENDPOINT: config.tracing && sink !== null ? sink.url : undefined,
        },
      });
      gateways.push(gateway);
      await waitUntilServing(gateway, SERVICE);
      return gateway;
    };

    // The echo server answers with the bytes of a real acceptance, so both sides move the same sizes.
    const probeGateway = await startGateway(configurations[0], 0);
    const sampleResponse = await probeSubmit(probeGateway.address);
    if (!isFreshAcceptance(sampleResponse)) {
      throw new Error(
        `the gateway did not freshly accept a valid instruction: ${describeResponse(sampleResponse)}`,
      );
    }
    await probeGateway.stop();
    const echoPort = await freePort();
    const echo = startEchoServer(root, echoPort, SERVICE, sampleResponse);
    gateways.push(echo);
    await waitUntilServing(echo, SERVICE);

    const runSeconds = warmupSeconds + seconds;
    const run = async (name: string, servers: ChildServer[], pool: InstructionPool, redisPids: number[]) => {
      const target: UnaryTarget = {
        name,
        address: servers.map((s) => s.address).join(','),
        path: SUBMIT_PATH,
        metadata: submitMetadata(),
        nextRequest: () => pool.next(),
        checkResponse: isFreshAcceptance,
        deadlineMs,
      };
      const probes = [
        summedCpu(
          'server',
          servers.map((s) => s.pid),
        ),
      ];
      if (redisPids.length > 0) probes.push(summedCpu('redis', redisPids));
      const result = await closedLoop(target, {
        concurrency,
        warmupMs: warmupSeconds * 1000,
        durationMs: seconds * 1000,
        cpuProbes: probes,
      });
      for (const s of servers) assertAlive(s);
      return result;
    };

    const rows: { name: string; round: number; result: RunResult; echo: RunResult }[] = [];
    // Rounds in alternating order, so that noise from elsewhere on the machine and warm-up do not
    // fall on one configuration only.
    const schedule = Array.from({ length: rounds }, (_, r) =>
      (r % 2 === 0 ? configurations : [...configurations].reverse()).map((config) => ({
        config,
        round: r + 1,
      })),
    ).flat();
    for (const { config, round } of schedule) {
      // Echo right before each configuration: machine noise falls on both sides of every ratio.
      const echoPool = new InstructionPool({ wrap: true, limit: 20_000 });
      echoPool.reserve(20_000);
      const echoResult = await run('echo', [echo], echoPool, []);

      const started: ChildServer[] = [];
      for (let i = 0; i < config.gateways; i++) started.push(await startGateway(config, i));
      const pool = new InstructionPool({ wrap: false, limit: 2_000_000 });
      pool.reserve(Math.ceil(Math.max(echoResult.throughput, 1000) * runSeconds) + concurrency);
      const redisPids =
        config.store === 'cluster' ? cluster!.nodes.map((n) => n.child.pid ?? 0) : [standalone.pid()];
      const result = await run(config.name, started, pool, redisPids);
      await Promise.all(started.map((g) => g.stop()));
      rows.push({ name: config.name, round, result, echo: echoResult });
      report.set(
        'runs',
        json(rows.map((r) => ({ configuration: r.name, round: r.round, gateway: r.result, echo: r.echo }))),
      );
      report.note(
        `round ${round}, ${config.name}: ${fixed(result.throughput, 0)} req/s (echo ${fixed(echoResult.throughput, 0)}), ` +
          `p50 ${fixed(result.latencyMs.p50, 2)} ms, p99 ${fixed(result.latencyMs.p99, 2)} ms, errors ${errorText(result.errors)}`,
      );
    }

    const ratioOf = (r: { result: RunResult; echo: RunResult }) =>
      r.echo.throughput > 0 ? r.result.throughput / r.echo.throughput : NaN;
    const cpuPerCall = (r: { result: RunResult }) =>
      r.result.throughput > 0 ? ((r.result.cpu.server ?? NaN) * 1000) / r.result.throughput : NaN;
    report.table(
      `SubmitInstruction capacity, closed loop c=${concurrency}, every run (each beside an echo run just before it)`,
      [{ title: 'round' }, ...COLUMNS],
      rows.map((r): Cell[] => [
        r.round,
        r.name,
        fixed(r.result.throughput, 0),
        `${ratioOf(r).toFixed(2)}×`,
        fixed(r.result.latencyMs.p50, 2),
        fixed(r.result.latencyMs.p99, 2),
        fixed(cpuPerCall(r), 3),
        errorText(r.result.errors),
        cpuText(r.result.cpu),
        fixed(r.result.loadAverage, 1),
      ]),
    );
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    report.table(
      `Median over ${rounds} round(s)`,
      [
        { title: 'configuration', align: 'left' },
        { title: 'req/s' },
        { title: '× echo' },
        { title: 'p99 ms' },
        { title: 'gateway CPU ms/call' },
      ],
      configurations.map((config): Cell[] => {
        const mine = rows.filter((r) => r.name === config.name);
        return [
          config.name,
          fixed(median(mine.map((r) => r.result.throughput)), 0),
          `${median(mine.map(ratioOf)).toFixed(2)}×`,
          fixed(median(mine.map((r) => r.result.latencyMs.p99)), 1),
          fixed(median(mine.map(cpuPerCall)), 3),
        ];
      }),
    );
    report.note(
      '× echo: throughput over the bare grpc-js echo server of the same message sizes, run just before. ' +
        'gateway CPU ms/call: CPU seconds of all gateway processes per successful call, the steadier figure.',
    );
    const errors = rows.reduce((n, r) => n + r.result.errorCount, 0);
    if (errors > 0) report.fail(`${errors} call(s) failed: see the errors column`);
  } finally {
    await release();
  }
}

export const capacitySection: Section = {
  name: 'capacity',
  description:
    'Capacity: one gateway vs two, tracing off vs exported, Redis standalone vs cluster, each against the echo baseline',
  run: runCapacity,
};
