import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  ImportListResponse,
  ListFormat,
  type ComplianceClient,
  type ImportListRequest,
} from '../gen/caravan/compliance/v1/compliance';
import { EntryKind, ListEntry, PartyType, type ListVersion } from '../gen/caravan/compliance/v1/lists';
import type { ClientConfig } from '../config/config';
import { EXIT, type ExitCode } from './exit-codes';
import { callMetadata, deadline } from './gateway-client';
import { callUnary } from './grpc-call';
import { withCompliance } from './officer-session';
import { paint, print, printError, printJson } from './terminal-output';

const FORMATS: Record<string, ListFormat> = {
  'ofac-sdn': ListFormat.LIST_FORMAT_OFAC_SDN,
  'ofac-consolidated': ListFormat.LIST_FORMAT_OFAC_CONSOLIDATED,
  'un-xml': ListFormat.LIST_FORMAT_UN_XML,
  csv: ListFormat.LIST_FORMAT_CSV,
  json: ListFormat.LIST_FORMAT_JSON,
};
const CHUNK = 256 * 1024;

const timeOf = (v: ListVersion) =>
  v.createdAt === undefined
    ? ''
    : new Date(Number(v.createdAt.seconds) * 1000).toISOString().replace('.000Z', 'Z');

function versionLine(v: ListVersion): string {
  const mark = v.current ? paint('green', '* current') : '';
  return [
    `${v.list}@${v.version}`,
    `${v.entryCount} entries`,
    timeOf(v),
    v.createdBy,
    v.origin,
    v.note ? `"${v.note}"` : '',
    mark,
  ]
    .filter((s) => s !== '')
    .join('  ');
}

/** A progress bar on stderr for a person at a terminal; nothing when output is piped. */
function progress(total: number): (sent: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (sent) => {
    const width = 30;
    const done = Math.round((sent / Math.max(total, 1)) * width);
    const pct = Math.floor((sent / Math.max(total, 1)) * 100);
    process.stderr.write(
      `\r  sending [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${pct}%${sent >= total ? '\n' : ''}`,
    );
  };
}

