import { redactUrl } from '../store/redis-client';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { redisPrefix, type Config } from '../config/config';
import type { CaseOutcome, DemoSettings, RunningDemo } from '../demo/run-demo';
import { Instruction } from '../gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import type { Logger } from '../telemetry/logger';
import { EXIT, type ExitCode } from './exit-codes';
import { isServiceError, reportServiceError } from './gateway-client';
import { colouredState, stateName } from './instruction-commands';
import { columns } from './operations-commands';
import { paint, print, printError, printJson } from './terminal-output';

interface DemoOptions {
  keep?: boolean;
  prefix?: string;
  json?: boolean;
}

const asExpected = (o: CaseOutcome) =>
  o.record.state === o.demoCase.expected.state && (o.record.reason?.code ?? '') === o.demoCase.expected.code;

/** What the receivers and the Operations service say of the delivery, beyond the gateway's reason. */
function deliveryText(o: CaseOutcome): string {
  const d = o.delivery;
  if (d === null) return '';
  if (d.received === 0)
    return `${d.attempts} attempt${d.attempts === 1 ? '' : 's'} to ${d.counterparty}, none answered`;
  return `${d.counterparty} recorded it ${d.received === 1 ? 'once' : `${d.received} times`}`;
}

function printSetup(s: DemoSettings, config: Config): void {
  const d = config.delivery;
  const rows: [string, string][] = [
    [
      'gateway',
      `${s.address}, dispatcher on: ${d.maxAttempts} attempts, retries after ${d.retryBaseMs}-${d.retryMaxMs} ms`,
    ],
    ['redis', `${redactUrl(s.redisUrl)}, keys under ${s.prefix} (deleted at the end)`],
    [
      'lists',
      s.lists
        .map((l) => `${l.list} v${l.version} (${l.entries} entr${l.entries === 1 ? 'y' : 'ies'})`)
        .join(', '),
    ],
    ...s.counterparties.map((c, i): [string, string] => [
      i === 0 ? 'routes' : '',
      `${c.country} → ${c.name} (${c.bic}) at ${c.address}${c.up ? '' : ', where nothing listens'}`,
    ]),
    ['submitter', `${s.participant}, one instruction per case`],
  ];
  for (const [label, value] of rows) print(`${paint('dim', label.padEnd(9))}  ${value}`);
}

function printOutcomes(outcomes: readonly CaseOutcome[]): void {
  const rows = outcomes.map((o) => {
    const reason = o.record.reason;
    const mismatch = asExpected(o)
      ? ''
      : paint('red', ` (expected ${stateName(o.demoCase.expected.state)} ${o.demoCase.expected.code})`);
    return [
      String(o.number),
      o.demoCase.title,
      colouredState(o.record.state) + mismatch,
      reason?.code || '-',
      reason?.description ?? '',
    ];
  });
  const [head, ...lines] = columns([['#', 'case', 'state', 'code', 'reason'], ...rows]);
  print(paint('bold', head));
  lines.forEach((line, i) => {
    const o = outcomes[i];
    print(line);
    print(paint('dim', `   uetr ${o.uetr}  trace ${o.record.traceId}  ${deliveryText(o)}`.trimEnd()));
  });
}

const firstIn = (outcomes: readonly CaseOutcome[], state: InstructionState) =>
  outcomes.find((o) => o.record.state === state)?.uetr ?? '<uetr>';

function printNextSteps(prefixOption: string): void {
  for (const line of [
    `${paint('bold', 'What to try next.')} \`npx caravan demo --keep${prefixOption}\` runs the same, then leaves the gateway,`,
    'its receivers and its data up until Ctrl-C and prints the settings to export in a second terminal.',
    'There `caravan status <uetr>` shows an instruction with its history and trace id, `caravan watch',
    '<uetr>` follows one, `caravan holds list` explains why case 4 is held (two officers release it with',
    '`caravan holds release <uetr> --comment …`), `caravan failed` lists the delivery that failed, and',
    '`caravan replay <uetr> --comment …` sends it again once a receiver listens where its route points',
    '(`caravan receiver --listen <address>`).',
  ]) {
    print(line);
  }
}

