/**
 * Exit codes of the `caravan` command, stable for scripts (listed in `caravan --help`):
 * 0 done (instruction accepted, held, delivered); 1 unexpected failure; 2 bad usage or bad input
 * (unreadable file, INVALID_ARGUMENT); 3 the instruction was rejected or failed (a business answer);
 * 4 not found or not yours; 5 the gateway or its storage is unavailable (retry); 6 refused by
 * authentication or authorisation; 7 conflict (the UETR is already used by another instruction, or
 * the instruction is not in a state the command applies to);
 * 78 the configuration is invalid; 130 interrupted.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  rejected: 3,
  notFound: 4,
  unavailable: 5,
  denied: 6,
  conflict: 7,
  config: 78,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0   done: the instruction is accepted, held for review or delivered
  1   unexpected failure
  2   bad usage or bad input (unreadable file, invalid instruction)
  3   the instruction was rejected or its delivery failed
  4   no such instruction for this participant
  5   the gateway or its storage is unavailable: retry (submissions are idempotent on the UETR)
  6   not authenticated or not allowed
  7   conflict: the UETR is used by a different instruction, or the instruction is not in a state
      the command applies to (e.g. replaying one that did not fail)
  78  invalid configuration (environment variables)
  130 interrupted (Ctrl-C)`;
