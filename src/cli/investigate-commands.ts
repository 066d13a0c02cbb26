import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  ExplainInstructionResponse,
  HopKind,
  InstructionSummary,
  type Hop,
  type InstructionFilter,
  type ListInstructionsResponse,
} from '../gen/caravan/operations/v1/operations';
import { InstructionState, type StatusReason } from '../gen/caravan/settlement/v1/status';
import type { Duration } from '../gen/google/protobuf/duration';
import { timestampOf } from '../grpc/instruction-mapping';
import { formatAge, parseDuration } from './duration';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { colouredState } from './instruction-commands';
import { withOfficer } from './officer-session';
import { columns, isoSeconds, millisOf, wholeNumber } from './operations-commands';
import { hitLines } from './screening-commands';
import { paint, print, printFields, printJson } from './terminal-output';

/** 850 ms, 1.4 s, 4m12s: as precise as a person reading a timeline needs. */
function formatSpan(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return formatAge(ms);
}

/** An offset from the instruction's arrival: +0 ms, +12 ms, +1.4 s (negative when clocks disagree). */
function formatOffset(ms: number): string {
  return ms < 0 ? `-${formatSpan(-ms)}` : `+${formatSpan(ms)}`;
}

const durationMs = (d: Duration) => Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);

function reasonOf(reason: StatusReason | undefined): string {
  if (reason === undefined) return '';
  return [reason.code === '' ? '' : paint('bold', reason.code), reason.description]
    .filter((part) => part !== '')
    .join(' ');
}

const TERMINAL = new Set([
  InstructionState.INSTRUCTION_STATE_REJECTED,
  InstructionState.INSTRUCTION_STATE_DELIVERED,
  InstructionState.INSTRUCTION_STATE_FAILED,
]);

function outcomeLabel(hop: Hop): string {
  if (hop.state !== InstructionState.INSTRUCTION_STATE_UNSPECIFIED) return colouredState(hop.state);
  switch (hop.outcome) {
    case 'CLEAR':
    case 'accepted':
      return paint('green', hop.outcome);
    case 'REVIEW':
    case 'UNSCREENED':
    case 'UNKNOWN':
    case 'in-progress':
    case 'unfinished':
    case 'unrecorded':
      return paint('yellow', hop.outcome);
    default:
      // BLOCK, a refused delivery, or a failed call's gRPC status.
      return paint('red', hop.outcome);
  }
}

function hopLabel(hop: Hop): string {
  switch (hop.details?.$case) {
    case 'deliveryAttempt':
      return hop.kind === HopKind.HOP_KIND_DISPATCHER_TAKEOVER
        ? 'takeover'
        : `attempt ${hop.details.value.attempt}`;
    default:
      return (HopKind[hop.kind] ?? String(hop.kind)).replace('HOP_KIND_', '').toLowerCase();
  }
}

function screeningText(hop: Hop, hitsWithheld: boolean): string {
  if (hop.details?.$case !== 'screening') return '';
  const s = hop.details.value;
  if (s.listVersions.length === 0) return hop.detail;
  const lists = s.listVersions.map((v) => `${v.list} v${v.version}`).join(', ');
  const hits =
    s.hitCount === 0
      ? 'no hits'
      : `${s.hitCount} hit${s.hitCount === 1 ? '' : 's'}` +
        (hitsWithheld ? paint('dim', ' (shown to the compliance role only)') : '');
  return `${hop.detail}; lists ${lists}; ${hits}`;
}

function hopText(hop: Hop, res: ExplainInstructionResponse, newTrace: boolean): string {
  const parts: string[] = [];
  if (hop.details?.$case === 'screening') parts.push(screeningText(hop, res.screeningHitsWithheld));
  else {
    if (hop.details?.$case === 'deliveryAttempt' && hop.details.value.counterparty !== '')
      parts.push(`→ ${hop.details.value.counterparty}`);
    parts.push(reasonOf(hop.reason), hop.detail.trim());
  }
  if (newTrace) parts.push(paint('dim', `trace ${hop.traceId}`));
  return parts.filter((p) => p !== '').join('  ');
}

