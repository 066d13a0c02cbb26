import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Metadata } from '@grpc/grpc-js';
import Redis from 'ioredis';
import {
  SettlementGatewayService,
  SubmitInstructionRequest,
  SubmitInstructionResponse,
} from '../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../src/gen/caravan/settlement/v1/status';
import { DEV_PARTICIPANT_HEADER } from '../src/grpc/caller-identity';
import { validInstruction } from '../test/support/instructions';
import { putCatchAllRoute } from './bench-routes';
import { deleteKeys } from './intake-bench';
import { closedLoop, processCpuProbe, type RunResult } from './load-generator';
import { freePort, startBenchGateway, waitUntilServing, type ChildServer } from './processes';
import { fixed, type SectionReport } from './report';
import type { BenchContext, Section } from './section';
import { median } from './stats';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';

/** The gateway's tracing settings compared, each in a gateway process of its own. */
const SETTINGS: { label: string; otel: (sink: string) => NodeJS.ProcessEnv }[] = [
  { label: 'tracing off (always_off sampler)', otel: () => ({ OTEL_TRACES_SAMPLER: 'always_off' }) },
  {
    label: 'exported, sampled 100%',
    otel: (sink) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sink, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
  },
  {
    label: 'exported, sampled 10%',
    otel: (sink) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: sink,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    }),
  },
  {
    label: 'recorded, not exported (no endpoint: the default)',
    otel: () => ({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
  },
];

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: must be a positive number`);
  return value;
}

interface Sink {
  url: string;
  bytes(): number;
  close(): Promise<void>;
}

/** An OTLP/HTTP endpoint that accepts every export and keeps only its size. */
async function startSink(): Promise<Sink> {
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the OTLP sink has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytes: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function isFreshAcceptance(body: Buffer): boolean {
  try {
    const response = SubmitInstructionResponse.decode(body);
    return response.state === InstructionState.INSTRUCTION_STATE_ACCEPTED && !response.replayed;
  } catch {
    return false;
  }
}

async function runTracing(report: SectionReport, { root, cleanup }: BenchContext): Promise<void> {
  const seconds = numberFromEnv('BENCH_SECONDS', 10);
  const warmupSeconds = numberFromEnv('BENCH_WARMUP_SECONDS', 2);
  const concurrency = numberFromEnv('BENCH_CONCURRENCY', 64);
  const rounds = numberFromEnv('BENCH_TRACING_ROUNDS', 3);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-tracing-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  // One sink per setting: spans still batched when a run ends are exported during the next one.
  const sinks = await Promise.all(SETTINGS.map(() => startSink()));
  const servers: ChildServer[] = [];
  const release = cleanup.add('tracing: stop gateways and OTLP sinks, delete Redis keys', async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(sinks.map((s) => s.close()));
    const deleted = await deleteKeys(redis, prefix);
    console.log(`  cleanup: gateways stopped; ${deleted} Redis keys under ${prefix}:* deleted`);
    redis.disconnect();
  });
  const runSeconds = seconds / 2;
  report.note(
    `closed loop c=${concurrency}; ${rounds} rounds, each running every setting in turn (rotated order) for ` +
      `${runSeconds} s after ${warmupSeconds} s warm-up, so that load from elsewhere on the machine falls on all ` +
      'of them alike; figures are medians over the rounds. Empty lists (the tracing cost is not hidden behind ' +
      'screening), no dispatcher, one idle-when-not-measured gateway process per setting, the same generator, ' +
      'and an OTLP/HTTP sink per setting in this process that accepts and discards.',
  );
  try {
    await putCatchAllRoute(redis, prefix, '127.0.0.1:1');
    const gateways: ChildServer[] = [];
    for (const [i, setting] of SETTINGS.entries()) {
      const port = await freePort();
      const gateway = startBenchGateway(root, setting.label, {
        port,
        redisUrl,
        prefix,
        env: {
          // Only the setting under test decides: nothing inherited from the shell.
          OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
          OTEL_TRACES_EXPORTER: undefined,
          OTEL_TRACES_SAMPLER_ARG: undefined,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          ...setting.otel(sinks[i].url),
        },
      });
      servers.push(gateway);
      gateways.push(gateway);
    }
    for (const gateway of gateways) await waitUntilServing(gateway, SERVICE);

    const metadata = new Metadata();
    metadata.set(DEV_PARTICIPANT_HEADER, 'HSBKKZKX');
    const runs = SETTINGS.map(() => [] as RunResult[]);
    const sent = SETTINGS.map(() => 0);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < SETTINGS.length; k++) {
        const index = (round + k) % SETTINGS.length;
        const gateway = gateways[index];
        const run = await closedLoop(
          {
            name: SETTINGS[index].label,
            address: gateway.address,
            path: SettlementGatewayService.submitInstruction.path,
            metadata,
            // Encoded as they go (a fresh UETR each): the same generator work in every setting.
            nextRequest: () => {
              sent[index]++;
              return Buffer.from(
                SubmitInstructionRequest.encode({ instruction: validInstruction() }).finish(),
              );
            },
            checkResponse: isFreshAcceptance,
            deadlineMs: 10_000,
          },
          {
            concurrency,
            warmupMs: warmupSeconds * 1000,
            durationMs: runSeconds * 1000,
            cpuProbes: [processCpuProbe('server', gateway.pid)],
          },
        );
        if (gateway.exited() !== null) throw new Error(`${gateway.name} exited during the run`);
        runs[index].push(run);
        report.note(
          `round ${round + 1}, ${SETTINGS[index].label}: ${fixed(run.throughput, 0)} req/s, ` +
            `p99 ${fixed(run.latencyMs.p99, 1)} ms, load average ${fixed(run.loadAverage, 1)}`,
        );
      }
    }

    // A graceful stop flushes the spans still batched, so every sink holds all its gateway exported.
    await Promise.all(gateways.map((g) => g.stop()));
    const summary = SETTINGS.map((setting, i) => ({
      setting: setting.label,
      reqPerSec: median(runs[i].map((r) => r.throughput)),
      perRound: runs[i].map((r) => r.throughput),
      p50Ms: median(runs[i].map((r) => r.latencyMs.p50)),
      p99Ms: median(runs[i].map((r) => r.latencyMs.p99)),
      errors: runs[i].reduce((n, r) => n + r.errorCount, 0),
      gatewayCpu: median(runs[i].map((r) => r.cpu.server ?? NaN)),
      generatorCpu: median(runs[i].map((r) => r.cpu.generator ?? NaN)),
      // CPU the gateway spent per answered call: the work tracing adds, which other load on the
      // machine changes far less than it changes throughput.
      cpuMsPerCall: median(runs[i].map((r) => ((r.cpu.server ?? NaN) * 1000) / r.throughput)),
      otlpBytesPerCall: sinks[i].bytes() / sent[i],
    }));
    const off = summary[0].reqPerSec;
    const offCpu = summary[0].cpuMsPerCall;
    report.table(
      `SubmitInstruction throughput by tracing setting (closed loop c=${concurrency}, medians of ${rounds} rounds)`,
      [
        { title: 'setting', align: 'left' },
        { title: 'req/s' },
        { title: 'vs off' },
        { title: 'per round', align: 'left' },
        { title: 'p50 ms' },
        { title: 'p99 ms' },
        { title: 'errors' },
        { title: 'cpu gen/gw', align: 'left' },
        { title: 'cpu ms/call' },
        { title: 'vs off' },
        { title: 'OTLP B/call' },
      ],
      summary.map((s) => [
        s.setting,
        fixed(s.reqPerSec, 0),
        `${fixed((s.reqPerSec / off) * 100, 1)}%`,
        s.perRound.map((r) => fixed(r, 0)).join(' / '),
        fixed(s.p50Ms, 2),
        fixed(s.p99Ms, 2),
        s.errors,
        `${Math.round(s.generatorCpu * 100)}%/${Math.round(s.gatewayCpu * 100)}%`,
        fixed(s.cpuMsPerCall, 2),
        `${fixed((s.cpuMsPerCall / offCpu) * 100, 1)}%`,
        fixed(s.otlpBytesPerCall, 0),
      ]),
    );
    report.note(
      'vs off: median throughput relative to the always_off sampler (trace ids still made, no span recorded). ' +
        "cpu gen/gw: share of one core used by the generator (this process) and the gateway; cpu ms/call: the gateway's CPU time per answered call (vs off: relative to always_off), " +
        'the steadier figure on a shared machine. OTLP B/call: protobuf the gateway exported per call sent to it.',
    );
    report.set(
      'runs',
      summary.map((s) => ({
        ...s,
        relativeToOff: s.reqPerSec / off,
        cpuRelativeToOff: s.cpuMsPerCall / offCpu,
      })),
    );
    const errors = summary.reduce((n, s) => n + s.errors, 0);
    if (errors > 0) report.fail(`${errors} call(s) failed: see the errors column`);
  } finally {
    await release();
  }
}

export const tracingSection: Section = {
  name: 'tracing',
  description:
    'The throughput cost of tracing: SubmitInstruction with spans exported (100% and 10% sampled) vs off',
  run: runTracing,
};
