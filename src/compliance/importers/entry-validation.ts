import type {
  AliasKind,
  CardSchemeEntry,
  EntryBase,
  ListEntry,
  ListEntryKind,
  NameEntry,
  PartyType,
} from '../../screening/list-entry';
import { mod97 } from '../../settlement/iban';
import { checkEntry } from '../entry-rules';
import { normaliseIdentifier } from './identifiers';

/**
 * An entry as an internal list file gives it, before validation: the ListEntry property names with
 * values of any type. Absent and empty fields are the same thing.
 */
export type EntryDraft = Record<string, unknown>;

export const ENTRY_FIELDS = [
  'kind',
  'id',
  'ref',
  'subject',
  'programs',
  'name',
  'aliases',
  'type',
  'countries',
  'bic',
  'iban',
  'network',
  'address',
  'scheme',
  'country',
  'value',
  'iinRanges',
] as const;

export type EntryField = (typeof ENTRY_FIELDS)[number];

const COMMON_FIELDS: readonly EntryField[] = ['kind', 'id', 'ref', 'subject', 'programs'];

/** The fields each kind may carry besides the common ones; any other filled field is an error. */
const KIND_FIELDS: Readonly<Record<ListEntryKind, readonly EntryField[]>> = {
  name: ['name', 'aliases', 'type', 'countries'],
  bic: ['bic'],
  iban: ['iban'],
  wallet: ['network', 'address'],
  'national-id': ['scheme', 'country', 'value'],
  'card-scheme': ['scheme', 'iinRanges'],
  jurisdiction: ['country'],
};

const PARTY_TYPES: readonly PartyType[] = ['person', 'entity', 'vessel', 'aircraft', 'unknown'];

/** Value shapes of the national-id schemes that fix one; entry-rules.ts checks the rest. */
const SCHEME_VALUES: Readonly<Record<string, RegExp>> = {
  'kz-bin': /^\d{12}$/,
  'kz-iin': /^\d{12}$/,
  'ru-inn': /^(\d{10}|\d{12})$/,
  'ru-ogrn': /^(\d{13}|\d{15})$/,
  lei: /^[A-Z0-9]{18}\d{2}$/,
  imo: /^\d{7}$/,
  mmsi: /^\d{9}$/,
};

// An address given as 0x… is an EVM one: 20 bytes of hex, whatever the network is called.
const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * Turns a draft into a ListEntry, or says everything wrong with it (each problem starts with its
 * field). The draft is read strictly (known kind, only the fields of that kind, required ones
 * present, values of the right type) and normalised (IBAN to electronic form, national-id values to
 * upper-case letters and digits); the result must then pass entry-rules.ts, the rules an officer's
 * single-entry change meets, so both ways into a list accept the same entries.
 *
 * Ids may be left out for identifier kinds: they default to the identifier itself (`bic/VTBAKZKZ`,
 * `card-scheme/MIR`, `jurisdiction/KP`), which stays stable across imports.
 */
export function validateEntry(
  draft: EntryDraft,
): { entry: ListEntry; problems?: undefined } | { problems: string[] } {
  const kind = draft.kind;
  // hasOwn, not `in`: "toString" is in every object.
  if (typeof kind !== 'string' || !Object.hasOwn(KIND_FIELDS, kind)) {
    return {
      problems: [
        `kind: must be one of ${Object.keys(KIND_FIELDS).join(', ')}, got ${JSON.stringify(kind ?? '')}`,
      ],
    };
  }
  const reader = new DraftReader(draft, kind as ListEntryKind);
  const entry = buildEntry(reader);
  const problems = reader.problems;
  if (problems.length === 0) {
    for (const violation of checkEntry(entry)) problems.push(`${violation.field}: ${violation.description}`);
  }
  return problems.length > 0 ? { problems } : { entry };
}

/** Reads typed fields out of a draft, collecting what is wrong instead of stopping at it. */
class DraftReader {
  readonly problems: string[] = [];

  constructor(
    private readonly draft: EntryDraft,
    readonly kind: ListEntryKind,
  ) {
    for (const [field, value] of Object.entries(draft)) {
      if (isEmpty(value)) continue;
      if (!(ENTRY_FIELDS as readonly string[]).includes(field)) this.problems.push(`${field}: unknown field`);
      else if (
        !COMMON_FIELDS.includes(field as EntryField) &&
        !KIND_FIELDS[kind].includes(field as EntryField)
      ) {
        this.problems.push(`${field}: does not apply to kind ${kind}`);
      }
    }
  }

  raw(field: EntryField): unknown {
    return this.draft[field];
  }

  text(field: EntryField, required = false): string {
    const value = this.draft[field];
    if (isEmpty(value)) {
      if (required) this.problems.push(`${field}: is required for kind ${this.kind}`);
      return '';
    }
    if (typeof value !== 'string') {
      this.problems.push(`${field}: must be a string`);
      return '';
    }
    return value.trim();
  }

  strings(field: EntryField): string[] {
    const value = this.draft[field];
    if (isEmpty(value)) return [];
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      this.problems.push(`${field}: must be a list of strings`);
      return [];
    }
    return value.map((v) => v.trim()).filter((v) => v !== '');
  }
}

