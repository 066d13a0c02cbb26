import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  Client,
  Metadata,
  credentials,
  status as Status,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { Status as RpcStatus } from '../../src/gen/google/rpc/status';
import { HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health';
import { decodeStatusDetails } from '../../src/grpc/status';
import { healthCheck } from '../support/health';
import type { ServerProcess } from '../support/processes';
import { largestRequest, mostRepeatedRequest, mutate, noise, type MutationOptions } from './mutate';
import { Rng } from './prng';
import { randomMessage, type Schema } from './schema';

/** gRPC status codes as plain numbers, to compare with a status object's code. */
export const Code: Readonly<Record<keyof typeof Status, number>> = Status;

export type CallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** One way of presenting (or not presenting) credentials, built fresh for every call. */
export interface MetadataChoice {
  label: string;
  build(rng: Rng): Metadata;
}

export interface FuzzTarget {
  /** Service/Method, e.g. caravan.settlement.v1.SettlementGateway/SubmitInstruction. */
  name: string;
  kind: CallKind;
  /** Full name of the request message. */
  requestType: string;
  decodeResponse(bytes: Buffer): unknown;
  /** Valid calls, each a list of request messages (one for unary and server-streaming methods). */
  seeds(rng: Rng): Buffer[][];
  metadata: readonly (readonly [number, MetadataChoice])[];
  /** Caravan's own services: every error status carries google.rpc.ErrorInfo. */
  richErrors: boolean;
  /** Relative share of the calls. */
  weight: number;
  /**
   * The largest inputs built for this method (default: the server's limit). Lowered for a method
   * that holds its whole input while it works (ImportList keeps the files until they are parsed),
   * so that concurrent calls of it do not decide the run's RSS.
   */
  inputLimitBytes?: number;
  /** Sees every case and its outcome (e.g. to collect the UETRs that were accepted). */
  observe?(c: FuzzCase, outcome: Outcome): void;
}

export interface FuzzCase {
  index: number;
  target: FuzzTarget;
  messages: Buffer[];
  ops: string[];
  metadataLabel: string;
  metadata: Metadata;
  /** Streams: cancel after this many messages were written (client-streaming, bidi) or received. */
  cancelAfter: number | null;
}

export interface Outcome {
  code: number;
  details: string;
  metadata: Metadata | null;
  responses: Buffer[];
  /** The fuzzer itself cancelled the call: CANCELLED is then its own doing. */
  cancelledByClient: boolean;
}

export interface Failure {
  seed: number;
  case: FuzzCase;
  outcome: Outcome | null;
  problem: string;
}

export interface RssStats {
  samples: number;
  /** The calls in flight when the worst RSS after the warm-up was sampled (target names). */
  worstDuring: string[];
  /** Highest RSS during the warm-up (the first part of the run), in bytes. */
  baseline: number;
  /** Highest RSS after the warm-up, in bytes (one 200 ms sample). */
  worst: number;
  /**
   * Highest level the RSS held for at least SUSTAINED_MS after the warm-up: the largest minimum
   * of any window that long. A leak raises it for good; a burst of garbage from a few MB-sized
   * requests in flight, collected a second later, does not.
   */
  worstSustained: number;
  /** Peak RSS of each tenth of the timed run after the warm-up, in bytes. */
  timeline: number[];
  /** Highest RSS during the closing phase of requests full of repeated elements (not bounded). */
  amplifierPeak: number;
  last: number;
}

export interface FuzzReport {
  label: string;
  seed: number;
  seconds: number;
  calls: number;
  messages: number;
  /** Calls per target and status code name. */
  codes: Map<string, Map<string, number>>;
  failures: Failure[];
  /** Failures beyond the ones kept. */
  moreFailures: number;
  /** Every failure counted by target and kind of problem, with the first case numbers. */
  problems: Map<string, { count: number; cases: number[] }>;
  rss: RssStats | null;
  healthChecks: { ok: number; failed: number };
  processExited: boolean;
  /**
   * The fuzzer's own worst event-loop delay, in ms. A client that stalls for seconds (the machine
   * is shared) cannot answer the server's keepalive pings or read its answers in time, so hangs
   * and dropped connections are only the server's fault when this stays small.
   */
  clientLagMs: number;
  /** The call that took longest to be answered. */
  slowestCall: { ms: number; index: number; target: string };
  /** The case that took the fuzzer longest to generate. */
  slowestCase: { ms: number; index: number; ops: string };
}

export interface RunOptions {
  label: string;
  seed: number;
  seconds: number;
  address: string;
  /** The server process, for its RSS and to see it still runs; null when the server is in process. */
  pid: number | null;
  targets: readonly FuzzTarget[];
  schema: Schema;
  mutation: MutationOptions;
  concurrency?: number;
  /** Share of the run, at its start, whose RSS only sets the baseline. */
  warmupShare?: number;
  /** Only these case numbers (FUZZ_CASE), to replay a failure. */
  onlyCases?: readonly number[] | null;
  /**
   * Most copies of one repeated field in a timed-run request (default 5,000). Requests with up to
   * a million come in a closing phase of their own, whose RSS is reported but not bounded: decoding
   * and validating each element costs the server about 140 bytes of heap per request byte.
   */
  maxRepeated?: number;
}

const ALLOWED = new Set<number>([
  Status.OK,
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
  Status.RESOURCE_EXHAUSTED,
  Status.FAILED_PRECONDITION,
  Status.ALREADY_EXISTS,
]);
/** No answer by then is a hang (the machine may be slow: this is not a latency bound). */
const CALL_DEADLINE_MS = 30_000;
const MAX_FAILURES_KEPT = 40;
const MAX_STATUS_MESSAGE = 2000;
/** See RssStats.worstSustained. */
export const SUSTAINED_MS = 3_000;

/** The largest minimum of the samples in any window of `ms` (two pointers over the series). */
function sustainedPeak(series: readonly { at: number; value: number }[], ms: number): number {
  let best = 0;
  for (let i = 0; i < series.length; i++) {
    let low = Number.POSITIVE_INFINITY;
    let j = i;
    for (; j < series.length && series[j].at - series[i].at <= ms; j++) low = Math.min(low, series[j].value);
    if (series[j - 1].at - series[i].at >= ms * 0.8) best = Math.max(best, low);
  }
  return best;
}

function tenths(series: readonly { at: number; value: number }[]): number[] {
  if (series.length === 0) return [];
  const from = series[0].at;
  const span = Math.max(1, series[series.length - 1].at - from);
  const peaks = new Array<number>(10).fill(0);
  for (const { at, value } of series) {
    const i = Math.min(9, Math.floor(((at - from) / span) * 10));
    peaks[i] = Math.max(peaks[i], value);
  }
  return peaks;
}

export const codeName = (code: number): string => Status[code] ?? `code ${code}`;

/** FUZZ_CASE: comma-separated case numbers to replay (with the FUZZ_SEED of the failing run). */
export function onlyCasesFromEnv(env: NodeJS.ProcessEnv = process.env): number[] | null {
  const given = env.FUZZ_CASE;
  if (given === undefined || given === '') return null;
  return given.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`FUZZ_CASE must list case numbers, got ${given}`);
    return n;
  });
}

