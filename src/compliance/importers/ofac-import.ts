import type { AliasKind, ListEntry, NameEntry, PartyType } from '../../screening/list-entry';
import { countryCode } from './country-names';
import {
  bump,
  countEntries,
  emptyStats,
  ErrorLog,
  type ImportOptions,
  type ImportResult,
  type ImportStats,
} from './import-result';
import { OFAC_COLUMNS, readOfacCsvBatches, type OfacCsvRecord, type OfacRole } from './ofac-legacy-csv';
import { parseRemarks, type RemarkIdentifier } from './ofac-remarks';
import type { TextSource } from './text-lines';

/** One OFAC legacy CSV set; `sdn` is the primary file (sdn.csv, or cons_prim.csv for the consolidated list). */
export interface OfacFiles {
  sdn: TextSource;
  alt?: TextSource;
  add?: TextSource;
  comments?: TextSource;
}

export interface OfacImportOptions extends ImportOptions {
  /** Which set the files are, for the file names errors mention (default 'sdn'). */
  list?: 'sdn' | 'consolidated';
  /** File names errors mention, overriding the defaults of `list`. */
  fileNames?: Partial<Record<OfacRole, string>>;
  /**
   * Prepended to every entry id. SDN and consolidated ent_nums come from one OFAC sequence and the
   * same party can be on both lists, so a version that merges the two needs e.g. "sdn:" and "cons:".
   */
  idPrefix?: string;
}

export const OFAC_FILE_NAMES: Readonly<Record<'sdn' | 'consolidated', Readonly<Record<OfacRole, string>>>> = {
  sdn: { sdn: 'sdn.csv', alt: 'alt.csv', add: 'add.csv', comments: 'sdn_comments.csv' },
  consolidated: {
    sdn: 'cons_prim.csv',
    alt: 'cons_alt.csv',
    add: 'cons_add.csv',
    comments: 'cons_comments.csv',
  },
};

/**
 * The legacy format cuts Remarks at this many characters and carries the rest in the comments file,
 * starting mid-word. A comment for shorter Remarks means the files are from different dates.
 */
const REMARKS_FIELD_LIMIT = 1000;

// Maps, not object literals, so that a field reading "constructor" finds nothing.
const PARTY_TYPES: ReadonlyMap<string, PartyType> = new Map([
  ['individual', 'person'],
  ['vessel', 'vessel'],
  ['aircraft', 'aircraft'],
  // OFAC leaves SDN_Type null for entities.
  ['', 'entity'],
]);

const ALIAS_KINDS: ReadonlyMap<string, AliasKind> = new Map([
  ['aka', 'aka'],
  ['fka', 'fka'],
  ['nka', 'nka'],
]);

interface Party {
  ent: string;
  name: string;
  type: PartyType;
  programs: string[];
  remarks: string;
  /** Whether sdn_comments continued the Remarks. */
  continued: boolean;
  aliases: { name: string; kind: AliasKind }[];
  countries: string[];
}

/**
 * Imports one OFAC legacy CSV set into list entries: a name entry per ent_num (with the aliases of
 * alt.csv, the countries of add.csv and the weak aliases and nationalities of Remarks), and an
 * identifier entry per BIC, wallet address and document number found in Remarks. The files are read
 * one after the other, each as a stream; the primary file first because the others refer to it.
 */
