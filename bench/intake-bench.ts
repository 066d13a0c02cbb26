import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import Redis from 'ioredis';
import {
  SettlementGatewayService,
  SubmitInstructionRequest,
  SubmitInstructionResponse,
} from '../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../src/gen/caravan/settlement/v1/status';
import { DEV_PARTICIPANT_HEADER } from '../src/grpc/caller-identity';
import { validInstruction } from '../test/support/instructions';
import {
  closedLoop,
  openLoop,
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
import { fixed, type Cell, type Column, type Json, type SectionReport } from './report';
import { loadBenchLists, rssMiB } from './bench-lists';
import { putCatchAllRoute } from './bench-routes';
import type { BenchContext, Section } from './section';

const SERVICE = 'caravan.settlement.v1.SettlementGateway';
const SUBMIT_PATH = SettlementGatewayService.submitInstruction.path;
/** DESIGN.md "Targets": submit throughput ≥ 0.6 × the bare grpc-js echo server. */
const TARGET_RATIO = 0.6;
const PARTICIPANT = 'HSBKKZKX';

interface IntakeConfig {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  /** Connections the generator opens to each server, used in turn (several participants). */
  connections: number;
  /** null: chosen from the gateway's closed-loop throughput, at most 1000 req/s. */
  rate: number | null;
  deadlineMs: number;
  maxInFlight: number;
  /** Upper bound on pre-encoded gateway instructions, and so on memory and Redis keys. */
  maxRequests: number;
  redisUrl: string;
}

export function positive(name: string, fallback: number, integer = true): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name}=${raw}: must be a positive ${integer ? 'integer' : 'number'}`);
  }
  return value;
}

function readConfig(): IntakeConfig {
  return {
    seconds: positive('BENCH_SECONDS', 10, false),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', 2, false),
    concurrency: positive('BENCH_CONCURRENCY', 64),
    connections: positive('BENCH_CONNECTIONS', 1),
    rate: process.env.BENCH_RATE ? positive('BENCH_RATE', 1000, false) : null,
    deadlineMs: positive('BENCH_DEADLINE_MS', 10_000),
    maxInFlight: positive('BENCH_MAX_IN_FLIGHT', 20_000),
    maxRequests: positive('BENCH_MAX_REQUESTS', 1_000_000),
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/**
 * Encoded SubmitInstructionRequests, each with a fresh validInstruction() (new UETR), made before a
 * timed run so that the generator only sends bytes while the clock runs. Each batch lives in one
 * Buffer so the heap holds a few large objects instead of hundreds of thousands of small ones.
 */
export class InstructionPool {
  private readonly bodies: Buffer[] = [];
  private cursor = 0;

  constructor(private readonly options: { wrap: boolean; limit: number }) {}

  /** Requests handed out so far (without wrap-around: distinct instructions sent). */
  get used(): number {
    return this.cursor;
  }

  /** Makes sure at least `count` unused requests are ready (within the limit). */
  reserve(count: number): void {
    const want = Math.min(this.options.limit, this.cursor + count) - this.bodies.length;
    if (want <= 0) return;
    const encoded: Uint8Array[] = [];
    let bytes = 0;
    for (let i = 0; i < want; i++) {
      const body = SubmitInstructionRequest.encode({ instruction: validInstruction() }).finish();
      encoded.push(body);
      bytes += body.length;
    }
    const arena = Buffer.allocUnsafeSlow(bytes);
    let offset = 0;
    for (const body of encoded) {
      arena.set(body, offset);
      this.bodies.push(arena.subarray(offset, offset + body.length));
      offset += body.length;
    }
  }

  next(): Buffer | undefined {
    if (this.cursor >= this.bodies.length) {
      if (!this.options.wrap || this.bodies.length === 0) return undefined;
      this.cursor = 0;
    }
    return this.bodies[this.cursor++];
  }
}

export function submitMetadata(): Metadata {
  const metadata = new Metadata();
  metadata.set(DEV_PARTICIPANT_HEADER, PARTICIPANT);
  return metadata;
}

/** One real submission, to learn the exact response bytes the echo server must answer with. */
export async function probeSubmit(address: string): Promise<Buffer> {
  const client = new Client(address, credentials.createInsecure());
  try {
    const body = Buffer.from(SubmitInstructionRequest.encode({ instruction: validInstruction() }).finish());
    return await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        SUBMIT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        submitMetadata(),
        { deadline: Date.now() + 10_000 },
        (err: ServiceError | null, res?: Buffer) =>
          err
            ? reject(new Error(`probe submission failed: ${err.message}`))
            : resolve(res ?? Buffer.alloc(0)),
      ),
    );
  } finally {
    client.close();
  }
}

/** A fresh, accepted, non-replayed submission: anything else means the run measured the wrong path. */
export function isFreshAcceptance(body: Buffer): boolean {
  try {
    const response = SubmitInstructionResponse.decode(body);
    return response.state === InstructionState.INSTRUCTION_STATE_ACCEPTED && !response.replayed;
  } catch {
    return false;
  }
}

export function describeResponse(body: Buffer): string {
  try {
    return JSON.stringify(SubmitInstructionResponse.toJSON(SubmitInstructionResponse.decode(body)));
  } catch (err) {
    return `undecodable (${err instanceof Error ? err.message : String(err)}): ${body.toString('hex')}`;
  }
}

export function redisCpuProbe(redis: Redis): CpuProbe {
  return {
    label: 'redis',
    async read() {
      const info = await redis.info('cpu');
      return infoField(info, 'used_cpu_sys') + infoField(info, 'used_cpu_user');
    },
  };
}

function infoField(info: string, name: string): number {
  const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
  return match ? Number(match[1]) : NaN;
}

/** Deletes every key under the prefix with SCAN + UNLINK (KEYS would block Redis); returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export function assertAlive(server: ChildServer): void {
  const how = server.exited();
  if (how !== null) {
    throw new Error(`${server.name} exited during the run (${how}):\n  ${server.outputTail().join('\n  ')}`);
  }
}

export function errorText(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${code}×${n}`).join(', ');
}