/** Resident set size of a process from /proc/<pid>/status, in bytes; null once it is gone. */
export function readRss(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: Z is a zombie (exited, not yet reaped).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const identity = (b: Buffer): Buffer => b;

/** A W3C traceparent, well-formed or not: the edge extracts the caller's trace context from it. */
function traceparent(rng: Rng): string {
  const hex = (n: number) => rng.bytes(n).toString('hex');
  return rng.pick([
    `00-${hex(16)}-${hex(8)}-01`,
    `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`,
    `ff-${hex(16)}-${hex(8)}-01`,
    `00-${hex(16).toUpperCase()}-${hex(8)}-01`,
    `00-${hex(15)}-${hex(8)}-01`,
    'garbage',
    '',
    `00-${hex(16)}-${hex(8)}-01-${'x'.repeat(rng.pick([10, 4000]))}`,
  ]);
}

/** Case numbers from here on are the warm-up's: each target's valid calls blown up to the size limit. */
export const WARMUP_BASE = 0x40000000;
/** Case numbers from here on are the closing phase's: valid calls filled with repeated elements. */
export const AMPLIFY_BASE = 0x50000000;
const DEFAULT_MAX_REPEATED = 5_000;

function generateAmplifierCase(target: FuzzTarget, index: number, rng: Rng, opts: RunOptions): FuzzCase {
  const calls = target.seeds(rng);
  const call = calls.length === 0 ? [Buffer.alloc(0)] : calls[0];
  const limit = target.inputLimitBytes ?? opts.mutation.maxMessageBytes;
  const ops: string[] = [];
  const messages = call.map((m, i) => {
    if (i !== call.length - 1) return m;
    const full = mostRepeatedRequest(opts.schema, target.requestType, m, rng, { maxMessageBytes: limit });
    ops.push(...full.ops.map((o) => `[${i}] closing phase: ${o}`));
    return full.bytes;
  });
  const choice = target.metadata[0][1];
  return {
    index,
    target,
    messages,
    ops,
    metadataLabel: choice.label,
    metadata: choice.build(rng),
    cancelAfter: target.kind === 'server-stream' ? 1 : null,
  };
}

function generateWarmupCase(target: FuzzTarget, index: number, rng: Rng, opts: RunOptions): FuzzCase {
  const calls = target.seeds(rng);
  const call = calls.length === 0 ? [Buffer.alloc(0)] : calls[0];
  const ops: string[] = [];
  // A message at the limit (the last, so a stream's header still comes first); a stream then
  // repeats it up to the four limit-sized messages' worth the timed run may send in one call.
  const limit = target.inputLimitBytes ?? opts.mutation.maxMessageBytes;
  const messages = call.map((m, i) => {
    if (i !== call.length - 1) return m;
    const big = largestRequest(opts.schema, target.requestType, m, rng, { maxMessageBytes: limit });
    ops.push(...big.ops.map((o) => `[${i}] warm-up: ${o}`));
    return big.bytes;
  });
  if (target.kind === 'client-stream' || target.kind === 'bidi') {
    const last = messages[messages.length - 1];
    for (let i = 1; i < 4; i++) messages.push(last);
    ops.push('stream: the last message four times');
  }
  const choice = target.metadata[0][1];
  return {
    index,
    target,
    messages,
    ops,
    metadataLabel: choice.label,
    metadata: choice.build(rng),
    cancelAfter: target.kind === 'server-stream' ? 1 : null,
  };
}

function generateCase(target: FuzzTarget, index: number, rng: Rng, opts: RunOptions): FuzzCase {
  if (index >= AMPLIFY_BASE) return generateAmplifierCase(target, index, rng, opts);
  if (index >= WARMUP_BASE) return generateWarmupCase(target, index, rng, opts);
  const ops: string[] = [];
  const mutation: MutationOptions = {
    maxMessageBytes: target.inputLimitBytes ?? opts.mutation.maxMessageBytes,
    maxRepeated: opts.maxRepeated ?? DEFAULT_MAX_REPEATED,
  };
  const calls = target.seeds(rng);
  const call = calls.length === 0 ? [Buffer.alloc(0)] : rng.pick(calls);
  const donors = calls.flat();
  const one = (seed: Buffer, position: number): Buffer => {
    const source = rng.weighted<'valid' | 'mutated' | 'random' | 'mutated-random' | 'noise'>([
      [12, 'valid'],
      [58, 'mutated'],
      [12, 'random'],
      [8, 'mutated-random'],
      [10, 'noise'],
    ]);
    const tagged = (what: string[]) => ops.push(...what.map((w) => `[${position}] ${w}`));
    switch (source) {
      case 'valid':
        tagged(['valid']);
        return seed;
      case 'mutated': {
        const m = mutate(opts.schema, target.requestType, seed, rng, mutation, donors);
        tagged(m.ops);
        return m.bytes;
      }
      case 'random':
        tagged(['random message of the schema']);
        return randomMessage(opts.schema, target.requestType, rng);
      case 'mutated-random': {
        const m = mutate(
          opts.schema,
          target.requestType,
          randomMessage(opts.schema, target.requestType, rng),
          rng,
          mutation,
        );
        tagged(['random message of the schema', ...m.ops]);
        return m.bytes;
      }
      case 'noise': {
        const m = noise(rng, mutation);
        tagged(m.ops);
        return m.bytes;
      }
    }
  };

  let messages: Buffer[];
  if (target.kind === 'unary' || target.kind === 'server-stream') {
    messages = [one(call[0] ?? Buffer.alloc(0), 0)];
  } else {
    // Streams: each message may be mutated, and the sequence itself is changed too.
    messages = call.map((m, i) => (rng.chance(0.4) ? one(m, i) : m));
    const shape = rng.weighted<'as-is' | 'drop' | 'duplicate' | 'shuffle' | 'none' | 'many'>([
      [6, 'as-is'],
      [1, 'drop'],
      [1, 'duplicate'],
      [1, 'shuffle'],
      [0.5, 'none'],
      [0.5, 'many'],
    ]);
    if (shape === 'drop' && messages.length > 0) messages.splice(rng.int(messages.length), 1);
    if (shape === 'duplicate' && messages.length > 0)
      messages.splice(rng.int(messages.length), 0, rng.pick(messages));
    if (shape === 'shuffle') rng.shuffle(messages);
    if (shape === 'none') messages = [];
    if (shape === 'many') {
      // Up to a thousand more messages, but no more than a few limit-sized messages' worth: a
      // stream of a gigabyte cannot finish within any deadline on a shared machine.
      const base = messages[messages.length - 1] ?? Buffer.alloc(0);
      const budget = Math.floor((4 * mutation.maxMessageBytes) / Math.max(base.length, 1));
      const extra = Math.min(rng.pick([100, 1000]), budget);
      for (let i = 0; i < extra; i++) messages.push(base);
    }
    if (shape !== 'as-is') ops.push(`stream: ${shape} (${messages.length} messages)`);
  }

  const choice = rng.weighted(target.metadata);
  const metadata = choice.build(rng);
  let metadataLabel = choice.label;
  if (rng.chance(0.15)) {
    const value = traceparent(rng);
    metadata.set('traceparent', value);
    if (rng.chance(0.3))
      metadata.set('tracestate', rng.pick(['a=b', '=', 'x'.repeat(600), 'k=v,'.repeat(40)]));
    metadataLabel += ` + traceparent ${JSON.stringify(value.slice(0, 80))}`;
  }

  let cancelAfter: number | null = null;
  if (target.kind === 'server-stream') cancelAfter = rng.pick([0, 1, 1, 1, 2]);
  else if (target.kind !== 'unary' && rng.chance(0.08)) cancelAfter = rng.int(messages.length + 1);
  if (cancelAfter !== null && target.kind !== 'server-stream')
    ops.push(`cancel after writing ${cancelAfter}`);

  return { index, target, messages, ops, metadataLabel, metadata, cancelAfter };
}

function fromError(err: ServiceError | StatusObject): Pick<Outcome, 'code' | 'details' | 'metadata'> {
  return { code: err.code, details: err.details, metadata: err.metadata ?? null };
}

async function execute(client: Client, c: FuzzCase): Promise<Outcome> {
  const path = `/${c.target.name}`;
  const deadline = Date.now() + CALL_DEADLINE_MS;
  const responses: Buffer[] = [];
  let cancelledByClient = false;
  switch (c.target.kind) {
    case 'unary':
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          path,
          identity,
          identity,
          c.messages[0] ?? Buffer.alloc(0),
          c.metadata,
          { deadline },
          (err, res) => {
            if (err) resolve({ ...fromError(err), responses, cancelledByClient });
            else
              resolve({
                code: Status.OK,
                details: '',
                metadata: null,
                responses: res ? [res] : [],
                cancelledByClient,
              });
          },
        );
      });
    case 'server-stream':
      return new Promise((resolve) => {
        const call = client.makeServerStreamRequest(
          path,
          identity,
          identity,
          c.messages[0] ?? Buffer.alloc(0),
          c.metadata,
          {
            deadline,
          },
        );
        // A stream that stays open (a watch of an instruction that does not change) is ended by
        // the fuzzer after the first messages, or soon if none comes.
        const cancel = () => {
          cancelledByClient = true;
          call.cancel();
        };
        const timer = setTimeout(cancel, 300);
        if (c.cancelAfter === 0) setImmediate(cancel);
        call.on('data', (b: Buffer) => {
          responses.push(b);
          if (c.cancelAfter !== null && responses.length >= c.cancelAfter) cancel();
        });
        call.on('error', () => undefined);
        call.on('status', (s: StatusObject) => {
          clearTimeout(timer);
          resolve({ ...fromError(s), responses, cancelledByClient });
        });
      });
    case 'client-stream':
    case 'bidi':
      return new Promise((resolve) => {
        let response: Buffer | null = null;
        let settled: StatusObject | null = null;
        // A client-streaming call is over once both its callback and its status have come.
        let answered = c.target.kind === 'bidi';
        const finish = () => {
          if (settled === null || !answered) return;
          if ((settled.code as number) === Code.OK && response !== null) responses.push(response);
          resolve({ ...fromError(settled), responses, cancelledByClient });
        };
        const call =
          c.target.kind === 'client-stream'
            ? client.makeClientStreamRequest(
                path,
                identity,
                identity,
                c.metadata,
                { deadline },
                (_err, res) => {
                  if (res) response = res;
                  answered = true;
                  finish();
                },
              )
            : client.makeBidiStreamRequest(path, identity, identity, c.metadata, { deadline });
        if (c.target.kind === 'bidi') call.on('data', (b: Buffer) => responses.push(b));
        call.on('error', () => undefined);
        call.on('status', (s: StatusObject) => {
          settled = s;
          finish();
        });
        void (async () => {
          for (const [i, m] of c.messages.entries()) {
            if (settled !== null) return;
            if (c.cancelAfter === i) {
              cancelledByClient = true;
              call.cancel();
              return;
            }
            if (!call.write(m)) await new Promise<void>((r) => call.once('drain', () => r()));
          }
          if (c.cancelAfter !== null && c.cancelAfter >= c.messages.length) {
            cancelledByClient = true;
            call.cancel();
            return;
          }
          call.end();
        })();
      });
  }
}

