import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client, credentials, status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { LatencySamples, type LatencySummary } from './stats';

/** One unary method of one server, driven with pre-encoded request bytes. */
export interface UnaryTarget {
  name: string;
  /** One server, or several (comma-separated) that calls go to in turn, one channel each. */
  address: string;
  /** Full method path, e.g. /caravan.settlement.v1.SettlementGateway/SubmitInstruction. */
  path: string;
  metadata: Metadata;
  /** The next request body; undefined when the pre-encoded pool is used up, which ends the run early. */
  nextRequest(): Buffer | undefined;
  /** False counts the call as an error (UNEXPECTED_RESPONSE) even though its gRPC status was OK. */
  checkResponse(body: Buffer): boolean;
  deadlineMs: number;
  /**
   * Connections to each server (default 1), used in turn like the servers: several participants
   * rather than one. grpc-js would otherwise share one connection between channels to one address.
   */
  connections?: number;
}

/** Cumulative CPU seconds of something (a process, Redis); sampled at the start and end of the window. */
export interface CpuProbe {
  label: string;
  read(): number | Promise<number>;
}

export interface ClosedLoopOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  cpuProbes?: CpuProbe[];
}

export interface OpenLoopOptions {
  /** Offered load in requests per second, independent of how fast responses come back. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Above this many calls in flight a due request is not sent and counts as CLIENT_OVERLOAD. */
  maxInFlight: number;
  cpuProbes?: CpuProbe[];
}

export interface RunResult {
  target: string;
  mode: 'closed' | 'open';
  concurrency: number | null;
  offeredRate: number | null;
  /** Length of the measured window in seconds (shorter than asked only when endedEarly is set). */
  windowSeconds: number;
  /** Successful calls completed inside the window, per second. */
  throughput: number;
  ok: number;
  errorCount: number;
  /** Failed calls by gRPC status name (or UNEXPECTED_RESPONSE / CLIENT_OVERLOAD), measured window only. */
  errors: Record<string, number>;
  /** Failures outside the window (warm-up, drain): not in the figures, but never hidden. */
  unmeasuredErrors: Record<string, number>;
  /**
   * Closed loop: from send to response. Open loop: from the scheduled send time, so a stalled
   * server is charged for the requests it kept waiting (no coordinated omission).
   */
  latencyMs: LatencySummary;
  /** Open loop only: how late the generator sent requests relative to schedule. */
  sendLagMs: LatencySummary | null;
  /** Open loop only: requests actually sent per second of the window. */
  sentRate: number | null;
  /** CPU used during the window as a fraction of one core, per probe (generator always included). */
  cpu: Record<string, number>;
  /** 1-minute load average when the run ended: above the core count, other work competed for CPU. */
  loadAverage: number;
  endedEarly: string | null;
}

const identity = (b: Buffer): Buffer => b;
const now = (): number => performance.now();

function statusName(err: ServiceError | null): string {
  if (err === null) return 'OK';
  const name = (status as unknown as Record<number, string | undefined>)[err.code];
  return name ?? `CODE_${err.code}`;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** The generator process's own CPU, so a saturated generator is visible next to the figures. */
const generatorCpu: CpuProbe = {
  label: 'generator',
  read: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
};

/** CPU seconds of another local process, from /proc (Linux); NaN elsewhere rather than failing the run. */
export function processCpuProbe(label: string, pid: number): CpuProbe {
  const ticksPerSecond = 100; // USER_HZ: fixed at 100 in the Linux user-space ABI.
  return {
    label,
    read() {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields after the parenthesised command name, which may itself contain spaces.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      } catch {
        return NaN;
      }
    },
  };
}

/** A probe that fails reads as NaN: CPU figures are context, never a reason to lose a run. */
function readSafely(probe: CpuProbe): Promise<number> {
  return Promise.resolve()
    .then(() => probe.read())
    .catch(() => NaN);
}

class CpuWindow {
  private readonly starts: Promise<number[]>;

  constructor(private readonly probes: CpuProbe[]) {
    this.starts = Promise.all(probes.map(readSafely));
  }

  async end(seconds: number): Promise<Record<string, number>> {
    const ends = await Promise.all(this.probes.map(readSafely));
    const starts = await this.starts;
    return Object.fromEntries(this.probes.map((p, i) => [p.label, (ends[i] - starts[i]) / seconds]));
  }
}

/** Channels to the target's servers, used in turn: `next()` is the channel for the next call. */
interface Channels {
  next(): Client;
  close(): void;
}

