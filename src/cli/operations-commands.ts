import { stripVTControlCharacters } from 'node:util';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  InstructionProblem,
  InstructionSummary,
  ReplayInstructionResponse,
  type ReplayInstructionRequest,
} from '../gen/caravan/operations/v1/operations';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import type { Timestamp } from '../gen/google/protobuf/timestamp';
import { formatAge, parseDuration } from './duration';
import { reasonText, stateName } from './instruction-commands';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withOfficer } from './officer-session';
import { paint, print, printFields, printJson } from './terminal-output';

/**
 * Rows as aligned columns, two spaces apart. Widths are measured without colour codes, and the
 * last cell is not padded, so free text there (a reason) never pushes the other columns apart.
 */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, stripVTControlCharacters(cell).length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - stripVTControlCharacters(cell).length),
      )
      .join('  ')
      .trimEnd(),
  );
}

export function millisOf(t: Timestamp | undefined): number {
  return t === undefined ? 0 : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

/** Seconds are precise enough to read; --json keeps the milliseconds. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function wholeNumber(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

// 0 on the wire means "the gateway's default" (100), which is not what someone typing 0 asked for.
function limitArg(value: string): number {
  const n = wholeNumber(value);
  if (n === 0) throw new InvalidArgumentError('must be from 1 to 1000');
  return n;
}

const PROBLEMS = {
  failed: InstructionProblem.INSTRUCTION_PROBLEM_FAILED,
  stuck: InstructionProblem.INSTRUCTION_PROBLEM_STUCK,
  held: InstructionProblem.INSTRUCTION_PROBLEM_HELD,
} as const;
type ProblemName = keyof typeof PROBLEMS;

function problemLabel(problem: InstructionProblem): string {
  switch (problem) {
    case InstructionProblem.INSTRUCTION_PROBLEM_FAILED:
      return paint('red', 'FAILED');
    case InstructionProblem.INSTRUCTION_PROBLEM_STUCK:
      return paint('yellow', 'STUCK');
    case InstructionProblem.INSTRUCTION_PROBLEM_HELD:
      return paint('yellow', 'HELD');
    default:
      return String(problem);
  }
}

interface StuckAfter {
  text: string;
  ms: number;
}

function stuckAfterArg(value: string): StuckAfter {
  const ms = parseDuration(value);
  // 0 on the wire means "the gateway's default", which is not what someone typing 0s asked for.
  if (ms === null || ms === 0) {
    throw new InvalidArgumentError('must be a duration above zero such as 90s, 5m, 1h or 1h30m');
  }
  return { text: value, ms };
}

interface FailedOptions {
  stuckAfter: StuckAfter;
  participant?: string;
  limit: number;
  held?: boolean;
  only?: ProblemName;
  json?: boolean;
}

function problemRow(i: InstructionSummary, now: number): string[] {
  const since = millisOf(i.since);
  return [
    paint('bold', i.uetr),
    problemLabel(i.problem),
    stateName(i.state),
    `${i.participant} → ${i.creditorAgent}`,
    isoSeconds(since),
    formatAge(now - since),
    String(i.attempts),
    i.counterparty || '-',
    i.traceId || '-',
    reasonText(i.reason),
  ];
}

function listFailed(opts: FailedOptions): Promise<ExitCode> {
  const wanted: ProblemName[] = opts.only
    ? [opts.only]
    : opts.held
      ? ['failed', 'stuck', 'held']
      : ['failed', 'stuck'];
  return withOfficer('operations', opts.json ?? false, async (client, config) => {
    const res = await callUnary(
      client.listInstructions.bind(client),
      {
        problems: wanted.map((p) => PROBLEMS[p]),
        stuckAfterMs: String(opts.stuckAfter.ms),
        participant: opts.participant ?? '',
        limit: opts.limit,
      },
      callMetadata(config),
      deadline(config),
    );
    if (opts.json) {
      // Both keys always, unlike proto JSON, so that scripts need no "is it there" check.
      printJson({
        instructions: res.instructions.map((i) => InstructionSummary.toJSON(i)),
        truncated: res.truncated,
      });
      return EXIT.ok;
    }
    const what = wanted.length === 1 ? wanted[0] : `${wanted.slice(0, -1).join(', ')} or ${wanted.at(-1)}`;
    const of = opts.participant ? ` of ${opts.participant}` : '';
    const stuckMeaning = wanted.includes('stuck')
      ? paint('dim', ` (stuck: accepted and not delivered for over ${opts.stuckAfter.text})`)
      : '';
    if (res.instructions.length === 0) {
      print(`nothing to do: no ${what} instructions${of}${stuckMeaning}`);
      return EXIT.ok;
    }
    const now = Date.now();
    const header = [
      'UETR',
      'PROBLEM',
      'STATE',
      'PARTICIPANT → CREDITOR',
      'SINCE',
      'AGE',
      'ATTEMPTS',
      'COUNTERPARTY',
      'TRACE ID',
      'REASON',
    ];
    const [head, ...lines] = columns([header, ...res.instructions.map((i) => problemRow(i, now))]);
    print(paint('dim', head));
    for (const line of lines) print(line);
    const counts = wanted
      .map((p) => [p, res.instructions.filter((i) => i.problem === PROBLEMS[p]).length] as const)
      .filter(([, n]) => n > 0)
      .map(([p, n]) => `${n} ${p}`);
    print();
    print(
      `${res.instructions.length} instruction${res.instructions.length === 1 ? '' : 's'}${of}: ${counts.join(', ')}${stuckMeaning}`,
    );
    if (res.truncated) {
      print(
        paint(
          'yellow',
          `more match: raise --limit (now ${opts.limit}, at most 1000) or narrow with --participant`,
        ),
      );
    }
    if (res.instructions.some((i) => i.problem === PROBLEMS.failed)) {
      print(
        paint(
          'dim',
          'replay a failed one once its cause is fixed: caravan replay <uetr> --comment "<ticket>"',
        ),
      );
    }
    return EXIT.ok;
  });
}

function replayOutcome(state: InstructionState): string {
  switch (state) {
    case InstructionState.INSTRUCTION_STATE_ACCEPTED:
      return `${paint('green', 'ACCEPTED')}  queued for delivery again`;
    case InstructionState.INSTRUCTION_STATE_REJECTED:
      return `${paint('red', 'REJECTED')}  stopped by screening against today's lists: not delivered`;
    case InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW:
      return `${paint('yellow', 'HELD_FOR_REVIEW')}  screening against today's lists holds it for a compliance officer`;
    default:
      return stateName(state);
  }
}

function replay(uetr: string, opts: { comment: string; json?: boolean }): Promise<ExitCode> {
  const json = opts.json ?? false;
  // UUIDs are case-insensitive on input (RFC 4122); the gateway keys them in lower case.
  const request: ReplayInstructionRequest = { uetr: uetr.toLowerCase(), comment: opts.comment };
  return withOfficer('operations', json, async (client, config) => {
    const res = await callUnary(
      client.replayInstruction.bind(client),
      request,
      callMetadata(config),
      deadline(config),
    );
    if (json) printJson(ReplayInstructionResponse.toJSON(res));
    else {
      printFields([
        ['uetr', res.uetr],
        ['state', replayOutcome(res.state)],
        ['reason', reasonText(res.reason)],
      ]);
    }
    return res.state === InstructionState.INSTRUCTION_STATE_REJECTED ? EXIT.rejected : EXIT.ok;
  });
}

export function registerOperationsCommands(
  program: Command,
  run: (fn: () => Promise<ExitCode>) => void,
): void {
  program
    .command('failed')
    .description('settlements that need an operator: failed and stuck ones, newest first (operations role)')
    .addOption(
      new Option(
        '--stuck-after <duration>',
        'an accepted instruction not delivered for this long is stuck (90s, 5m, 1h)',
      )
        .default({ text: '5m', ms: 300_000 } satisfies StuckAfter, '5m')
        .argParser(stuckAfterArg),
    )
    .option('--participant <BIC>', "only this participant's instructions", (v: string) => v.toUpperCase())
    .addOption(new Option('--limit <n>', 'at most this many (1-1000)').default(100).argParser(limitArg))
    .option('--held', 'also instructions held for compliance review')
    .addOption(
      new Option('--only <problem>', 'only one kind of problem')
        .choices(Object.keys(PROBLEMS))
        .conflicts('held'),
    )
    .option('--json', 'print JSON: {"instructions": [InstructionSummary…], "truncated": bool}')
    .addHelpText(
      'after',
      `
Each line: UETR, problem, state, participant → creditor agent, since (time and age), delivery
attempts, last counterparty tried, trace id (open it in the tracing backend), reason code and text.

Examples:
  caravan failed
  caravan failed --stuck-after 90s --participant HSBKKZKX
  caravan failed --only failed --json | jq -r '.instructions[].uetr'
`,
    )
    .action((opts: FailedOptions) => run(() => listFailed(opts)));

  program
    .command('replay')
    .description(
      "send a FAILED instruction to delivery again, after screening it against today's lists (operations role)",
    )
    .argument('<uetr>', 'the UETR of the failed instruction')
    .requiredOption('--comment <text>', 'why, e.g. the ticket number; kept in the audit log')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      `
The receiver deduplicates on the UETR, so replaying a transfer it already took does not pay twice.
Exit codes: 0 queued for delivery again (or held for review), 3 rejected by screening,
4 no such instruction, 7 not FAILED or no route takes it (put a route first).

Example:
  caravan replay 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c --comment "INC-4711: counterparty moved to 10.0.0.7"
`,
    )
    .action((uetr: string, opts: { comment: string; json?: boolean }) => run(() => replay(uetr, opts)));
}
