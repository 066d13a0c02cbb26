import type { Command } from 'commander';
import { HoldDecision, ListHoldsResponse } from '../gen/caravan/compliance/v1/compliance';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withCompliance } from './officer-session';
import { hitLines } from './screening-commands';
import { paint, print, printJson } from './terminal-output';

async function decide(
  uetr: string,
  decision: HoldDecision,
  opts: { comment: string; reason?: string; evidence?: string; json?: boolean },
): Promise<ExitCode> {
  return withCompliance(opts.json ?? false, async (client, config) => {
    const res = await callUnary(
      client.decideHold.bind(client),
      { uetr, decision, comment: opts.comment, reasonCode: opts.reason ?? '', evidence: opts.evidence ?? '' },
      callMetadata(config),
      deadline(config),
    );
    const state = InstructionState[res.state].replace('INSTRUCTION_STATE_', '');
    if (opts.json) printJson({ state, releasedBy: res.releasedBy, releasesNeeded: res.releasesNeeded });
    else if (res.releasesNeeded > 0) {
      print(
        `${paint('yellow', 'release recorded')}: ${res.releasesNeeded} more release(s) by another officer needed (released by ${res.releasedBy.join(', ')})`,
      );
    } else print(`${uetr}  ${state}`);
    return EXIT.ok;
  });
}

const EVIDENCE_HELP =
  'the evidence tag `holds list` showed: the decision is refused if the instruction was screened again since';

export function registerHoldsCommands(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  const holds = program
    .command('holds')
    .description('instructions held for compliance review (compliance role)');

  holds
    .command('list', { isDefault: true })
    .description('held instructions, oldest first, with the hits that held them')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action((opts: { limit: string; json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.listHolds.bind(client),
            { pageSize: Number(opts.limit) },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) {
            printJson(ListHoldsResponse.toJSON(res));
            return EXIT.ok;
          }
          if (res.holds.length === 0) print('no instruction is held');
          for (const h of res.holds) {
            const at = h.heldAt ? new Date(Number(h.heldAt.seconds) * 1000).toISOString() : '';
            print(
              `${paint('bold', h.uetr)}  ${h.participant}  ${h.amount}  held ${at}  evidence ${h.evidence}${h.releasedBy.length ? `  released by ${h.releasedBy.join(', ')}` : ''}`,
            );
            for (const hit of h.hits) for (const line of hitLines(hit)) print(`  ${line}`);
          }
          return EXIT.ok;
        }),
      ),
    );

  holds
    .command('release')
    .description('release a held instruction (with four-eyes, a second officer must release it too)')
    .argument('<uetr>', 'the held instruction')
    .requiredOption('--comment <text>', 'your justification, kept in the audit log')
    .option('--evidence <tag>', EVIDENCE_HELP)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  caravan holds release 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c --evidence 5c1d0e9a7b3f2a61 --comment "false positive: different person, DOB differs"\n',
    )
    .action((uetr: string, opts: { comment: string; evidence?: string; json?: boolean }) =>
      run(() => decide(uetr, HoldDecision.HOLD_DECISION_RELEASE, opts)),
    );

  holds
    .command('reject')
    .description('reject a held instruction')
    .argument('<uetr>', 'the held instruction')
    .requiredOption('--comment <text>', 'your justification, kept in the audit log')
    .option('--reason <code>', 'ISO 20022 reason code', 'RR04')
    .option('--evidence <tag>', EVIDENCE_HELP)
    .option('--json', 'print JSON')
    .action((uetr: string, opts: { comment: string; reason?: string; evidence?: string; json?: boolean }) =>
      run(() => decide(uetr, HoldDecision.HOLD_DECISION_REJECT, opts)),
    );
}