function durationText(hop: Hop, isLast: boolean, state: InstructionState, nowMs: number): string {
  const isStatus = hop.state !== InstructionState.INSTRUCTION_STATE_UNSPECIFIED;
  if (hop.duration !== undefined) {
    const ms = durationMs(hop.duration);
    return isStatus ? `for ${formatSpan(ms)}` : formatSpan(ms);
  }
  if (isLast && isStatus && !TERMINAL.has(state)) {
    return paint('yellow', `for ${formatSpan(Math.max(0, nowMs - millisOf(hop.startTime)))} so far`);
  }
  return '';
}

function printExplanation(res: ExplainInstructionResponse): void {
  const created = millisOf(res.createTime);
  const amount = res.amount === undefined ? '' : `${res.amount.value} ${res.amount.currency}`;
  printFields([
    ['uetr', paint('bold', res.uetr)],
    ['state', [colouredState(res.state), reasonOf(res.reason)].filter((p) => p !== '').join('  ')],
    ['route', `${res.participant} → ${res.creditorAgent}  ${amount}`],
    ['received', isoSeconds(created)],
    [
      'trace id',
      `${res.traceId || '-'}  ${paint('dim', 'open it in Jaeger or Tempo for the spans behind each hop')}`,
    ],
  ]);
  print();
  const now = Date.now();
  // The submission's trace is printed above; a hop names its trace where the story moves to
  // another one (an officer's decision, a replay), which is worth opening on its own.
  let trace = res.traceId;
  const rows = res.hops.map((hop, i) => {
    const newTrace = hop.traceId !== '' && hop.traceId !== trace;
    if (hop.traceId !== '') trace = hop.traceId;
    return [
      paint('dim', formatOffset(millisOf(hop.startTime) - created)),
      hopLabel(hop),
      outcomeLabel(hop),
      durationText(hop, i === res.hops.length - 1, res.state, now),
      hopText(hop, res, newTrace),
    ];
  });
  const lines = columns(rows);
  res.hops.forEach((hop, i) => {
    print(lines[i]);
    if (hop.details?.$case === 'screening') {
      for (const hit of hop.details.value.hits) for (const line of hitLines(hit)) print(`      ${line}`);
    }
  });
}

function explain(uetr: string, opts: { json?: boolean }): Promise<ExitCode> {
  const json = opts.json ?? false;
  return withOfficer('operations', json, async (client, config) => {
    const res = await callUnary(
      client.explainInstruction.bind(client),
      // UUIDs are case-insensitive on input (RFC 4122); the gateway keys them in lower case.
      { uetr: uetr.toLowerCase() },
      callMetadata(config),
      deadline(config),
    );
    if (json) printJson(ExplainInstructionResponse.toJSON(res));
    else printExplanation(res);
    return EXIT.ok;
  });
}

const STATE_NAMES: Readonly<Record<string, InstructionState>> = {
  received: InstructionState.INSTRUCTION_STATE_RECEIVED,
  accepted: InstructionState.INSTRUCTION_STATE_ACCEPTED,
  held: InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW,
  held_for_review: InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW,
  rejected: InstructionState.INSTRUCTION_STATE_REJECTED,
  delivered: InstructionState.INSTRUCTION_STATE_DELIVERED,
  failed: InstructionState.INSTRUCTION_STATE_FAILED,
};

/** Repeatable options that also take comma-separated values: --state failed,rejected --state held. */
function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] = []): T[] => [
    ...previous,
    ...value
      .split(',')
      .filter((v) => v !== '')
      .map(parse),
  ];
}

function stateArg(value: string): InstructionState {
  const state = STATE_NAMES[value.toLowerCase().replace(/-/g, '_')];
  if (state === undefined) {
    throw new InvalidArgumentError(`must be one of ${Object.keys(STATE_NAMES).join(', ')}`);
  }
  return state;
}

function reasonArg(value: string): string {
  const code = value.toUpperCase();
  if (!/^[A-Z0-9]{4}$/.test(code))
    throw new InvalidArgumentError('must be a 4-character ISO 20022 code, e.g. AB05');
  return code;
}

/** A time as ISO 8601 (2026-11-22T10:00Z, 2026-11-22), or a duration ago (90s, 15m, 2h, 3d). */
function timeArg(value: string): number {
  const ago = parseDuration(value);
  if (ago !== null) return Date.now() - ago;
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      'must be an ISO 8601 time such as 2026-11-22T10:00Z, or a duration ago such as 15m',
    );
  }
  return at;
}

