import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes';
import { registerAuditCommands } from './audit-commands';
import { registerDemoCommand } from './demo-command';
import { registerDispatchCommand } from './dispatch-command';
import { registerHoldsCommands } from './holds-commands';
import { registerInstructionCommands } from './instruction-commands';
import { registerInvestigateCommands } from './investigate-commands';
import { registerListsCommands } from './lists-commands';
import { registerOperationsCommands } from './operations-commands';
import { registerReceiverCommand } from './receiver-command';
import { registerRoutesCommands } from './routes-commands';
import { registerScreeningCommands } from './screening-commands';
import { registerServeCommand } from './serve-command';
import { printError } from './terminal-output';

function run(fn: () => Promise<ExitCode>): void {
  fn()
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        printError(err.message);
        process.exitCode = EXIT.config;
        return;
      }
      printError(err instanceof Error ? err.message : String(err));
      process.exitCode = EXIT.failure;
    });
}

export function buildProgram(): Command {
  const program = new Command('caravan')
    .description('Caravan: cross-border settlement gateway — run it, and talk to it over gRPC')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerServeCommand(program, run);
  registerDemoCommand(program, run);
  registerDispatchCommand(program, run);
  registerReceiverCommand(program, run);
  registerInstructionCommands(program, run);
  registerListsCommands(program, run);
  registerScreeningCommands(program, run);
  registerHoldsCommands(program, run);
  registerAuditCommands(program, run);
  registerRoutesCommands(program, run);
  registerOperationsCommands(program, run);
  registerInvestigateCommands(program, run);
  return program;
}

export function main(argv: string[]): void {
  try {
    buildProgram().parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw err;
  }
}

if (require.main === module) main(process.argv);
