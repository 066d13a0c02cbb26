import type { Command } from 'commander';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withCompliance } from './officer-session';
import { paint, print, printJson } from './terminal-output';

export function registerAuditCommands(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  const audit = program
    .command('audit')
    .description('the hash-chained audit log of list changes and hold decisions');

  audit
    .command('list', { isDefault: true })
    .description('audit events, oldest first')
    .option('--after <sequence>', 'events after this sequence number', '0')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON lines')
    .action((opts: { after: string; limit: string; json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.listAuditEvents.bind(client),
            { afterSequence: opts.after, limit: Number(opts.limit) },
            callMetadata(config),
            deadline(config),
          );
          for (const e of res.events) {
            const at = e.occurredAt ? new Date(Number(e.occurredAt.seconds) * 1000).toISOString() : '';
            print(
              opts.json
                ? JSON.stringify(e)
                : `#${e.sequence}  ${at}  ${e.actor}  ${paint('bold', e.action)}  ${e.subject}  ${e.detailsJson}`,
            );
          }
          return EXIT.ok;
        }),
      ),
    );

  audit
    .command('verify')
    .description('recompute the hash chain; exit 3 if any event was changed or removed')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.verifyAuditLog.bind(client),
            {},
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson(res);
          else if (res.intact) print(`${paint('green', 'intact')}: ${res.checked} events checked`);
          else
            print(
              `${paint('red', 'TAMPERED')}: event ${res.firstBadSequence}: ${res.problem} (${res.checked} checked)`,
            );
          return res.intact ? EXIT.ok : EXIT.rejected;
        }),
      ),
    );
}