async function connect(target: UnaryTarget): Promise<Channels> {
  const perServer = target.connections ?? 1;
  const clients = target.address
    .split(',')
    .flatMap((a) =>
      Array.from(
        { length: perServer },
        () => new Client(a.trim(), credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
      ),
    );
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) =>
          client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  let turn = 0;
  return {
    next: () => clients[turn++ % clients.length],
    close: () => clients.forEach((c) => c.close()),
  };
}

/**
 * Closed loop: `concurrency` calls always in flight, each replaced as soon as it completes. Calls
 * that complete inside the window are measured; the loop runs through warm-up into the window
 * without a pause, so the window starts at steady state.
 */
export async function closedLoop(target: UnaryTarget, options: ClosedLoopOptions): Promise<RunResult> {
  const client = await connect(target);
  const samples = new LatencySamples();
  const errors: Record<string, number> = {};
  const unmeasuredErrors: Record<string, number> = {};
  const probes = [generatorCpu, ...(options.cpuProbes ?? [])];
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const start = now();
      const windowStart = start + options.warmupMs;
      let windowEnd = windowStart + options.durationMs;
      let cpu: CpuWindow | null = null;
      let cpuUse: Promise<Record<string, number>> | null = null;
      let inFlight = 0;
      let stopping = false;
      let finished = false;
      let endedEarly: string | null = null;

      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(windowTimer);
        clearTimeout(startTimer);
        clearTimeout(watchdog);
        if (cpuUse === null) {
          reject(
            new Error(`${target.name}: the run ended during warm-up (${endedEarly ?? 'unknown reason'})`),
          );
          return;
        }
        const windowSeconds = (windowEnd - windowStart) / 1000;
        cpuUse
          .then((cpuByProbe) =>
            resolve({
              target: target.name,
              mode: 'closed',
              concurrency: options.concurrency,
              offeredRate: null,
              windowSeconds,
              throughput: samples.count / windowSeconds,
              ok: samples.count,
              errorCount: sum(errors),
              errors,
              unmeasuredErrors,
              latencyMs: samples.summary(),
              sendLagMs: null,
              sentRate: null,
              cpu: cpuByProbe,
              loadAverage: loadavg()[0],
              endedEarly,
            }),
          )
          .catch(reject);
      };

      const stop = (reason: string | null) => {
        if (stopping) return;
        stopping = true;
        const t = now();
        if (reason !== null) {
          endedEarly = reason;
          // The window closes where the load stopped; the figures stay per second of real load.
          if (t >= windowStart && t < windowEnd) windowEnd = t;
        }
        // Sampled when the load stops, not after the drain, so CPU is per second of full load.
        if (cpu !== null) cpuUse = cpu.end((windowEnd - windowStart) / 1000);
        if (inFlight === 0) finish();
      };

      const issue = () => {
        if (stopping) {
          if (inFlight === 0) finish();
          return;
        }
        const body = target.nextRequest();
        if (body === undefined) {
          stop('request pool exhausted');
          return;
        }
        inFlight++;
        const sentAt = now();
        client
          .next()
          .makeUnaryRequest(
            target.path,
            identity,
            identity,
            body,
            target.metadata,
            { deadline: Date.now() + target.deadlineMs },
            (err: ServiceError | null, response?: Buffer) => {
              inFlight--;
              const doneAt = now();
              const outcome =
                err === null && (response === undefined || !target.checkResponse(response))
                  ? 'UNEXPECTED_RESPONSE'
                  : statusName(err);
              if (doneAt < windowStart) {
                if (outcome !== 'OK') bump(unmeasuredErrors, outcome);
              } else if (doneAt <= windowEnd) {
                if (outcome === 'OK') samples.add(doneAt - sentAt);
                else bump(errors, outcome);
              } else {
                if (outcome !== 'OK') bump(unmeasuredErrors, outcome);
                stop(null);
              }
              issue();
            },
          );
      };

      const startTimer = setTimeout(() => {
        cpu = new CpuWindow(probes);
      }, options.warmupMs);
      const windowTimer = setTimeout(() => stop(null), options.warmupMs + options.durationMs);
      // Deadlines end every call, so this only fires if grpc-js itself loses a callback.
      const watchdog = setTimeout(
        () => {
          endedEarly = 'watchdog: calls still in flight long after their deadline';
          finish();
        },
        options.warmupMs + options.durationMs + target.deadlineMs + 10_000,
      );
      for (let i = 0; i < options.concurrency; i++) issue();
    });
  } finally {
    client.close();
  }
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to earlier ones, and its latency
 * runs from that due time. Requests due inside the window are measured, then the loop drains.
 */
