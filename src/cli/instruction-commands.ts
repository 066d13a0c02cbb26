import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { loadClientConfig, type ClientConfig } from '../config/config';
import {
  Instruction,
  InstructionEvent,
  SubmitInstructionResponse,
  type SettlementGatewayClient,
} from '../gen/caravan/settlement/v1/gateway';
import { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import { InstructionState, IsoStatus, type StatusEvent } from '../gen/caravan/settlement/v1/status';
import type { Timestamp } from '../gen/google/protobuf/timestamp';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline, gatewayClient, isServiceError, reportServiceError } from './gateway-client';
import { paint, print, printError, printFields, printJson } from './terminal-output';

export const stateName = (s: InstructionState): string =>
  InstructionState[s]?.replace('INSTRUCTION_STATE_', '') ?? String(s);
const isoName = (s: IsoStatus) => IsoStatus[s]?.replace('ISO_STATUS_', '') ?? String(s);
const timeOf = (t: Timestamp | undefined) =>
  t === undefined ? '' : new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString();

export function colouredState(state: InstructionState): string {
  const name = stateName(state);
  switch (state) {
    case InstructionState.INSTRUCTION_STATE_ACCEPTED:
    case InstructionState.INSTRUCTION_STATE_DELIVERED:
      return paint('green', name);
    case InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW:
      return paint('yellow', name);
    case InstructionState.INSTRUCTION_STATE_REJECTED:
    case InstructionState.INSTRUCTION_STATE_FAILED:
      return paint('red', name);
    default:
      return name;
  }
}

/** A status reason as one line: its code and description, or whichever of them there is. */
export function reasonText(reason: { code: string; description: string } | undefined): string {
  if (reason === undefined) return '';
  return [reason.code, reason.description].filter((part) => part !== '').join(' ');
}

/** Exit code for a state a command ends on: a business rejection is not a success for scripts. */
function exitForState(state: InstructionState): ExitCode {
  return state === InstructionState.INSTRUCTION_STATE_REJECTED ||
    state === InstructionState.INSTRUCTION_STATE_FAILED
    ? EXIT.rejected
    : EXIT.ok;
}

function eventLine(event: StatusEvent): string {
  const reason = reasonText(event.reason);
  return [
    paint('dim', timeOf(event.occurredAt)),
    `#${event.sequence}`,
    colouredState(event.state),
    `(${isoName(event.isoStatus)})`,
    reason,
  ]
    .filter((part) => part !== '')
    .join('  ');
}