function buildEntry(r: DraftReader): ListEntry {
  const base: EntryBase = {
    id: r.text('id'),
    ref: r.text('ref'),
    subject: r.text('subject'),
    programs: r.strings('programs'),
  };
  switch (r.kind) {
    case 'name': {
      const name = r.text('name', true);
      const typeText = r.text('type', true);
      const type = PARTY_TYPES.find((t) => t === typeText) ?? 'unknown';
      if (typeText !== '' && type !== typeText) {
        r.problems.push(`type: must be one of ${PARTY_TYPES.join(', ')}, got ${JSON.stringify(typeText)}`);
      }
      if (base.id === '' && base.ref === '')
        r.problems.push('id: is required for kind name when ref is empty');
      const aliases = readAliases(r);
      const countries = r.strings('countries');
      return {
        ...base,
        kind: 'name',
        id: base.id || base.ref,
        subject: base.subject || name,
        name,
        aliases,
        type,
        countries,
      };
    }
    case 'bic': {
      const bic = r.text('bic', true);
      return { ...base, kind: 'bic', id: base.id || `bic/${bic}`, bic };
    }
    case 'iban': {
      // Printed IBANs (groups of four, any case) are what an officer copies from a document.
      const iban = r.text('iban', true).replace(/\s+/g, '').toUpperCase();
      return { ...base, kind: 'iban', id: base.id || `iban/${iban}`, iban };
    }
    case 'wallet': {
      const network = r.text('network', true);
      const address = r.text('address', true);
      if (address.startsWith('0x') && !EVM_ADDRESS.test(address)) {
        r.problems.push('address: a 0x address must have exactly 40 hex digits after 0x');
      }
      return { ...base, kind: 'wallet', id: base.id || `wallet/${network}/${address}`, network, address };
    }
    case 'national-id': {
      const scheme = r.text('scheme', true);
      const value = normaliseIdentifier(r.text('value', true));
      const country = r.text('country');
      const shape = Object.hasOwn(SCHEME_VALUES, scheme) ? SCHEME_VALUES[scheme] : undefined;
      if (value !== '' && shape && !shape.test(value)) {
        r.problems.push(`value: ${JSON.stringify(value)} is not a valid ${scheme}`);
      } else if (value !== '' && scheme === 'lei' && mod97(value) !== 1) {
        r.problems.push('value: wrong LEI check digits (ISO 17442)');
      }
      const id = base.id || (country === '' ? `${scheme}/${value}` : `${scheme}/${country}/${value}`);
      return { ...base, kind: 'national-id', id, scheme, country, value };
    }
    case 'card-scheme': {
      const scheme = r.text('scheme', true).toUpperCase();
      const iinRanges = readIinRanges(r);
      return { ...base, kind: 'card-scheme', id: base.id || `card-scheme/${scheme}`, scheme, iinRanges };
    }
    case 'jurisdiction': {
      const country = r.text('country', true);
      return { ...base, kind: 'jurisdiction', id: base.id || `jurisdiction/${country}`, country };
    }
  }
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}

/** Aliases are names, or `{ name, kind }`; a plain name is an aka. */
function readAliases(r: DraftReader): NameEntry['aliases'] {
  const value = r.raw('aliases');
  if (isEmpty(value)) return [];
  if (!Array.isArray(value)) {
    r.problems.push('aliases: must be a list');
    return [];
  }
  const aliases: NameEntry['aliases'] = [];
  for (const item of value as unknown[]) {
    const alias: unknown = typeof item === 'string' ? { name: item, kind: 'aka' } : item;
    const { name, kind } = (typeof alias === 'object' && alias !== null ? alias : {}) as {
      name?: unknown;
      kind?: unknown;
    };
    if (typeof name !== 'string' || typeof kind !== 'string') {
      r.problems.push('aliases: each alias must be a name or { "name": …, "kind": … }');
    } else {
      aliases.push({ name: name.trim(), kind: kind as AliasKind });
    }
  }
  return aliases;
}

/** Ranges are `{ from, to }` or "from-to" ("2200-2204"; a single prefix "2200" is 2200-2200). */
function readIinRanges(r: DraftReader): CardSchemeEntry['iinRanges'] {
  const value = r.raw('iinRanges');
  if (isEmpty(value)) {
    r.problems.push('iinRanges: is required for kind card-scheme, e.g. 2200-2204');
    return [];
  }
  if (!Array.isArray(value)) {
    r.problems.push('iinRanges: must be a list');
    return [];
  }
  const ranges: CardSchemeEntry['iinRanges'] = [];
  for (const item of value as unknown[]) {
    const ends = rangeEnds(item);
    if (ends) ranges.push({ from: ends[0], to: ends[1] });
    else r.problems.push(`iinRanges: ${JSON.stringify(item)} is not a range like 2200-2204`);
  }
  return ranges;
}

function rangeEnds(item: unknown): [string, string] | undefined {
  if (typeof item === 'string') {
    const parts = item.split('-').map((p) => p.trim());
    if (parts.length === 1) return [parts[0], parts[0]];
    if (parts.length === 2) return [parts[0], parts[1]];
    return undefined;
  }
  if (typeof item === 'object' && item !== null) {
    const { from, to } = item as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string') return [from.trim(), to.trim()];
  }
  return undefined;
}