async function importFiles(
  client: ComplianceClient,
  config: ClientConfig,
  list: string,
  opts: { format: string; force?: boolean; note?: string; json?: boolean },
  files: string[],
): Promise<ExitCode> {
  const format = FORMATS[opts.format];
  if (format === undefined) {
    printError(`--format must be one of ${Object.keys(FORMATS).join(', ')}`);
    return EXIT.usage;
  }
  let sizes: number[];
  try {
    sizes = files.map((f) => statSync(f).size);
  } catch (err) {
    printError(
      `cannot read ${(err as NodeJS.ErrnoException).path ?? 'a file'}: ${(err as NodeJS.ErrnoException).code ?? ''}`,
    );
    return EXIT.usage;
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  const show = opts.json ? () => undefined : progress(total);
  const response = await new Promise<ImportListResponse>((resolve, reject) => {
    // Imports of large lists take a while to parse and index; allow minutes, not the default deadline.
    const call = client.importList(
      callMetadata(config),
      { deadline: new Date(Date.now() + 10 * 60_000) },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    const send = async () => {
      const header: ImportListRequest = {
        part: {
          $case: 'header',
          value: {
            list,
            format,
            fileNames: files.map((f) => path.basename(f)),
            force: opts.force ?? false,
            note: opts.note ?? '',
          },
        },
      };
      call.write(header);
      let sent = 0;
      for (const [fileIndex, file] of files.entries()) {
        for await (const data of createReadStream(file, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
          if (!call.write({ part: { $case: 'chunk', value: { fileIndex, data } } })) {
            await new Promise((r) => call.once('drain', r));
          }
          sent += data.length;
          show(sent);
        }
      }
      call.end();
    };
    send().catch((err: unknown) => {
      call.cancel();
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
  if (opts.json) {
    printJson(ImportListResponse.toJSON(response));
  } else {
    if (response.version) print(versionLine(response.version));
    if (response.activated) print(paint('green', `activated (was ${response.previousEntryCount} entries)`));
    else print(paint('red', `not activated: ${response.refusal}`));
    for (const p of response.problems) print(`  ${p.file}:${p.line}  ${p.message}`);
    if (response.problemsOmitted > 0) print(`  … and ${response.problemsOmitted} more problems`);
  }
  return response.activated ? EXIT.ok : EXIT.rejected;
}

interface AddOptions {
  id?: string;
  ref?: string;
  subject?: string;
  program?: string[];
  note?: string;
  json?: boolean;
  name?: string;
  alias?: string[];
  type?: string;
  country?: string;
  bic?: string;
  iban?: string;
  wallet?: string;
  nationalId?: string;
  scheme?: string;
  iin?: string[];
  jurisdiction?: string;
}

const PARTY_TYPES: Record<string, PartyType> = {
  person: PartyType.PARTY_TYPE_PERSON,
  entity: PartyType.PARTY_TYPE_ENTITY,
  vessel: PartyType.PARTY_TYPE_VESSEL,
  aircraft: PartyType.PARTY_TYPE_AIRCRAFT,
};

/**
 * The id a name entry gets unless one is given: its Latin letters and digits for the reader, and a
 * digest of the whole name, so names that differ only outside A-Z 0-9 (every Cyrillic name) or
 * after 40 characters get ids of their own instead of replacing each other.
 */
export function nameEntryId(name: string): string {
  const folded = name.normalize('NFC').trim().replace(/\s+/g, ' ').toUpperCase();
  const readable = folded
    .replace(/[^A-Z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  const digest = createHash('sha256').update(folded).digest('hex').slice(0, 16);
  return `name:${readable === '' ? '' : `${readable}:`}${digest}`;
}

/** Builds the entry the options describe; exactly one kind option must be given. */
export function entryFromOptions(o: AddOptions): ListEntry | string {
  const kinds = [
    o.name,
    o.bic,
    o.iban,
    o.wallet,
    o.nationalId,
    o.scheme ?? (o.iin?.length ? 'iin' : undefined),
    o.jurisdiction,
  ].filter((v) => v !== undefined);
  if (kinds.length !== 1)
    return 'give exactly one of --name, --bic, --iban, --wallet, --national-id, --scheme (with --iin), --jurisdiction';
  if (o.iin?.length && o.scheme === undefined)
    return '--iin needs --scheme: the ranges belong to a named scheme';
  const base: ListEntry = {
    ...ListEntry.fromJSON({}),
    ref: o.ref ?? '',
    subject: o.subject ?? '',
    programs: o.program ?? [],
  };
  if (o.name !== undefined) {
    return {
      ...base,
      id: o.id ?? nameEntryId(o.name),
      kind: EntryKind.ENTRY_KIND_NAME,
      name: o.name,
      aliases: (o.alias ?? []).map((name) => ({ name, kind: 'aka' })),
      partyType: PARTY_TYPES[o.type ?? ''] ?? PartyType.PARTY_TYPE_UNSPECIFIED,
      countries: o.country ? [o.country] : [],
    };
  }
  if (o.bic !== undefined)
    return { ...base, id: o.id ?? `bic:${o.bic}`, kind: EntryKind.ENTRY_KIND_BIC, bic: o.bic };
  if (o.iban !== undefined)
    return { ...base, id: o.id ?? `iban:${o.iban}`, kind: EntryKind.ENTRY_KIND_IBAN, iban: o.iban };
  if (o.wallet !== undefined) {
    // Only the first colon separates: an address may carry its own (bitcoincash:q...).
    const colon = o.wallet.indexOf(':');
    const network = colon < 0 ? '' : o.wallet.slice(0, colon);
    const address = colon < 0 ? '' : o.wallet.slice(colon + 1);
    if (!network || !address) return '--wallet takes NETWORK:ADDRESS, e.g. ETH:0x...';
    return {
      ...base,
      id: o.id ?? `wallet:${network}:${address}`,
      kind: EntryKind.ENTRY_KIND_WALLET,
      network,
      address,
    };
  }
  if (o.nationalId !== undefined) {
    const [scheme, value, country] = o.nationalId.split(':');
    if (!scheme || !value) return '--national-id takes SCHEME:VALUE[:COUNTRY], e.g. kz-bin:110140012405:KZ';
    return {
      ...base,
      id: o.id ?? `id:${scheme}:${value}`,
      kind: EntryKind.ENTRY_KIND_NATIONAL_ID,
      scheme,
      value,
      country: country ?? '',
    };
  }
  if (o.jurisdiction !== undefined) {
    return {
      ...base,
      id: o.id ?? `country:${o.jurisdiction}`,
      kind: EntryKind.ENTRY_KIND_JURISDICTION,
      country: o.jurisdiction,
    };
  }
  const ranges = (o.iin ?? []).map((r) => {
    const [from, to] = r.split('-');
    return { from: from ?? '', to: to ?? from ?? '' };
  });
  const scheme = (o.scheme ?? '').toUpperCase();
  return {
    ...base,
    // The ranges are part of the id: a second add of the scheme with other ranges must not
    // replace the first one's.
    id: o.id ?? `scheme:${[scheme, ...ranges.map((r) => `${r.from}-${r.to}`)].join(':')}`,
    kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
    scheme,
    iinRanges: ranges,
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerListsCommands(program: Command, run: (fn: () => Promise<ExitCode>) => void): void {
  const lists = program
    .command('lists')
    .description('screening lists: import, change, inspect, roll back (compliance role)');

  lists
    .command('show', { isDefault: true })
    .description('every list with its current version')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.listLists.bind(client),
            {},
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson(res.lists.map((l) => ({ name: l.name, current: l.current })));
          else if (res.lists.length === 0) print('no lists yet: import one with `caravan lists import`');
          else
            for (const l of res.lists)
              print(l.current ? versionLine(l.current) : `${l.name}  (no current version)`);
          return EXIT.ok;
        }),
      ),
    );

  lists
    .command('import')
    .description('import list files as a new version (activated unless refused)')
    .argument('<list>', 'the list, e.g. ofac-sdn')
    .argument('<files...>', 'the files: OFAC sets together (sdn.csv alt.csv add.csv sdn_comments.csv)')
    .requiredOption('--format <format>', 'ofac-sdn | ofac-consolidated | un-xml | csv | json')
    .option(
      '--force',
      'activate even if the entries, aliases or one kind of entry drop sharply, or the list is empty',
    )
    .option('--note <text>', 'a note kept with the version and in the audit log')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  caravan lists import ofac-sdn --format ofac-sdn sdn.csv alt.csv add.csv sdn_comments.csv\n',
    )
    .action(
      (
        list: string,
        files: string[],
        opts: { format: string; force?: boolean; note?: string; json?: boolean },
      ) =>
        run(() =>
          withCompliance(opts.json ?? false, (client, config) =>
            importFiles(client, config, list, opts, files),
          ),
        ),
    );

  lists
    .command('add')
    .description('add or replace one entry (a new version of the list)')
    .argument('<list>', 'the list, e.g. card-schemes')
    .option('--name <name>', 'a party name')
    .option('--alias <name>', 'an alias of --name (repeatable)', collect)
    .option('--type <type>', 'person | entity | vessel | aircraft, with --name')
    .option('--country <cc>', 'country of the named party')
    .option('--bic <bic>', 'a BIC (matched on its first 8 characters)')
    .option('--iban <iban>', 'an IBAN')
    .option('--wallet <network:address>', 'a wallet, e.g. ETH:0x...')
    .option('--national-id <scheme:value[:cc]>', 'e.g. kz-bin:110140012405:KZ, passport:AB123456:RU')
    .option('--scheme <name>', 'a card scheme, e.g. MIR')
    .option('--iin <from-to>', 'an IIN range of the card scheme, e.g. 2200-2204 (repeatable)', collect)
    .option('--jurisdiction <cc>', 'block a country')
    .option('--id <id>', 'the entry id (derived from the value when absent)')
    .option('--ref <ref>', 'your case or source reference')
    .option('--subject <text>', 'the listed party this identifier belongs to')
    .option('--program <name>', 'a programme (repeatable)', collect)
    .option('--note <text>', 'why; kept in the audit log')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  caravan lists add card-schemes --scheme MIR --iin 2200-2204 --note "Mir suspended"\n  caravan lists add internal-counterparties --bic VTBAKZKZ --subject "VTB Kazakhstan"\n',
    )
    .action((list: string, opts: AddOptions) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const entry = entryFromOptions(opts);
          if (typeof entry === 'string') {
            printError(entry);
            return EXIT.usage;
          }
          const v = await callUnary(
            client.upsertEntry.bind(client),
            { list, entry, note: opts.note ?? '' },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson({ version: v, entry: ListEntry.toJSON(entry) });
          else print(`${paint('green', 'added')} ${entry.id}  →  ${versionLine(v)}`);
          return EXIT.ok;
        }),
      ),
    );

  lists
    .command('remove')
    .description('remove one entry (a new version of the list)')
    .argument('<list>', 'the list')
    .argument('<entry-id>', 'the entry id, as `caravan lists entries` shows it')
    .option('--note <text>', 'why; kept in the audit log')
    .option('--json', 'print JSON')
    .action((list: string, entryId: string, opts: { note?: string; json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const v = await callUnary(
            client.removeEntry.bind(client),
            { list, entryId, note: opts.note ?? '' },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson(v);
          else print(`${paint('yellow', 'removed')} ${entryId}  →  ${versionLine(v)}`);
          return EXIT.ok;
        }),
      ),
    );

  lists
    .command('versions')
    .description('the versions of a list, newest first')
    .argument('<list>', 'the list')
    .option('--json', 'print JSON')
    .action((list: string, opts: { json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const res = await callUnary(
            client.listVersions.bind(client),
            { list },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson(res.versions);
          else for (const v of res.versions) print(versionLine(v));
          return EXIT.ok;
        }),
      ),
    );

  lists
    .command('entries')
    .description('the entries of a list version')
    .argument('<list>', 'the list')
    .option('--version <n>', 'the version (default: current)', '0')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON lines')
    .action((list: string, opts: { version: string; limit: string; json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          let shown = 0;
          let pageToken = '';
          const limit = Number(opts.limit);
          do {
            const res = await callUnary(
              client.listEntries.bind(client),
              { list, version: opts.version, pageSize: Math.min(limit - shown, 1000), pageToken },
              callMetadata(config),
              deadline(config),
            );
            for (const e of res.entries) {
              print(
                opts.json
                  ? JSON.stringify(ListEntry.toJSON(e))
                  : `${e.id}  ${EntryKind[e.kind].replace('ENTRY_KIND_', '').toLowerCase()}  ${e.name || e.bic || e.iban || e.address || e.value || e.scheme || e.country}`,
              );
            }
            shown += res.entries.length;
            pageToken = res.nextPageToken;
          } while (pageToken !== '' && shown < limit);
          return EXIT.ok;
        }),
      ),
    );

  lists
    .command('rollback')
    .description('make an earlier version current again')
    .argument('<list>', 'the list')
    .option('--to <version>', 'the version (default: the one before the current)', '0')
    .option('--note <text>', 'why; kept in the audit log')
    .option('--json', 'print JSON')
    .action((list: string, opts: { to: string; note?: string; json?: boolean }) =>
      run(() =>
        withCompliance(opts.json ?? false, async (client, config) => {
          const v = await callUnary(
            client.rollbackList.bind(client),
            { list, toVersion: opts.to, note: opts.note ?? '' },
            callMetadata(config),
            deadline(config),
          );
          if (opts.json) printJson(v);
          else print(`${paint('yellow', 'rolled back')}  →  ${versionLine(v)}`);
          return EXIT.ok;
        }),
      ),
    );
}