function limitArg(value: string): number {
  const n = wholeNumber(value);
  if (n < 1 || n > 1000) throw new InvalidArgumentError('must be from 1 to 1000');
  return n;
}

function traceIdArg(value: string): string {
  const id = value.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new InvalidArgumentError('must be a W3C trace id: 32 hex characters');
  return id;
}

interface ListOptions {
  state?: InstructionState[];
  reason?: string[];
  participant?: string;
  counterparty?: string;
  since?: number;
  until?: number;
  limit: number;
  json?: boolean;
}

function listRow(i: InstructionSummary, now: number): string[] {
  const since = millisOf(i.since);
  return [
    paint('bold', i.uetr),
    colouredState(i.state),
    `${i.participant} → ${i.creditorAgent}`,
    isoSeconds(since),
    formatAge(now - since),
    String(i.attempts),
    i.counterparty || '-',
    i.traceId || '-',
    reasonOf(i.reason),
  ];
}

/** The instructions as a table; false when there were none. */
function printListing(res: ListInstructionsResponse, limit: number, json: boolean): boolean {
  if (json) {
    // Every key always, unlike proto JSON, so that scripts need no "is it there" check.
    printJson({
      instructions: res.instructions.map((i) => InstructionSummary.toJSON(i)),
      truncated: res.truncated,
      partial: res.partial,
    });
    return res.instructions.length > 0;
  }
  if (res.instructions.length === 0) return false;
  const now = Date.now();
  const header = [
    'UETR',
    'STATE',
    'PARTICIPANT → CREDITOR',
    'CHANGED',
    'AGE',
    'ATTEMPTS',
    'COUNTERPARTY',
    'TRACE ID',
    'REASON',
  ];
  const [head, ...lines] = columns([header, ...res.instructions.map((i) => listRow(i, now))]);
  print(paint('dim', head));
  for (const line of lines) print(line);
  print();
  print(
    `${res.instructions.length} instruction${res.instructions.length === 1 ? '' : 's'}, newest change first`,
  );
  if (res.truncated)
    print(paint('yellow', `more match: raise --limit (now ${limit}, at most 1000) or narrow the filter`));
  if (res.partial) {
    print(
      paint(
        'yellow',
        'the search stopped at its bound on instructions examined: narrow --since/--until for older ones',
      ),
    );
  }
  print(paint('dim', 'the story of one: caravan explain <uetr>'));
  return true;
}

/** One ListInstructions call by filter, printed; `nothing` says what an empty answer means. */
function listing(
  filter: InstructionFilter,
  opts: { participant?: string; limit: number; json?: boolean },
  nothing: () => ExitCode,
): Promise<ExitCode> {
  const json = opts.json ?? false;
  return withOfficer('operations', json, async (client, config) => {
    const res = await callUnary(
      client.listInstructions.bind(client),
      { problems: [], stuckAfterMs: '0', participant: opts.participant ?? '', limit: opts.limit, filter },
      callMetadata(config),
      deadline(config),
    );
    return printListing(res, opts.limit, json) ? EXIT.ok : nothing();
  });
}

const NO_FILTER: InstructionFilter = {
  states: [],
  reasonCodes: [],
  counterparty: '',
  since: undefined,
  until: undefined,
  traceId: '',
};

function list(opts: ListOptions): Promise<ExitCode> {
  const filter: InstructionFilter = {
    ...NO_FILTER,
    states: opts.state ?? [],
    reasonCodes: opts.reason ?? [],
    counterparty: opts.counterparty ?? '',
    since: opts.since === undefined ? undefined : timestampOf(opts.since),
    until: opts.until === undefined ? undefined : timestampOf(opts.until),
  };
  return listing(filter, opts, () => {
    if (!opts.json) print('no instruction matches');
    return EXIT.ok;
  });
}

function find(opts: { traceId: string; limit: number; json?: boolean }): Promise<ExitCode> {
  return listing({ ...NO_FILTER, traceId: opts.traceId }, opts, () => {
    if (!opts.json) print(`no instruction was submitted or changed under trace id ${opts.traceId}`);
    return EXIT.notFound;
  });
}

