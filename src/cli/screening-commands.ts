import type { Command } from 'commander';
import { ScreenPartyResponse } from '../gen/caravan/compliance/v1/compliance';
import { ScreeningDecision, type ScreeningHit } from '../gen/caravan/compliance/v1/screening';
import { CardScheme, IdentifierType, type Party } from '../gen/caravan/settlement/v1/instruction';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withCompliance } from './officer-session';
import { paint, print, printError, printJson } from './terminal-output';

/** One hit, explained the way an officer reads it: what matched what, how well, and why. */
export function hitLines(hit: ScreeningHit): string[] {
  const effect =
    hit.effect === ScreeningDecision.SCREENING_DECISION_BLOCK
      ? paint('red', 'BLOCK ')
      : paint('yellow', 'REVIEW');
  const lines = [
    `${effect} ${hit.field}  ~  ${hit.matched}${hit.nameKind && hit.nameKind !== 'primary' ? ` (${hit.nameKind})` : ''}  score ${hit.score.toFixed(3)}`,
    `       ${hit.list}@${hit.listVersion} entry ${hit.entryId}  ref ${hit.ref}  ${hit.subject}  ${hit.programs.join(', ')}`,
  ];
  if (hit.pairs.length > 0) {
    lines.push(
      `       tokens: ${hit.pairs.map((p) => `${p.query}~${p.candidate} ${p.similarity.toFixed(2)}`).join(', ')}`,
    );
  }
  if (hit.unmatchedQuery.length + hit.unmatchedCandidate.length > 0) {
    lines.push(
      `       unpaired: screened [${hit.unmatchedQuery.join(' ')}] listed [${hit.unmatchedCandidate.join(' ')}]`,
    );
  }
  return lines;
}

interface ScreenOptions {
  name?: string;
  country?: string;
  bic?: string[];
  iban?: string;
  wallet?: string;
  id?: string[];
  cardScheme?: string;
  bin?: string;
  minScore?: string;
  json?: boolean;
}

const ID_TYPES: Record<string, IdentifierType> = {
  bic: IdentifierType.IDENTIFIER_TYPE_BIC,
  lei: IdentifierType.IDENTIFIER_TYPE_LEI,
  'kz-bin': IdentifierType.IDENTIFIER_TYPE_KZ_BIN,
  'kz-iin': IdentifierType.IDENTIFIER_TYPE_KZ_IIN,
  'ru-inn': IdentifierType.IDENTIFIER_TYPE_RU_INN,
  'ru-ogrn': IdentifierType.IDENTIFIER_TYPE_RU_OGRN,
  passport: IdentifierType.IDENTIFIER_TYPE_PASSPORT,
  'national-id': IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID,
};

function partyOf(o: ScreenOptions): Party | string {
  const identifiers = [];
  for (const spec of o.id ?? []) {
    const [type, value, issuerCountry] = spec.split(':');
    const t = ID_TYPES[type ?? ''];
    if (t === undefined || !value)
      return `--id takes TYPE:VALUE[:COUNTRY] with TYPE one of ${Object.keys(ID_TYPES).join(', ')}`;
    identifiers.push({ type: t, value, issuerCountry: issuerCountry ?? '' });
  }
  let account: Party['account'];
  if (o.iban !== undefined) account = { kind: { $case: 'iban', value: o.iban } };
  if (o.wallet !== undefined) {
    const [network, address] = o.wallet.split(':', 2);
    if (!network || !address) return '--wallet takes NETWORK:ADDRESS';
    account = { kind: { $case: 'wallet', value: { network, address } } };
  }
  return { name: o.name ?? '', country: o.country ?? '', account, identifiers };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const KNOWN_SCHEMES = Object.keys(CardScheme)
  .filter((k) => k.startsWith('CARD_SCHEME_') && k !== 'CARD_SCHEME_UNSPECIFIED' && Number.isNaN(Number(k)))
  .map((k) => k.replace('CARD_SCHEME_', ''));

/** The scheme an officer names ("Union Pay", "union-pay", "UNIONPAY"), or null when there is none. */
function cardSchemeOf(name: string): CardScheme | null {
  const key = name.toUpperCase().replace(/[^A-Z0-9]+/g, '');
  const found = KNOWN_SCHEMES.find((known) => known.replace(/_/g, '') === key);
  return found === undefined ? null : CardScheme[`CARD_SCHEME_${found}` as keyof typeof CardScheme];
}

export function registerScreeningCommands(
  program: Command,
  run: (fn: () => Promise<ExitCode>) => void,
): void {
  program
    .command('screen')
    .description('dry-run screening of a party: the hits and why (nothing is submitted or stored)')
    .option('--name <name>', 'the party name, in any script')
    .option('--country <cc>', 'the party country')
    .option('--bic <bic>', 'a BIC to screen (repeatable)', collect)
    .option('--iban <iban>', 'the party IBAN')
    .option('--wallet <network:address>', 'the party wallet')
    .option('--id <type:value[:cc]>', 'an identifier, e.g. kz-bin:110140012405:KZ (repeatable)', collect)
    .option('--card-scheme <scheme>', 'a card scheme, e.g. MIR')
    .option('--bin <digits>', 'the card BIN (first 6 or 8 digits)')
    .option('--min-score <score>', 'show name hits from this score (default: the review threshold)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  caravan screen --name "ТОО Сбер Восток"\n  caravan screen --bic VTBAKZKZXXX\n  caravan screen --card-scheme MIR --bin 22001234\n',
    )
    .action((opts: ScreenOptions) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const party = partyOf(opts);
          if (typeof party === 'string') {
            printError(party);
            return EXIT.usage;
          }
          const scheme = opts.cardScheme === undefined ? undefined : cardSchemeOf(opts.cardScheme);
          // An unknown name screened as no scheme at all would answer CLEAR for a blocked one.
          if (scheme === null) {
            printError(
              `--card-scheme ${JSON.stringify(opts.cardScheme)} is not a scheme Caravan knows; one of ${KNOWN_SCHEMES.join(', ')}`,
            );
            return EXIT.usage;
          }
          const card =
            opts.cardScheme !== undefined || opts.bin !== undefined
              ? { scheme: scheme ?? 0, bin: opts.bin ?? '', last4: '' }
              : undefined;
          const res = await callUnary(
            client.screenParty.bind(client),
            { party, bics: opts.bic ?? [], card, minScore: Number(opts.minScore ?? 0) },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) {
            printJson(ScreenPartyResponse.toJSON(res));
          } else {
            const decision = ScreeningDecision[res.decision].replace('SCREENING_DECISION_', '');
            print(
              `${paint('bold', decision)}  against ${res.listVersions.map((v) => `${v.list}@${v.version}`).join(', ') || 'no lists'}`,
            );
            for (const hit of res.hits) for (const line of hitLines(hit)) print(line);
          }
          return res.decision === ScreeningDecision.SCREENING_DECISION_CLEAR ? EXIT.ok : EXIT.rejected;
        }),
      ),
    );
}
