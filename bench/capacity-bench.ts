import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { SettlementGatewayService } from '../src/gen/caravan/settlement/v1/gateway';
import { startRedisCluster, type TestRedisCluster } from '../test/support/redis-cluster';
import { startRedisProcess, type RedisProcess } from '../test/support/redis-process';
import { loadBenchLists } from './bench-lists';
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
import { median } from './stats';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';
const SUBMIT_PATH = SettlementGatewayService.submitInstruction.path;
const ECHO = 'bare grpc-js echo';

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
  { title: 'cpu each gw | redis node', align: 'left' },
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

/** Each process's share of a core ('gw1', 'gw2', 'r1'…), to show how evenly the calls spread. */
function spreadText(cpu: Record<string, number>): string {
  const part = (prefix: string) =>
    Object.entries(cpu)
      .filter(([label]) => label.startsWith(prefix))
      .map(([, share]) => `${Math.round(share * 100)}%`)
      .join('+');
  const gateways = part('gateway#');
  const nodes = part('redis#');
  return nodes === '' ? gateways || '-' : `${gateways || '-'} | ${nodes}`;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

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
  const withLists = process.env.BENCH_LISTS !== 'off';
  const only = (process.env.BENCH_CAPACITY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = only.filter((name) => !CONFIGURATIONS.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_CAPACITY: unknown configuration(s) ${unknown.join(', ')}; known: ${CONFIGURATIONS.map((c) => c.name).join(', ')} ` +
        '(the echo baseline always runs)',
    );
  }
  const configurations =
    only.length === 0 ? CONFIGURATIONS : CONFIGURATIONS.filter((c) => only.includes(c.name));
  const prefix = `bench-capacity-${randomBytes(4).toString('hex')}`;
  report.set('config', { seconds, warmupSeconds, concurrency, rounds, lists: withLists, prefix });
  report.note(
    `closed loop c=${concurrency}, ${warmupSeconds} s warm-up + ${seconds} s measured per run, ${rounds} round(s) in ` +
      'alternating order, an echo run right before every configuration run; the same instruction mix everywhere ' +
      `(valid KZ → RU instructions, fresh UETRs), screening on with ${withLists ? 'the real lists loaded as in intake (BENCH_LISTS=off: empty lists)' : 'empty lists (BENCH_LISTS=off)'} ` +
      'in every configuration. Redis: a private redis-server, or a private 3-master cluster (no replicas), both AOF ' +
      'everysec; two gateways get the calls in turn, one channel each. The machine has 2 cores: the generator, ' +
      'the gateways and Redis share them, so a second gateway process competes with the first (and with the ' +
      `generator) for CPU and cannot show scale-out. Load average at start: ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}.`,
  );

  const servers: ChildServer[] = [];
  let standalone: RedisProcess | null = null;
  let cluster: TestRedisCluster | null = null;
  const clients: (Redis | Cluster)[] = [];
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  const release = cleanup.add('capacity: stop gateways, echo, Redis and the OTLP sink', async () => {
    await Promise.all(servers.map((g) => g.stop()));
    for (const c of clients) c.disconnect();
    await standalone?.stop();
    await cluster?.stop();
    await sink?.close();
    console.log(
      `  cleanup: ${servers.length} server process(es) stopped; private Redis${cluster === null ? '' : ' and cluster'} ` +
        'stopped and their directories removed',
    );
  });

  try {
    const prepare = async (client: Redis | Cluster, where: string) => {
      clients.push(client);
      await putCatchAllRoute(client, prefix, '127.0.0.1:1');
      if (withLists) {
        const lists = await loadBenchLists(client, prefix);
        report.note(`lists loaded on ${where}: ${lists.map((l) => `${l.list} ${l.entries}`).join(', ')}`);
      }
    };
    standalone = await startRedisProcess(['--appendonly', 'yes', '--appendfsync', 'everysec'], {
      parentDir: join(root, '.bench', 'redis'),
    });
    await prepare(new Redis(standalone.url, { maxRetriesPerRequest: 1 }), 'the private Redis');

    // A cluster that does not come up fails its rows only; the standalone rows still run.
    let clusterError: string | null = null;
    if (configurations.some((c) => c.store === 'cluster')) {
      try {
        cluster = await startRedisCluster(3, 0);
        const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
        await prepare(new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } }), 'the cluster');
      } catch (err) {
        clusterError = `Redis Cluster: ${message(err)}`;
        report.note(`FAILED to prepare the ${clusterError}; its configurations are skipped`);
      }
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
          // Only the setting under test decides: nothing inherited from the shell. No sampler set:
          // the default parentbased_always_on samples every call (the generator sends no traceparent).
          OTEL_TRACES_SAMPLER: undefined,
          OTEL_TRACES_SAMPLER_ARG: undefined,
          OTEL_TRACES_EXPORTER: undefined,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_ENDPOINT: config.tracing && sink !== null ? sink.url : undefined,
        },
      });
      servers.push(gateway);
      try {
        await waitUntilServing(gateway, SERVICE, 60_000);
      } catch (err) {
        await gateway.stop();
        throw err;
      }
      return gateway;
    };

    // The echo server answers with the bytes of a real acceptance, so both sides move the same sizes.
    const probeGateway = await startGateway({ ...CONFIGURATIONS[0], name: 'probe' }, 0);
    const sampleResponse = await probeSubmit(probeGateway.address);
    await probeGateway.stop();
    if (!isFreshAcceptance(sampleResponse)) {
      throw new Error(
        `the gateway did not freshly accept a valid instruction: ${describeResponse(sampleResponse)}`,
      );
    }
    const echo = startEchoServer(root, await freePort(), SERVICE, sampleResponse);
    servers.push(echo);
    await waitUntilServing(echo, SERVICE);
    // UETRs do not matter to the echo server, so its pool is small and reused.
    const echoPool = new InstructionPool({ wrap: true, limit: 20_000 });
    echoPool.reserve(20_000);
    const requestBytes = echoPool.next()?.length ?? 0;
    report.set('messageBytes', { request: requestBytes, response: sampleResponse.length });
    report.note(
      `message sizes: request ${requestBytes} B, response ${sampleResponse.length} B (all servers)`,
    );

    const runSeconds = warmupSeconds + seconds;
    const run = async (
      name: string,
      targets: ChildServer[],
      pool: InstructionPool,
      redisPids: number[],
    ): Promise<RunResult> => {
      const target: UnaryTarget = {
        name,
        address: targets.map((s) => s.address).join(','),
        path: SUBMIT_PATH,
        metadata: submitMetadata(),
        nextRequest: () => pool.next(),
        checkResponse: isFreshAcceptance,
        deadlineMs,
      };
      const probes = [
        summedCpu(
          'server',
          targets.map((s) => s.pid),
        ),
      ];
      if (targets.length > 1)
        targets.forEach((s, i) => probes.push(processCpuProbe(`gateway#${i + 1}`, s.pid)));
      if (redisPids.length > 0) probes.push(summedCpu('redis', redisPids));
      if (redisPids.length > 1)
        redisPids.forEach((pid, i) => probes.push(processCpuProbe(`redis#${i + 1}`, pid)));
      const result = await closedLoop(target, {
        concurrency,
        warmupMs: warmupSeconds * 1000,
        durationMs: seconds * 1000,
        cpuProbes: probes,
      });
      for (const s of targets) assertAlive(s);
      return result;
    };

    interface Row {
      name: string;
      round: number;
      result: RunResult;
      echo: RunResult;
    }
    const rows: Row[] = [];
    const failures: string[] = [];
    if (clusterError !== null) failures.push(clusterError);
    // Rounds in alternating order, so that noise from elsewhere on the machine and warm-up do not
    // fall on one configuration only.
    const schedule = Array.from({ length: rounds }, (_, r) =>
      (r % 2 === 0 ? configurations : [...configurations].reverse()).map((config) => ({
        config,
        round: r + 1,
      })),
    ).flat();
    for (const { config, round } of schedule) {
      if (config.store === 'cluster' && cluster === null) continue;
      const started: ChildServer[] = [];
      try {
        // Echo right before each configuration: machine noise falls on both sides of every ratio.
        const echoResult = await run(ECHO, [echo], echoPool, []);
        for (let i = 0; i < config.gateways; i++) started.push(await startGateway(config, i));
        const pool = new InstructionPool({ wrap: false, limit: 2_000_000 });
        pool.reserve(Math.ceil(Math.max(echoResult.throughput, 1000) * runSeconds) + concurrency);
        const redisPids =
          config.store === 'cluster' ? cluster!.nodes.map((n) => n.child.pid ?? 0) : [standalone.pid()];
        const result = await run(config.name, started, pool, redisPids);
        rows.push({ name: config.name, round, result, echo: echoResult });
        report.set(
          'runs',
          json(rows.map((r) => ({ configuration: r.name, round: r.round, gateway: r.result, echo: r.echo }))),
        );
        report.note(
          `round ${round}, ${config.name}: ${fixed(result.throughput, 0)} req/s (echo ${fixed(echoResult.throughput, 0)}), ` +
            `p50 ${fixed(result.latencyMs.p50, 2)} ms, p99 ${fixed(result.latencyMs.p99, 2)} ms, ` +
            `errors ${errorText(result.errors)}, load average ${fixed(result.loadAverage, 2)}`,
        );
      } catch (err) {
        // One configuration failing (a gateway that does not start or dies) does not lose the others.
        const text = `round ${round}, ${config.name}: ${message(err)}`;
        failures.push(text);
        report.note(`FAILED ${text}`);
        report.set('failures', failures);
        assertAlive(echo);
      } finally {
        await Promise.all(started.map((g) => g.stop()));
      }
    }

    const ratioOf = (r: Row) => (r.echo.throughput > 0 ? r.result.throughput / r.echo.throughput : NaN);
    const cpuPerCall = (r: RunResult) =>
      r.throughput > 0 ? ((r.cpu.server ?? NaN) * 1000) / r.throughput : NaN;
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
        fixed(cpuPerCall(r.result), 3),
        errorText(r.result.errors),
        cpuText(r.result.cpu),
        spreadText(r.result.cpu),
        fixed(r.result.loadAverage, 1),
      ]),
    );
    const echoRuns = rows.map((r) => r.echo);
    const summary = (name: string, results: RunResult[], ratio: string): Cell[] => [
      name,
      results.length,
      fixed(median(results.map((r) => r.throughput)), 0),
      ratio,
      fixed(median(results.map((r) => r.latencyMs.p50)), 2),
      fixed(median(results.map((r) => r.latencyMs.p99)), 1),
      fixed(median(results.map(cpuPerCall)), 3),
      results.reduce((n, r) => n + r.errorCount, 0),
    ];
    report.table(
      `Medians over ${rounds} round(s)`,
      [
        { title: 'configuration', align: 'left' },
        { title: 'runs' },
        { title: 'req/s' },
        { title: '× echo' },
        { title: 'p50 ms' },
        { title: 'p99 ms' },
        { title: 'server CPU ms/call' },
        { title: 'errors' },
      ],
      [
        summary(ECHO, echoRuns, '1.00×'),
        ...configurations.map((config): Cell[] => {
          const mine = rows.filter((r) => r.name === config.name);
          return summary(
            config.name,
            mine.map((r) => r.result),
            `${fixed(median(mine.map(ratioOf)), 2)}×`,
          );
        }),
      ],
    );
    report.note(
      '× echo: throughput over the bare grpc-js echo server of the same message sizes, run just before (median of ' +
        'the per-round ratios). CPU ms/call: CPU seconds of all gateway processes (echo: of the echo process) per ' +
        '1000 successful calls, from /proc/<pid>/stat, the steadier figure on a shared machine. cpu gen/gateways/redis: ' +
        'share of one core; cpu each: per gateway process and per cluster master, to show how evenly calls spread.',
    );
    const errors = rows.reduce((n, r) => n + r.result.errorCount + r.echo.errorCount, 0);
    if (failures.length > 0)
      report.fail(`${failures.length} configuration run(s) failed: ${failures.join('; ')}`);
    else if (errors > 0) report.fail(`${errors} call(s) failed: see the errors column`);
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