export function registerInvestigateCommands(
  program: Command,
  run: (fn: () => Promise<ExitCode>) => void,
): void {
  program
    .command('explain')
    .description("one settlement's story, hop by hop, from Caravan's own records (operations role)")
    .argument('<uetr>', 'the UETR of the instruction')
    .option('--json', 'print the ExplainInstructionResponse as proto JSON')
    .addHelpText(
      'after',
      `
Each line is a hop: its time from arrival (+0 ms, +12 ms, +1.4 s), what it was (received, screened,
held, released, rejected, accepted, attempt N, takeover, delivered, failed, replayed), its outcome,
how long it took (a delivery call) or how long the instruction stayed in that state ("for ..."),
then the reason and detail. The trace id at the top opens the same story, span by span, in the
tracing backend; explain itself needs none. Screening hits are shown only to an officer who also
holds the compliance role.
Exit codes: 0 shown, 2 malformed UETR, 4 no such instruction, 6 not allowed.

Examples:
  caravan explain 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c
  caravan explain 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c --json | jq '.hops[] | select(.kind == "HOP_KIND_DELIVERY_ATTEMPT")'
`,
    )
    .action((uetr: string, opts: { json?: boolean }) => run(() => explain(uetr, opts)));

  program
    .command('find')
    .description('the instructions submitted or changed under a trace id (operations role)')
    .requiredOption('--trace-id <hex>', 'W3C trace id: 32 hex characters', traceIdArg)
    .addOption(new Option('--limit <n>', 'at most this many (1-1000)').default(100).argParser(limitArg))
    .option(
      '--json',
      'print JSON: {"instructions": [InstructionSummary…], "truncated": bool, "partial": bool}',
    )
    .addHelpText(
      'after',
      `
The trace id may come from a bank's own tracing, a log line or a span in Jaeger/Tempo: it finds the
instruction whose submission carried it, and any instruction an officer's decision or a replay
changed under it. Exit codes: 0 found, 4 none.

Example:
  caravan find --trace-id 4bf92f3577b34da6a3ce929d0e0e4736
`,
    )
    .action((opts: { traceId: string; limit: number; json?: boolean }) => run(() => find(opts)));

  program
    .command('list')
    .description(
      'instructions in any state by state, reason, participant, counterparty and time, newest change first (operations role)',
    )
    .option(
      '--state <state>',
      `only these states (repeat, or comma-separate): ${Object.keys(STATE_NAMES).join(', ')}`,
      collect(stateArg),
    )
    .option(
      '--reason <code>',
      'only these ISO 20022 reason codes (repeat, or comma-separate), e.g. AB05',
      collect(reasonArg),
    )
    .option('--participant <BIC>', "only this participant's instructions", (v: string) => v.toUpperCase())
    .option(
      '--counterparty <name>',
      'only instructions whose latest delivery attempt went to this counterparty',
    )
    .option(
      '--since <time>',
      'last changed at or after: ISO 8601 (2026-11-22T10:00Z) or a duration ago (15m)',
      timeArg,
    )
    .option('--until <time>', 'last changed before: ISO 8601 or a duration ago', timeArg)
    .addOption(new Option('--limit <n>', 'at most this many (1-1000)').default(100).argParser(limitArg))
    .option(
      '--json',
      'print JSON: {"instructions": [InstructionSummary…], "truncated": bool, "partial": bool}',
    )
    .addHelpText(
      'after',
      `
Each line: UETR, state, participant → creditor agent, last change (time and age), delivery attempts,
last counterparty tried, trace id, reason. Every condition given must hold. Caravan keeps the most
recently changed instructions of each partition in its recency index (see the README); a listing
examines a bounded number of them per partition and says so when the bound cut it short.

Examples:
  caravan list --state failed --reason AB05,AB06 --since 2h
  caravan list --counterparty rzbm-primary --since 2026-11-22T09:00Z --until 2026-11-22T10:00Z
  caravan list --state held --participant HSBKKZKX --json | jq -r '.instructions[].uetr'
`,
    )
    .action((opts: ListOptions) => run(() => list(opts)));
}