export async function importOfac(files: OfacFiles, options: OfacImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  const names = { ...OFAC_FILE_NAMES[options.list ?? 'sdn'], ...options.fileNames };
  const errors = new ErrorLog(options.maxErrors);
  const stats = emptyStats();
  const parties = new Map<string, Party>();

  const read = async (
    role: OfacRole,
    source: TextSource | undefined,
    each: (record: OfacCsvRecord) => void,
  ) => {
    if (source === undefined) return;
    const file = names[role];
    stats.records[role] = 0;
    const csv = readOfacCsvBatches(source, {
      file,
      columns: OFAC_COLUMNS[role],
      maxLineLength: options.maxLineLength,
    });
    let line = 0;
    const errorsBefore = errors.count;
    try {
      for await (const batch of csv) {
        for (const item of batch) {
          if (item.error) {
            errors.push(item.error);
            continue;
          }
          line = item.record.line;
          stats.records[role]++;
          each(item.record);
        }
      }
      // A companion file sent without its rows would silently strip every party of its aliases,
      // addresses or continued Remarks: a set without one must leave the file out instead.
      if (stats.records[role] === 0 && errors.count === errorsBefore) {
        errors.add(file, 0, 'file holds no records; leave a file the set does not have out of the import');
      }
    } catch (err) {
      // The stream itself failed (a corrupt .gz its caller decompresses, a dropped connection):
      // an error like any other, after the last record read.
      errors.add(file, line + 1, `reading stopped: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const party = (role: OfacRole, ent: string): Party | undefined => {
    const found = parties.get(ent);
    if (!found) bump(stats.orphans, role);
    return found;
  };

  await read('sdn', files.sdn, ({ line, fields }) => {
    const [ent, name, sdnType, program] = fields;
    if (parties.has(ent)) {
      errors.add(names.sdn, line, `ent_num ${ent} appears twice; the later row is ignored`);
      return;
    }
    if (name === '') {
      errors.add(names.sdn, line, `ent_num ${ent} has no SDN_Name`);
      return;
    }
    let type = PARTY_TYPES.get(sdnType.toLowerCase());
    if (type === undefined) {
      // A new SDN_Type means OFAC changed the format: loud, but the party is still screened by name.
      errors.add(names.sdn, line, `ent_num ${ent} has an unknown SDN_Type ${JSON.stringify(sdnType)}`);
      type = 'unknown';
    }
    parties.set(ent, {
      ent,
      name,
      type,
      programs: splitPrograms(program),
      remarks: fields[11],
      continued: false,
      aliases: [],
      countries: [],
    });
  });

  await read('comments', files.comments, ({ fields: [ent, text] }) => {
    const found = party('comments', ent);
    if (!found) return;
    found.continued = true;
    if (found.remarks.length === REMARKS_FIELD_LIMIT) {
      found.remarks += text;
    } else {
      // Joined across dates: keep what the comment says, but as its own segments, so that its
      // cut-off first word cannot corrupt the last identifier of the Remarks it did not continue.
      found.remarks += `; ${text}`;
      bump(stats.notes, 'comment continuing Remarks that were not cut off');
    }
  });

  await read('alt', files.alt, ({ line, fields: [ent, , altType, altName, altRemarks] }) => {
    const found = party('alt', ent);
    if (!found) return;
    if (altName === '') {
      errors.add(names.alt, line, `alias of ent_num ${ent} has no alt_name`);
      return;
    }
    let kind = ALIAS_KINDS.get(altType.toLowerCase());
    if (kind === undefined) {
      errors.add(
        names.alt,
        line,
        `alias of ent_num ${ent} has an unknown alt_type ${JSON.stringify(altType)}`,
      );
      kind = 'aka';
    }
    // OFAC has always left alt_remarks null, but its documentation allows low-quality aliases to be flagged there.
    if (/\b(weak|low quality)\b/i.test(altRemarks)) kind = 'weak';
    found.aliases.push({ name: altName, kind });
  });

  await read('add', files.add, ({ fields }) => {
    const found = party('add', fields[0]);
    if (!found) return;
    const name = fields[4];
    if (name === '') return;
    const code = countryCode(name);
    if (code) found.countries.push(code);
    else bump(stats.unknownCountries, name);
  });

  const entries: ListEntry[] = [];
  const prefix = options.idPrefix ?? '';
  for (const p of parties.values()) {
    entries.push(...partyEntries(p, prefix, stats));
  }
  countEntries(entries, stats);
  stats.errorCount = errors.count;
  stats.elapsedMs = performance.now() - started;
  return { entries, errors: errors.errors, stats };
}

/** Program is `A] [B` for several programmes: the inner brackets of "[A] [B]". */
export function splitPrograms(program: string): string[] {
  return program
    .split(/\]\s*\[/)
    .map((p) => p.replace(/^\s*\[|\]\s*$/g, '').trim())
    .filter((p) => p !== '');
}

function partyEntries(p: Party, prefix: string, stats: ImportStats): ListEntry[] {
  const cutOff = !p.continued && p.remarks.length === REMARKS_FIELD_LIMIT;
  if (cutOff) bump(stats.notes, `Remarks cut off at ${REMARKS_FIELD_LIMIT} characters: last item skipped`);
  const remarks = parseRemarks(p.remarks, p.type, cutOff);
  for (const name of remarks.unknownCountries) bump(stats.unknownCountries, name);
  for (const label of remarks.unparsed) bump(stats.notes, `unreadable in Remarks: ${label}`);
  for (const label of remarks.unknownLabels) bump(stats.notes, `unknown label in Remarks: ${label}`);

  const aliases: NameEntry['aliases'] = [];
  const seen = new Set([aliasKey(p.name)]);
  for (const alias of [...p.aliases, ...remarks.aliases]) {
    const key = aliasKey(alias.name);
    if (seen.has(key)) {
      bump(stats.notes, 'alias repeating the name or another alias');
      continue;
    }
    seen.add(key);
    aliases.push(alias);
  }

  const owner = prefix + p.ent;
  const entries: ListEntry[] = [
    {
      kind: 'name',
      id: owner,
      ref: p.ent,
      subject: p.name,
      programs: p.programs,
      name: p.name,
      aliases,
      type: p.type,
      countries: [...new Set([...p.countries, ...remarks.countries])],
    },
  ];
  const ids = new Set<string>();
  for (const identifier of remarks.identifiers) {
    const entry = identifierEntry(identifier, owner, p);
    if (ids.has(entry.id)) {
      bump(stats.notes, 'identifier repeated in Remarks');
      continue;
    }
    ids.add(entry.id);
    bump(stats.identifiers, identifierStatKey(identifier));
    entries.push(entry);
  }
  return entries;
}

// The same alias differs between alt.csv and Remarks only in case and spacing.
function aliasKey(name: string): string {
  return name.replace(/\s+/g, ' ').trim().toUpperCase();
}

// Literals rather than spreads of a shared base: spreading is several times slower in V8, and
// each entry gets its own programs array, as entries are later edited one by one.
function identifierEntry(identifier: RemarkIdentifier, owner: string, p: Party): ListEntry {
  const ref = p.ent;
  const subject = p.name;
  const programs = [...p.programs];
  switch (identifier.kind) {
    case 'bic':
      return {
        kind: 'bic',
        id: `${owner}/bic/${identifier.bic}`,
        ref,
        subject,
        programs,
        bic: identifier.bic,
      };
    case 'wallet': {
      const { network, address } = identifier;
      return {
        kind: 'wallet',
        id: `${owner}/wallet/${network}/${address}`,
        ref,
        subject,
        programs,
        network,
        address,
      };
    }
    case 'national-id': {
      const { scheme, country, value } = identifier;
      const id = country === '' ? `${owner}/${scheme}/${value}` : `${owner}/${scheme}/${country}/${value}`;
      return { kind: 'national-id', id, ref, subject, programs, scheme, country, value };
    }
  }
}

function identifierStatKey(identifier: RemarkIdentifier): string {
  switch (identifier.kind) {
    case 'bic':
      return 'bic';
    case 'wallet':
      return `wallet:${identifier.network}`;
    case 'national-id':
      return identifier.scheme;
  }
}