/** CPU time per successful call of each process, in ms: what bounds throughput when they share cores. */
export function cpuPerCallText(cpu: Record<string, number>, throughput: number): string {
  return ['generator', 'server', 'redis']
    .map((label) =>
      cpu[label] === undefined || !(throughput > 0) ? '-' : ((cpu[label] * 1000) / throughput).toFixed(3),
    )
    .join('/');
}

export function cpuText(cpu: Record<string, number>): string {
  return ['generator', 'server', 'redis']
    .map((label) => (cpu[label] === undefined ? '-' : `${Math.round(cpu[label] * 100)}%`))
    .join('/');
}

const COLUMNS: Column[] = [
  { title: 'target', align: 'left' },
  { title: 'mode', align: 'left' },
  { title: 'offered', align: 'left' },
  { title: 'req/s' },
  { title: 'p50 ms' },
  { title: 'p90 ms' },
  { title: 'p99 ms' },
  { title: 'max ms' },
  { title: 'ok' },
  { title: 'errors', align: 'left' },
  { title: 'sent/s' },
  { title: 'lag p99' },
  { title: 'cpu gen/srv/redis', align: 'left' },
  { title: 'cpu ms/call gen/srv/redis', align: 'left' },
  { title: 'loadavg' },
];

function row(r: RunResult): Cell[] {
  const outside = errorText(r.unmeasuredErrors);
  return [
    r.target,
    r.mode,
    r.mode === 'closed' ? `c=${r.concurrency}` : `${r.offeredRate}/s`,
    fixed(r.throughput, 0),
    fixed(r.latencyMs.p50, 2),
    fixed(r.latencyMs.p90, 2),
    fixed(r.latencyMs.p99, 2),
    fixed(r.latencyMs.max, 2),
    r.ok,
    errorText(r.errors) +
      (outside === '0' ? '' : ` (outside window: ${outside})`) +
      (r.endedEarly ? ` [${r.endedEarly}]` : ''),
    fixed(r.sentRate, 0),
    fixed(r.sendLagMs?.p99, 2),
    cpuText(r.cpu),
    cpuPerCallText(r.cpu, r.throughput),
    fixed(r.loadAverage, 1),
  ];
}