/** Reads an instruction in the proto JSON mapping; unknown keys are refused rather than ignored. */
async function readInstructionFile(file: string): Promise<SettlementInstruction | string> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : await readFile(file, 'utf8');
  } catch (err) {
    return `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `${file} is not valid JSON: ${(err as Error).message}`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return `${file} must hold one JSON object: a SettlementInstruction in the proto JSON mapping`;
  }
  const body = 'instruction' in json && Object.keys(json).length === 1 ? json.instruction : json;
  const instruction = SettlementInstruction.fromJSON(body);
  const unknown = unknownKeys(body, SettlementInstruction.toJSON(instruction));
  if (unknown.length > 0) {
    return `${file}: unknown or mistyped field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (field names are the proto JSON names, e.g. instructingAgent)`;
  }
  return instruction;
}

/** Keys present in the input but lost in the decode/encode round trip: typos and wrong types. */
function unknownKeys(input: unknown, decoded: unknown, path = ''): string[] {
  if (typeof input !== 'object' || input === null) return [];
  if (Array.isArray(input)) {
    const out = Array.isArray(decoded) ? decoded : [];
    return input.flatMap((item, i) => unknownKeys(item, out[i], `${path}[${i}]`));
  }
  const known = typeof decoded === 'object' && decoded !== null ? (decoded as Record<string, unknown>) : {};
  return Object.entries(input as Record<string, unknown>).flatMap(([key, value]) => {
    const here = path === '' ? key : `${path}.${key}`;
    const camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!(camel in known)) return isDefault(value) ? [] : [here];
    return unknownKeys(value, known[camel], here);
  });
}

/** proto3 JSON leaves out default values, so an explicit "" or 0 in the input is not a typo. */
function isDefault(value: unknown): boolean {
  return (
    value === '' ||
    value === 0 ||
    value === false ||
    value === null ||
    (Array.isArray(value) && value.length === 0)
  );
}

async function withClient<T>(
  fn: (client: SettlementGatewayClient, config: ClientConfig) => Promise<T>,
): Promise<T> {
  const config = loadClientConfig();
  const client = gatewayClient(config);
  try {
    return await fn(client, config);
  } finally {
    client.close();
  }
}

function failure(err: unknown, config: ClientConfig, json: boolean): ExitCode {
  if (isServiceError(err)) return reportServiceError(err, config.address, json);
  throw err;
}

async function submit(file: string, opts: { json?: boolean }): Promise<ExitCode> {
  const instruction = await readInstructionFile(file);
  if (typeof instruction === 'string') {
    printError(instruction);
    return EXIT.usage;
  }
  return withClient(async (client, config) => {
    try {
      const response = await new Promise<SubmitInstructionResponse>((resolve, reject) =>
        client.submitInstruction(
          { instruction },
          callMetadata(config),
          { deadline: deadline(config) },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
      if (opts.json) {
        printJson(SubmitInstructionResponse.toJSON(response));
      } else {
        printFields([
          ['uetr', response.uetr],
          [
            'state',
            colouredState(response.state) +
              (response.replayed ? paint('dim', '  (replayed: submitted before)') : ''),
          ],
          ['iso status', isoName(response.isoStatus)],
          ...(response.reason?.code ? ([['reason', reasonText(response.reason)]] as [string, string][]) : []),
          ['trace id', response.traceId],
        ]);
      }
      return exitForState(response.state);
    } catch (err) {
      return failure(err, config, opts.json ?? false);
    }
  });
}

async function showStatus(uetr: string, opts: { json?: boolean }): Promise<ExitCode> {
  return withClient(async (client, config) => {
    try {
      const record = await new Promise<Instruction>((resolve, reject) =>
        client.getInstruction({ uetr }, callMetadata(config), { deadline: deadline(config) }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      if (opts.json) {
        printJson(Instruction.toJSON(record));
      } else {
        const ins = record.instruction;
        printFields([
          ['uetr', record.uetr],
          ['state', colouredState(record.state)],
          ['iso status', isoName(record.isoStatus)],
          ...(record.reason?.code ? ([['reason', reasonText(record.reason)]] as [string, string][]) : []),
          ['participant', record.participant],
          ['amount', `${ins?.amount?.value ?? ''} ${ins?.amount?.currency ?? ''}`],
          ['creditor agent', ins?.creditorAgent?.bic ?? ''],
          ['created', timeOf(record.createdAt)],
          ['updated', timeOf(record.updatedAt)],
          ['trace id', record.traceId],
        ]);
        print();
        print(paint('bold', 'history'));
        for (const event of record.history) print(`  ${eventLine(event)}`);
      }
      return exitForState(record.state);
    } catch (err) {
      return failure(err, config, opts.json ?? false);
    }
  });
}

async function watch(uetr: string, opts: { json?: boolean }): Promise<ExitCode> {
  return withClient(async (client, config) => {
    // A watch lasts until the settlement ends, so it has no deadline; Ctrl-C cancels it.
    const stream = client.watchInstruction({ uetr }, callMetadata(config));
    const cancel = () => stream.cancel();
    process.once('SIGINT', cancel);
    let last: InstructionState = InstructionState.INSTRUCTION_STATE_UNSPECIFIED;
    try {
      for await (const item of stream as AsyncIterable<InstructionEvent>) {
        if (item.event === undefined) continue;
        last = item.event.state;
        print(opts.json ? JSON.stringify(InstructionEvent.toJSON(item)) : eventLine(item.event));
      }
      return exitForState(last);
    } catch (err) {
      if (isServiceError(err) && err.code === status.CANCELLED) return EXIT.interrupted;
      return failure(err, config, opts.json ?? false);
    } finally {
      process.removeListener('SIGINT', cancel);
    }
  });
}

export function registerInstructionCommands(
  program: Command,
  run: (fn: () => Promise<ExitCode>) => void,
): void {
  program
    .command('submit')
    .description('submit a settlement instruction from a JSON file (proto JSON mapping; - for stdin)')
    .argument('<file>', 'the instruction as JSON: a SettlementInstruction, or {"instruction": {...}}')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  CARAVAN_DEV_INSECURE=true CARAVAN_PARTICIPANT=HSBKKZKX caravan submit examples/instruction.json\n',
    )
    .action((file: string, opts: { json?: boolean }) => run(() => submit(file, opts)));

  program
    .command('status')
    .description('show one of your instructions: its state, reason and full history')
    .argument('<uetr>', 'the UETR of the instruction')
    .option('--json', 'print the record as JSON')
    .addHelpText('after', '\nExample:\n  caravan status 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c\n')
    .action((uetr: string, opts: { json?: boolean }) => run(() => showStatus(uetr.toLowerCase(), opts)));

  program
    .command('watch')
    .description('follow an instruction: print its history, then every change until a final state')
    .argument('<uetr>', 'the UETR of the instruction')
    .option('--json', 'print one JSON object per event')
    .addHelpText('after', '\nExample:\n  caravan watch 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c\n')
    .action((uetr: string, opts: { json?: boolean }) => run(() => watch(uetr.toLowerCase(), opts)));
}