/** What is wrong with an answer, or null when it is one the API allows. */
export function checkOutcome(c: FuzzCase, o: Outcome, maxMessageBytes: number): string | null {
  if (o.cancelledByClient && o.code === Code.CANCELLED) return null;
  const largest = Math.max(0, ...c.messages.map((m) => m.length));
  if (o.code === Code.OK) {
    if (c.target.kind !== 'server-stream' && c.target.kind !== 'bidi' && o.responses.length !== 1) {
      return `OK with ${o.responses.length} response messages`;
    }
    for (const [i, r] of o.responses.entries()) {
      try {
        c.target.decodeResponse(r);
      } catch (err) {
        return `response ${i} does not decode: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    return null;
  }
  let details: ReturnType<typeof decodeStatusDetails>;
  const raw = o.metadata?.get('grpc-status-details-bin')[0];
  try {
    if (raw instanceof Buffer && RpcStatus.decode(raw).code !== o.code) {
      return `${codeName(o.code)} whose grpc-status-details-bin says code ${RpcStatus.decode(raw).code}`;
    }
    details = decodeStatusDetails(o.metadata ?? undefined);
  } catch (err) {
    return `${codeName(o.code)} with grpc-status-details-bin that does not decode: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (o.code === Code.UNAVAILABLE) {
    // Allowed only as Caravan's own retryable answer (lists stale, Redis slow): with RetryInfo.
    if (details.retryInfo !== null && details.errorInfo !== null) return null;
    return `UNAVAILABLE without RetryInfo (connection lost?): ${o.details}`;
  }
  if (!ALLOWED.has(o.code)) return `${codeName(o.code)}: ${o.details}`;
  // grpc-message travels in a trailer: one that quotes a huge input can wedge the connection.
  if (o.details.length > MAX_STATUS_MESSAGE)
    return `${codeName(o.code)} with a ${o.details.length}-character message`;
  if (o.code === Code.INVALID_ARGUMENT) {
    if (details.errorInfo === null) return `INVALID_ARGUMENT without google.rpc.ErrorInfo: ${o.details}`;
    if (details.badRequest === null || details.badRequest.fieldViolations.length === 0) {
      return `INVALID_ARGUMENT without google.rpc.BadRequest field violations: ${o.details}`;
    }
  }
  if (c.target.richErrors && details.errorInfo === null) {
    // grpc-js itself refuses an oversized message before Caravan sees it, without details.
    const oversized = o.code === Code.RESOURCE_EXHAUSTED && largest > maxMessageBytes;
    if (!oversized) return `${codeName(o.code)} without google.rpc.ErrorInfo: ${o.details}`;
  }
  return null;
}

function describeInput(seed: number, c: FuzzCase): string {
  const lines = [
    `FUZZ_SEED=${seed} FUZZ_CASE=${c.index}  ${c.target.name} (${c.target.kind})`,
    `  metadata: ${c.metadataLabel}`,
    `  mutations: ${c.ops.length === 0 ? '(none)' : c.ops.join('; ')}`,
  ];
  for (const [i, m] of c.messages.entries()) {
    if (i >= 8) {
      lines.push(`  … ${c.messages.length - 8} more messages`);
      break;
    }
    if (m.length <= 2048) {
      lines.push(`  message ${i} (${m.length} B): ${m.toString('hex')}`);
    } else {
      const file = join(tmpdir(), `caravan-fuzz-${seed}-${c.index}-${i}.bin`);
      writeFileSync(file, m);
      const sha = createHash('sha256').update(m).digest('hex');
      lines.push(
        `  message ${i} (${m.length} B, sha256 ${sha.slice(0, 16)}…, written to ${file}): ${m.subarray(0, 256).toString('hex')}…`,
      );
    }
  }
  return lines.join('\n');
}

export function describeFailure(f: Failure): string {
  const answer =
    f.outcome === null
      ? ''
      : `\n  answer: ${codeName(f.outcome.code)} ${JSON.stringify(f.outcome.details.slice(0, 300))}`;
  return `${f.problem}\n${describeInput(f.seed, f.case)}${answer}`;
}

const MiB = 1024 * 1024;
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

export function summarise(report: FuzzReport): string {
  const lines = [
    `[fuzz ${report.label}] seed ${report.seed}: ${report.calls} calls (${report.messages} request messages) in ${report.seconds.toFixed(1)} s, ${report.failures.length + report.moreFailures} failures, health checks ${report.healthChecks.ok} ok / ${report.healthChecks.failed} failed, fuzzer's worst event-loop delay ${report.clientLagMs.toFixed(0)} ms`,
  ];
  lines.push(
    `  slowest call: ${report.slowestCall.ms} ms (FUZZ_CASE=${report.slowestCall.index}, ${report.slowestCall.target})`,
  );
  lines.push(
    `  slowest case to generate: ${report.slowestCase.ms} ms (FUZZ_CASE=${report.slowestCase.index}: ${report.slowestCase.ops})`,
  );
  if (report.rss !== null) {
    lines.push(
      `  RSS: warm-up peak ${mib(report.rss.baseline)}, worst after warm-up ${mib(report.rss.worst)} (growth ${mib(report.rss.worst - report.rss.baseline)}), last ${mib(report.rss.last)}, ${report.rss.samples} samples`,
      `  RSS held for ${SUSTAINED_MS / 1000} s at most: ${mib(report.rss.worstSustained)} (growth ${mib(report.rss.worstSustained - report.rss.baseline)}); peak per tenth of the run: ${report.rss.timeline.map((v) => (v / 1048576).toFixed(0)).join(' ')} MiB`,
      `  calls in flight at the worst RSS: ${report.rss.worstDuring.join(', ') || '(none)'}`,
      `  closing phase (requests full of repeated elements, not bounded): RSS peak ${mib(report.rss.amplifierPeak)}`,
    );
  }
  if (report.problems.size > 0) {
    lines.push('  problems:');
    for (const [kind, { count, cases }] of [...report.problems.entries()].sort(
      (a, b) => b[1].count - a[1].count,
    )) {
      lines.push(`    ${count} × ${kind} (FUZZ_CASE=${cases.join(',')})`);
    }
  }
  lines.push('  answers:');
  for (const [target, codes] of [...report.codes.entries()].sort()) {
    const parts = [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`);
    lines.push(`  ${target}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Sends generated calls to every target for `seconds` (or only the FUZZ_CASE cases), several at a
 * time, checking each answer, sampling the server's RSS and asking its health every few seconds.
 */
export async function runFuzz(opts: RunOptions): Promise<FuzzReport> {
  const concurrency = opts.concurrency ?? 6;
  const warmupShare = opts.warmupShare ?? 0.1;
  // One connection per worker, so a call that wedges its connection shows as itself, not as
  // every call that happened to share it.
  const clients = Array.from(
    { length: concurrency },
    () =>
      new Client(opts.address, credentials.createInsecure(), {
        'grpc.max_send_message_length': 64 * MiB,
        'grpc.max_receive_message_length': -1,
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  const report: FuzzReport = {
    label: opts.label,
    seed: opts.seed,
    seconds: 0,
    calls: 0,
    messages: 0,
    codes: new Map(),
    failures: [],
    moreFailures: 0,
    problems: new Map(),
    rss: null,
    healthChecks: { ok: 0, failed: 0 },
    processExited: false,
    clientLagMs: 0,
    slowestCase: { ms: 0, index: -1, ops: '' },
    slowestCall: { ms: 0, index: -1, target: '' },
  };
  const fail = (f: Omit<Failure, 'seed'>) => {
    const kind = `${f.case.target.name}: ${f.problem.replace(/\d+/g, 'N').slice(0, 120)}`;
    const seen = report.problems.get(kind) ?? { count: 0, cases: [] };
    seen.count += 1;
    if (seen.cases.length < 5) seen.cases.push(f.case.index);
    report.problems.set(kind, seen);
    if (report.failures.length < MAX_FAILURES_KEPT) report.failures.push({ seed: opts.seed, ...f });
    else report.moreFailures += 1;
  };

  const started = Date.now();
  let endAt = Number.POSITIVE_INFINITY;
  let warmupEnd = Number.POSITIVE_INFINITY;
  const rss: RssStats = {
    samples: 0,
    worstDuring: [],
    baseline: 0,
    worst: 0,
    worstSustained: 0,
    timeline: [],
    amplifierPeak: 0,
    last: 0,
  };
  let amplifying = false;
  const series: { at: number; value: number }[] = [];
  const inFlight = new Map<number, string>();
  const sample = () => {
    if (opts.pid === null) return;
    const value = readRss(opts.pid);
    if (value === null) return;
    rss.samples += 1;
    rss.last = value;
    if (amplifying) {
      rss.amplifierPeak = Math.max(rss.amplifierPeak, value);
      return;
    }
    if (Date.now() < warmupEnd) {
      rss.baseline = Math.max(rss.baseline, value);
      return;
    }
    series.push({ at: Date.now(), value });
    if (value > rss.worst) {
      rss.worst = value;
      rss.worstDuring = [...inFlight.values()];
    }
  };
  const sampler = setInterval(sample, 200);
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  let stop = false;
  const alive = async () => {
    if (opts.pid !== null && !processRuns(opts.pid)) {
      report.processExited = true;
      stop = true;
      return;
    }
    try {
      const s = await healthCheck(opts.address);
      if (s === HealthCheckResponse_ServingStatus.SERVING) report.healthChecks.ok += 1;
      else report.healthChecks.failed += 1;
    } catch {
      report.healthChecks.failed += 1;
    }
  };
  const prober = setInterval(() => void alive(), 2_000);

  const totalWeight = opts.targets.reduce((s, t) => s + t.weight, 0);
  const pickTarget = (rng: Rng, index: number): FuzzTarget => {
    if (index >= AMPLIFY_BASE) return opts.targets[(index - AMPLIFY_BASE) % opts.targets.length];
    if (index >= WARMUP_BASE) return opts.targets[(index - WARMUP_BASE) % opts.targets.length];
    let roll = rng.float() * totalWeight;
    for (const t of opts.targets) {
      roll -= t.weight;
      if (roll < 0) return t;
    }
    return opts.targets[opts.targets.length - 1];
  };
  const runCase = async (client: Client, index: number) => {
    const rng = new Rng(opts.seed, index);
    const target = pickTarget(rng, index);
    const generating = Date.now();
    const c = generateCase(target, index, rng, opts);
    const took = Date.now() - generating;
    if (took > report.slowestCase.ms)
      report.slowestCase = { ms: took, index, ops: c.ops.join('; ').slice(0, 300) };
    let outcome: Outcome;
    inFlight.set(index, `${target.name.slice(target.name.lastIndexOf('.') + 1)} #${index}`);
    const calling = Date.now();
    try {
      outcome = await execute(client, c);
    } catch (err) {
      fail({
        case: c,
        outcome: null,
        problem: `the call could not be made: ${err instanceof Error ? err.message : String(err)}`,
      });
      return;
    } finally {
      inFlight.delete(index);
      const ms = Date.now() - calling;
      if (ms > report.slowestCall.ms) report.slowestCall = { ms, index, target: target.name };
    }
    report.calls += 1;
    report.messages += c.messages.length;
    const perTarget = report.codes.get(target.name) ?? new Map<string, number>();
    const key =
      outcome.cancelledByClient && outcome.code === Code.CANCELLED
        ? 'CANCELLED (by the fuzzer)'
        : codeName(outcome.code);
    perTarget.set(key, (perTarget.get(key) ?? 0) + 1);
    report.codes.set(target.name, perTarget);
    const problem = checkOutcome(c, outcome, opts.mutation.maxMessageBytes);
    if (problem !== null) fail({ case: c, outcome, problem });
    try {
      target.observe?.(c, outcome);
    } catch (err) {
      fail({
        case: c,
        outcome,
        problem: `bookkeeping failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  };

  let next = 0;
  const cases = opts.onlyCases ?? null;
  const worker = async (client: Client) => {
    for (;;) {
      if (stop) return;
      if (cases !== null) {
        if (next >= cases.length) return;
        await runCase(client, cases[next++]);
      } else {
        if (Date.now() >= endAt) return;
        await runCase(client, next++);
      }
    }
  };
  /**
   * The warm-up: every target gets one call per connection of its largest request at once, so the RSS baseline holds what the biggest legitimate requests cost at this
   * concurrency; the first `warmupShare` of the timed run still counts as warm-up.
   */
  const warmup = async () => {
    if (cases !== null) return;
    let k = 0;
    for (let round = 0; round < 1 && !stop; round++) {
      for (let t = 0; t < opts.targets.length && !stop; t++) {
        const indices = clients.map(() => WARMUP_BASE + t + opts.targets.length * k++);
        await Promise.all(clients.map((client, i) => runCase(client, indices[i])));
      }
    }
  };
  /** The closing phase: every target gets one call per connection of its most-repeated request. */
  const amplify = async () => {
    if (cases !== null) return;
    sample();
    amplifying = true;
    for (let t = 0; t < opts.targets.length && !stop; t++) {
      const indices = clients.map((_, k) => AMPLIFY_BASE + t + opts.targets.length * k);
      await Promise.all(clients.map((client, i) => runCase(client, indices[i])));
    }
  };
  try {
    await warmup();
    const timedStart = Date.now();
    endAt = timedStart + opts.seconds * 1000;
    warmupEnd = timedStart + opts.seconds * 1000 * warmupShare;
    await Promise.all(clients.map((client) => worker(client)));
    await amplify();
    await alive();
  } finally {
    clearInterval(sampler);
    clearInterval(prober);
    lag.disable();
    report.clientLagMs = lag.max / 1e6;
    for (const client of clients) client.close();
  }
  sample();
  report.seconds = (Date.now() - started) / 1000;
  rss.worstSustained = sustainedPeak(series, SUSTAINED_MS);
  rss.timeline = tenths(series);
  if (opts.pid !== null) report.rss = rss;
  return report;
}

/**
 * SIGTERM, then the exit, or null when the process is still running after `ms` (it is then
 * SIGKILLed): a server that never exits after a graceful stop has something left running, such
 * as a timer of a call that never finished.
 */
export async function stopWithin(
  server: ServerProcess,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string } | null> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    server.stop('SIGTERM'),
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    }),
  ]);
  clearTimeout(timer);
  if (ended === null) await server.stop('SIGKILL');
  return ended;
}