export function json(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

async function runIntake(report: SectionReport, { root, cleanup }: BenchContext): Promise<void> {
  const config = readConfig();
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  report.set('config', json(config));
  report.set('redisPrefix', prefix);
  report.note(
    `closed loop c=${config.concurrency}, open loop at ${config.rate ?? 'auto (≤1000)'} req/s, ` +
      `${config.connections} connection(s) to each server; ` +
      `${config.warmupSeconds} s warm-up + ${config.seconds} s measured per run; Redis prefix ${prefix}`,
  );

  const [load] = loadavg();
  if (load > cpus().length) {
    report.note(
      `WARNING: load average ${load.toFixed(2)} on ${cpus().length} cores — other processes compete for CPU, figures will be noisy`,
    );
  }

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const servers: ChildServer[] = [];
  const release = cleanup.add('intake: stop servers and delete Redis keys', async () => {
    await Promise.all(servers.map((s) => s.stop()));
    const deleted = await deleteKeys(redis, prefix);
    const left = await deleteKeys(redis, prefix);
    console.log(`  cleanup: servers stopped; ${deleted} Redis keys under ${prefix}:* deleted (${left} left)`);
    redis.disconnect();
  });

  try {
    // The full pipeline screens against every real list, as a production gateway would;
    // BENCH_LISTS=off measures intake with empty lists, to separate screening's cost.
    if (process.env.BENCH_LISTS !== 'off') {
      const lists = await loadBenchLists(redis, prefix);
      report.note(`lists loaded: ${lists.map((l) => `${l.list} ${l.entries}`).join(', ')}`);
      report.set('lists', lists);
    } else {
      report.note('BENCH_LISTS=off: no lists loaded (screening runs against empty lists)');
    }
    // Intake alone: a route so instructions are accepted, and no dispatcher competing for the CPU
    // (the delivery section measures submit → DELIVERED).
    await putCatchAllRoute(redis, prefix, '127.0.0.1:1');
    const gatewayPort = await freePort();
    const gateway = startBenchGateway(root, 'gateway', {
      port: gatewayPort,
      redisUrl: config.redisUrl,
      prefix,
    });
    servers.push(gateway);
    await waitUntilServing(gateway, SERVICE);
    const rss = rssMiB(gateway.pid);
    report.note(`gateway RSS with all lists loaded: ${rss} MiB (target < 300)`);
    report.set('gatewayRssMiB', rss);

    const sampleResponse = await probeSubmit(gateway.address);
    if (!isFreshAcceptance(sampleResponse)) {
      throw new Error(
        `the gateway did not freshly accept a valid instruction: ${describeResponse(sampleResponse)}`,
      );
    }

    const echoPort = await freePort();
    const echo = startEchoServer(root, echoPort, SERVICE, sampleResponse);
    servers.push(echo);
    await waitUntilServing(echo, SERVICE);

    // UETRs do not matter to the echo server, so its pool is small and reused.
    const echoPool = new InstructionPool({ wrap: true, limit: 20_000 });
    echoPool.reserve(20_000);
    const gatewayPool = new InstructionPool({ wrap: false, limit: config.maxRequests });
    const requestBytes = echoPool.next()?.length ?? 0;
    report.set('messageBytes', { request: requestBytes, response: sampleResponse.length });
    report.note(
      `message sizes: request ${requestBytes} B, response ${sampleResponse.length} B (both servers)`,
    );

    const target = (server: ChildServer, pool: InstructionPool): UnaryTarget => ({
      name: server.name,
      address: server.address,
      path: SUBMIT_PATH,
      metadata: submitMetadata(),
      nextRequest: () => pool.next(),
      checkResponse: isFreshAcceptance,
      deadlineMs: config.deadlineMs,
      connections: config.connections,
    });
    const probes = (server: ChildServer): CpuProbe[] => [
      processCpuProbe('server', server.pid),
      redisCpuProbe(redis),
    ];
    const warmupMs = config.warmupSeconds * 1000;
    const durationMs = config.seconds * 1000;
    const runSeconds = config.warmupSeconds + config.seconds;
    const gatewayLinesBefore = gateway.lineCount();
    const results: RunResult[] = [];
    const record = (result: RunResult) => {
      results.push(result);
      // Kept as they come, so a later failure still leaves the earlier runs in the JSON file.
      report.set('runs', json(results));
      report.note(
        `${result.target} ${result.mode}: ${fixed(result.throughput, 0)} req/s, p99 ${fixed(result.latencyMs.p99, 2)} ms, errors ${errorText(result.errors)}`,
      );
      return result;
    };

    const closedOptions = { concurrency: config.concurrency, warmupMs, durationMs };
    const echoClosed = record(
      await closedLoop(target(echo, echoPool), { ...closedOptions, cpuProbes: probes(echo) }),
    );
    assertAlive(echo);
    // The gateway cannot outrun the bare echo server; 25% headroom covers run-to-run noise.
    gatewayPool.reserve(Math.ceil(echoClosed.throughput * 1.25 * runSeconds) + config.concurrency);
    const gatewayClosed = record(
      await closedLoop(target(gateway, gatewayPool), { ...closedOptions, cpuProbes: probes(gateway) }),
    );
    assertAlive(gateway);

    // Half the gateway's closed-loop capacity keeps it clear of the queueing knee, so p99 measures
    // latency rather than a queue that grows with every run-to-run wobble in capacity.
    const rate =
      config.rate ?? Math.max(10, Math.min(1000, Math.floor((gatewayClosed.throughput * 0.5) / 50) * 50));
    report.set('openLoopRate', {
      rate,
      chosen: config.rate === null ? 'auto: min(1000, 50% of gateway closed-loop req/s)' : 'BENCH_RATE',
    });
    const openOptions = { rate, warmupMs, durationMs, maxInFlight: config.maxInFlight };
    record(await openLoop(target(echo, echoPool), { ...openOptions, cpuProbes: probes(echo) }));
    assertAlive(echo);
    gatewayPool.reserve(Math.ceil(rate * runSeconds) + 1);
    const gatewayOpen = record(
      await openLoop(target(gateway, gatewayPool), { ...openOptions, cpuProbes: probes(gateway) }),
    );
    assertAlive(gateway);

    report.table(
      'SubmitInstruction: gateway vs bare grpc-js echo (same generator, same message sizes)',
      COLUMNS,
      results.map(row),
    );
    report.note(
      'req/s: successful completions per second of the window (open loop: may exceed the offered rate while a warm-up backlog drains).\n' +
        '  latency: closed loop from send; open loop from the scheduled send time. lag p99: generator lateness. cpu: share of one core.\n' +
        '  cpu ms/call: CPU time of each process per successful call; in the closed loop the three take turns, so req/s ≈ cores used / their sum.',
    );

    const ratio = gatewayClosed.throughput / echoClosed.throughput;
    const met = ratio >= TARGET_RATIO;
    const totalErrors = results.reduce(
      (n, r) => n + r.errorCount + Object.values(r.unmeasuredErrors).reduce((a, b) => a + b, 0),
      0,
    );
    console.log(
      `\n  throughput ratio gateway/echo (closed loop, c=${config.concurrency}): ${ratio.toFixed(3)} ` +
        `(${fixed(gatewayClosed.throughput, 0)} / ${fixed(echoClosed.throughput, 0)} req/s) — ` +
        `target ≥ ${TARGET_RATIO}: ${met ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `  gateway p99 at ${rate} req/s offered: ${fixed(gatewayOpen.latencyMs.p99, 2)} ms ` +
        `(achieved ${fixed(gatewayOpen.throughput, 0)} req/s)`,
    );
    const gatewayLines = gateway.lineCount() - gatewayLinesBefore;
    if (gatewayLines > 0) {
      console.log(
        `  the gateway logged ${gatewayLines} line(s) at warn or above during the runs; the last ones:`,
      );
      for (const line of gateway.outputTail().slice(-Math.min(gatewayLines, 10))) console.log(`    ${line}`);
    }

    report.set('throughputRatio', {
      gatewayOverEcho: ratio,
      target: TARGET_RATIO,
      met,
      gatewayReqPerSec: gatewayClosed.throughput,
      echoReqPerSec: echoClosed.throughput,
    });
    report.set('gatewayLogLinesDuringRuns', gatewayLines);
    report.set(
      'gatewayLogTail',
      gatewayLines > 0 ? gateway.outputTail().slice(-Math.min(gatewayLines, 40)) : [],
    );
    // The probe submission comes on top of the pool.
    report.set('instructionsSent', gatewayPool.used + 1);
    report.set('errorsTotal', totalErrors);
    if (totalErrors > 0) {
      // Figures from a run with failed calls are not comparable: the run fails, after reporting them.
      report.fail(`${totalErrors} call(s) failed: see the errors column`);
    }
  } finally {
    await release();
  }
}

export const intakeSection: Section = {
  name: 'intake',
  description: 'SubmitInstruction throughput and latency, gateway vs bare grpc-js echo server',
  run: runIntake,
};