function printKeep(s: DemoSettings, outcomes: readonly CaseOutcome[]): void {
  const [alice, bob] = s.officers;
  const down = s.counterparties.find((c) => !c.up);
  const delivered = firstIn(outcomes, InstructionState.INSTRUCTION_STATE_DELIVERED);
  const held = firstIn(outcomes, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
  const failed = firstIn(outcomes, InstructionState.INSTRUCTION_STATE_FAILED);
  const lines = [
    `export CARAVAN_DEV_INSECURE=true CARAVAN_ADDR=${s.address} CARAVAN_PARTICIPANT=${s.participant}`,
    `export CARAVAN_TOKEN=${alice.token}   # ${alice.id}: ${alice.roles.join(' and ')}`,
    `npx caravan status ${delivered}`,
    'npx caravan holds list',
    `npx caravan holds release ${held} --comment "demo: a different company"`,
    `CARAVAN_TOKEN=${bob.token} npx caravan holds release ${held} --comment "demo: agreed"   # ${bob.id}: four eyes`,
    `npx caravan watch ${held}`,
    'npx caravan failed',
    ...(down === undefined
      ? []
      : [
          `REDIS_URL=${redactUrl(s.redisUrl)} npx caravan receiver --listen ${down.address} --bic ${down.bic} --name ${down.name} --prefix ${s.prefix} &`,
        ]),
    `npx caravan replay ${failed} --comment "demo: ${down?.name ?? 'the counterparty'} is back"`,
    `npx caravan status ${failed}`,
  ];
  print(
    `${paint('bold', 'The demo keeps running')} until Ctrl-C, which stops it and deletes its keys. In another terminal:`,
  );
  print();
  for (const line of lines) print(`  ${line}`);
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function printJsonReport(demo: RunningDemo): void {
  printJson({
    prefix: demo.settings.prefix,
    address: demo.settings.address,
    cases: demo.outcomes.map((o) => ({
      case: o.number,
      title: o.demoCase.title,
      asExpected: asExpected(o),
      delivery: o.delivery,
      instruction: Instruction.toJSON({ ...o.record, instruction: undefined }),
    })),
  });
}

async function runAndReport(
  config: Config,
  log: Logger,
  opts: DemoOptions,
  interrupt: AbortSignal,
): Promise<ExitCode> {
  const { runDemo, DemoPrefixInUse } = await import('../demo/run-demo');
  const human = !opts.json;
  let demo: RunningDemo;
  try {
    demo = await runDemo(config, log, interrupt);
  } catch (err) {
    if (interrupt.aborted) {
      printError(
        `interrupted: stopped what the demo had started and deleted its keys under ${config.redisPrefix}`,
      );
      return EXIT.interrupted;
    }
    if (err instanceof DemoPrefixInUse) {
      printError(err.message);
      return EXIT.usage;
    }
    if (isServiceError(err)) return reportServiceError(err, 'the demo gateway', opts.json ?? false);
    throw err;
  }
  try {
    if (human) {
      printSetup(demo.settings, config);
      print();
      printOutcomes(demo.outcomes);
      print();
    } else {
      printJsonReport(demo);
    }
    if (opts.keep) {
      if (human) printKeep(demo.settings, demo.outcomes);
      await aborted(interrupt);
      if (human) print();
    }
  } finally {
    await demo.stop();
  }
  if (human) {
    print(`Stopped the gateway and the receivers, and deleted every key under ${config.redisPrefix}.`);
    if (!opts.keep) {
      print();
      printNextSteps(opts.prefix === undefined ? '' : ` --prefix ${opts.prefix}`);
    }
  }
  const unexpected = demo.outcomes.filter((o) => !asExpected(o));
  if (unexpected.length > 0) {
    printError(`case ${unexpected.map((o) => o.number).join(', ')} did not end as the demo expects`);
    return EXIT.failure;
  }
  return EXIT.ok;
}

async function demo(opts: DemoOptions): Promise<ExitCode> {
  const prefix = opts.prefix ?? `caravan-demo-${randomBytes(4).toString('hex')}`;
  const checked = redisPrefix.safeParse(prefix);
  if (!checked.success) {
    printError(`--prefix ${checked.error.issues[0].message}`);
    return EXIT.usage;
  }
  // Ctrl-C from here on stops what the demo started instead of leaving it behind; a second one kills.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await startAndRun(prefix, opts, interrupt.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function startAndRun(prefix: string, opts: DemoOptions, interrupt: AbortSignal): Promise<ExitCode> {
  // The server side loads only here, so the client commands start fast.
  const [{ startTracing }, { createLogger }, { demoConfig }, { localRedis }] = await Promise.all([
    import('../telemetry/tracing'),
    import('../telemetry/logger'),
    import('../demo/run-demo'),
    import('./local-redis'),
  ]);
  const settings = demoConfig({
    prefix,
    redisUrl: process.env.REDIS_URL,
    logLevel: process.env.CARAVAN_LOG_LEVEL ?? 'error',
  });
  startTracing();
  // Logs go to stderr, so that stdout is the report alone.
  const log = createLogger(settings.logLevel, process.stderr);
  // A private redis-server, when one is needed, lives in a directory of its own that goes with it.
  const dir = mkdtempSync(path.join(tmpdir(), 'caravan-demo-'));
  try {
    const redis = await localRedis(settings, log, dir);
    if (redis === null) return EXIT.config;
    if (interrupt.aborted) {
      await redis.privateRedis?.stop();
      return EXIT.interrupted;
    }
    if (!opts.json) {
      const where = redis.privateRedis ? ' (no Redis on 127.0.0.1:6379: started a private redis-server)' : '';
      print(`Caravan demo: a gateway, two reference receivers and seven instructions${where}`);
      print();
    }
    try {
      return await runAndReport(redis.config, log, opts, interrupt);
    } finally {
      await redis.privateRedis?.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function registerDemoCommand(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  program
    .command('demo')
    .description(
      'start a gateway, two reference receivers, sample lists and routes; submit seven instructions and show what happened to each',
    )
    .option(
      '--keep',
      'leave everything running with its data until Ctrl-C, and print the settings to explore it',
    )
    .option('--prefix <prefix>', 'Redis key prefix (default caravan-demo-<random>); it must hold no keys yet')
    .option('--json', 'print the outcomes as JSON')
    .addHelpText(
      'after',
      `
The cases: delivered to a Russian and to a Georgian bank; a sanctioned party (REJECTED RR04); a
doubtful name (HELD_FOR_REVIEW); a Mir card (REJECTED AG01); no route (REJECTED CNOR); a
counterparty that is down (FAILED after a few quick attempts). Everything runs in this process in
development mode (plaintext, on loopback), on the Redis of REDIS_URL, else 127.0.0.1:6379, else a
private redis-server; every key is under the demo's own prefix and deleted when it ends.
CARAVAN_LOG_LEVEL (default error) sets the level of the logs, written to stderr.

Exit codes: 0 every case ended as described, 1 one did not, 2 a bad --prefix or one that holds
keys already, 78 no Redis to use, 130 interrupted.

Examples:
  caravan demo
  caravan demo --keep
`,
    )
    .action((opts: DemoOptions) => run(() => demo(opts)));
}