export async function openLoop(target: UnaryTarget, options: OpenLoopOptions): Promise<RunResult> {
  const client = await connect(target);
  const samples = new LatencySamples();
  const lag = new LatencySamples();
  const errors: Record<string, number> = {};
  const unmeasuredErrors: Record<string, number> = {};
  const probes = [generatorCpu, ...(options.cpuProbes ?? [])];
  const intervalMs = 1000 / options.rate;
  const total = Math.ceil(((options.warmupMs + options.durationMs) * options.rate) / 1000);
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const start = now();
      const windowStart = start + options.warmupMs;
      let windowEnd = windowStart + options.durationMs;
      const dueAt = (i: number) => start + i * intervalMs;
      let cpu: CpuWindow | null = null;
      let cpuUse: Promise<Record<string, number>> | null = null;
      let next = 0;
      let sentInWindow = 0;
      let completedInWindow = 0;
      let inFlight = 0;
      let sendingDone = false;
      let finished = false;
      let endedEarly: string | null = null;

      const closeWindow = () => {
        if (cpu !== null && cpuUse === null) cpuUse = cpu.end((windowEnd - windowStart) / 1000);
      };

      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        closeWindow();
        if (cpuUse === null) {
          reject(
            new Error(`${target.name}: the run ended during warm-up (${endedEarly ?? 'unknown reason'})`),
          );
          return;
        }
        const windowSeconds = (windowEnd - windowStart) / 1000;
        cpuUse
          .then((cpuByProbe) =>
            resolve({
              target: target.name,
              mode: 'open',
              concurrency: null,
              offeredRate: options.rate,
              windowSeconds,
              throughput: completedInWindow / windowSeconds,
              ok: samples.count,
              errorCount: sum(errors),
              errors,
              unmeasuredErrors,
              latencyMs: samples.summary(),
              sendLagMs: lag.summary(),
              sentRate: sentInWindow / windowSeconds,
              cpu: cpuByProbe,
              loadAverage: loadavg()[0],
              endedEarly,
            }),
          )
          .catch(reject);
      };

      const send = (i: number, sentAt: number) => {
        const due = dueAt(i);
        const measured = due >= windowStart && due < windowEnd;
        if (measured) {
          lag.add(sentAt - due);
          sentInWindow++;
        }
        const count = (outcome: string) => bump(measured ? errors : unmeasuredErrors, outcome);
        if (inFlight >= options.maxInFlight) {
          count('CLIENT_OVERLOAD');
          return;
        }
        const body = target.nextRequest();
        if (body === undefined) {
          endedEarly = 'request pool exhausted';
          if (sentAt >= windowStart && sentAt < windowEnd) windowEnd = sentAt;
          sendingDone = true;
          return;
        }
        inFlight++;
        client
          .next()
          .makeUnaryRequest(
            target.path,
            identity,
            identity,
            body,
            target.metadata,
            { deadline: Date.now() + target.deadlineMs },
            (err: ServiceError | null, response?: Buffer) => {
              inFlight--;
              const doneAt = now();
              const outcome =
                err === null && (response === undefined || !target.checkResponse(response))
                  ? 'UNEXPECTED_RESPONSE'
                  : statusName(err);
              if (outcome === 'OK') {
                if (doneAt >= windowStart && doneAt < windowEnd) completedInWindow++;
                if (measured) samples.add(doneAt - due);
              } else {
                count(outcome);
              }
              if (sendingDone && inFlight === 0 && doneAt >= windowEnd) finish();
            },
          );
      };

      // setTimeout wakes at ≥1 ms granularity, so each tick sends every request already due; the
      // lateness this adds is recorded as send lag and, honestly, inside the latency.
      const tick = () => {
        const t = now();
        if (cpu === null && t >= windowStart) cpu = new CpuWindow(probes);
        if (t >= windowEnd) closeWindow();
        while (!sendingDone && next < total && dueAt(next) <= t) send(next++, t);
        if (!sendingDone && next < total) {
          setTimeout(tick, Math.max(0, dueAt(next) - now()));
          return;
        }
        sendingDone = true;
        setTimeout(
          () => {
            closeWindow();
            if (inFlight === 0) finish();
          },
          Math.max(0, windowEnd - now()),
        );
      };

      const watchdog = setTimeout(
        () => {
          endedEarly = 'watchdog: calls still in flight long after their deadline';
          finish();
        },
        options.warmupMs + options.durationMs + target.deadlineMs + 10_000,
      );
      tick();
    });
  } finally {
    client.close();
  }
}
