import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import type { AliasKind, ListEntry, NameEntry, PartyType } from '../../screening/list-entry';
import { countryCode } from './country-names';
import { documentNumber, localScheme } from './identifiers';
import {
  bump,
  countEntries,
  DEFAULT_MAX_LINE_LENGTH,
  emptyStats,
  ErrorLog,
  type ImportOptions,
  type ImportResult,
  type ImportStats,
} from './import-result';
import type { TextSource } from './text-lines';

/** `maxLineLength` bounds, for XML, the characters between two tags (default 1 MiB). */
export interface UnXmlImportOptions extends ImportOptions {
  /** Name errors mention (default "consolidated.xml"). */
  fileName?: string;
  /** Prepended to every entry id, as for OFAC; ids are otherwise the REFERENCE_NUMBER, e.g. "CDi.001". */
  idPrefix?: string;
}

const ROOT = 'CONSOLIDATED_LIST';
const RECORD_TYPES: ReadonlyMap<string, PartyType> = new Map([
  ['INDIVIDUAL', 'person'],
  ['ENTITY', 'entity'],
]);
const ALIAS_ELEMENTS = new Set(['INDIVIDUAL_ALIAS', 'ENTITY_ALIAS']);
const ADDRESS_ELEMENTS = new Set(['INDIVIDUAL_ADDRESS', 'ENTITY_ADDRESS']);
const NAME_PARTS = ['FIRST_NAME', 'SECOND_NAME', 'THIRD_NAME', 'FOURTH_NAME'];

interface UnDocument {
  type: string;
  number: string;
  country: string;
}

interface UnRecord {
  line: number;
  type: PartyType;
  fields: Map<string, string>;
  aliases: { name: string; kind: AliasKind }[];
  countries: string[];
  documents: UnDocument[];
}

/**
 * Imports the UN Security Council consolidated list (sc-sanctions.xsd) as a stream: one name entry
 * per INDIVIDUAL and ENTITY, with its aliases, original-script name, programme (UN_LIST_TYPE) and
 * countries (nationality and addresses), plus a national-id entry per passport or national
 * identification number. Malformed XML is reported with its line and parsing goes on where the
 * parser can; a record left open by a truncated file is not emitted.
 */
export async function importUnXml(
  source: TextSource,
  options: UnXmlImportOptions = {},
): Promise<ImportResult> {
  const started = performance.now();
  const file = options.fileName ?? 'consolidated.xml';
  const maxText = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const errors = new ErrorLog(options.maxErrors);
  const stats = emptyStats();
  const entries: ListEntry[] = [];
  const seenIds = new Set<string>();
  const prefix = options.idPrefix ?? '';

  const parser = new SaxesParser({ position: true });
  const path: string[] = [];
  let text = '';
  // Characters written since the last tag: saxes holds text until the next `<`, so this is what
  // bounds memory on a file with an endless text node.
  let sinceTag = 0;
  let record: UnRecord | undefined;
  let alias: { quality: string; name: string } | undefined;
  let document: Map<string, string> | undefined;
  let stopped = false;

  const fail = (line: number, message: string) => {
    errors.add(file, line, message);
    // Past the cap the rest would only be counted; a binary file yields an error per byte.
    if (errors.full) stopped = true;
  };

  parser.on('error', (err) => fail(parser.line, err.message.replace(/^\d+:\d+: /, '')));
  parser.on('opentag', (tag) => {
    if (path.length === 0 && tag.name !== ROOT) {
      fail(parser.line, `root element is <${tag.name}>, expected <${ROOT}>: not a UN consolidated list`);
      stopped = true;
    }
    path.push(tag.name);
    text = '';
    sinceTag = 0;
    const type = RECORD_TYPES.get(tag.name);
    if (type !== undefined && path.length === 3) {
      record = { line: parser.line, type, fields: new Map(), aliases: [], countries: [], documents: [] };
    } else if (record && ALIAS_ELEMENTS.has(tag.name)) {
      alias = { quality: '', name: '' };
      bump(stats.records, 'alias');
    } else if (record && tag.name === 'INDIVIDUAL_DOCUMENT') {
      document = new Map();
    }
  });
  parser.on('text', (chunk) => {
    text += chunk;
  });
  parser.on('closetag', (tag) => {
    path.pop();
    sinceTag = 0;
    const value = text.replace(/\s+/g, ' ').trim();
    text = '';
    if (!record) return;
    const parent = path.at(-1);
    if (RECORD_TYPES.has(tag.name) && path.length === 2) {
      bump(stats.records, tag.name.toLowerCase());
      emit(record);
      record = undefined;
    } else if (alias && ALIAS_ELEMENTS.has(tag.name)) {
      const parts = splitAliasNames(alias.name);
      if (parts.length > 1) bump(stats.notes, 'ALIAS_NAME holding several names (split at ;)');
      for (const name of parts) record.aliases.push({ name, kind: aliasKind(alias.quality) });
      alias = undefined;
    } else if (alias && tag.name === 'QUALITY') {
      alias.quality = value;
    } else if (alias && tag.name === 'ALIAS_NAME') {
      alias.name = value;
    } else if (document && tag.name === 'INDIVIDUAL_DOCUMENT') {
      const number = document.get('NUMBER') ?? '';
      if (number !== '') {
        record.documents.push({
          type: document.get('TYPE_OF_DOCUMENT') ?? '',
          number,
          country: document.get('ISSUING_COUNTRY') || document.get('COUNTRY_OF_ISSUE') || '',
        });
      }
      document = undefined;
    } else if (document) {
      document.set(tag.name, value);
    } else if (value !== '' && parent === 'NATIONALITY' && tag.name === 'VALUE') {
      addCountry(record, value);
    } else if (
      value !== '' &&
      parent !== undefined &&
      ADDRESS_ELEMENTS.has(parent) &&
      tag.name === 'COUNTRY'
    ) {
      addCountry(record, value);
    } else if (path.length === 3) {
      record.fields.set(tag.name, value);
    }
  });

  function addCountry(into: UnRecord, name: string): void {
    const code = countryCode(name);
    if (code) into.countries.push(code);
    else bump(stats.unknownCountries, name);
  }

  function emit(r: UnRecord): void {
    const ref = r.fields.get('REFERENCE_NUMBER') ?? '';
    const parts = r.type === 'person' ? NAME_PARTS : NAME_PARTS.slice(0, 1);
    const name = parts
      .map((part) => r.fields.get(part) ?? '')
      .filter((part) => part !== '')
      .join(' ');
    if (ref === '') return fail(r.line, 'record has no REFERENCE_NUMBER');
    if (name === '') return fail(r.line, `record ${ref} has no name`);
    if (seenIds.has(ref))
      return fail(r.line, `REFERENCE_NUMBER ${ref} appears twice; the later record is ignored`);
    seenIds.add(ref);
    entries.push(...recordEntries(r, prefix + ref, ref, name, stats));
  }

  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of source) {
      const piece =
        typeof chunk === 'string'
          ? chunk
          : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      sinceTag += piece.length;
      parser.write(piece);
      if (!stopped && sinceTag > maxText) {
        fail(
          parser.line,
          `more than ${maxText} characters without a tag (in <${path.at(-1) ?? '?'}>): not a UN list`,
        );
        stopped = true;
      }
      if (stopped) break;
    }
  } catch (err) {
    // The stream itself failed (a corrupt gzip upload, a dropped connection): what was read stays
    // reported, and the import carries an error rather than throwing.
    fail(parser.line, `reading stopped: ${err instanceof Error ? err.message : String(err)}`);
    stopped = true;
  }
  if (!stopped) {
    parser.write(decoder.end());
    // Reports what a truncated file left open (and an empty file's missing root).
    parser.close();
  }

  countEntries(entries, stats);
  stats.errorCount = errors.count;
  stats.elapsedMs = performance.now() - started;
  return { entries, errors: errors.errors, stats };
}

/**
 * Some ALIAS_NAME elements hold several names: "Haj Qasem; Haji Qassem; Sardar Soleimani", or a
 * name with its transliterations, "حسن غول (Hassan Ghul; Hassan Gul; Hasan Gul)". Each becomes an
 * alias of its own; a parenthesis left open or closed by the split is dropped.
 */
function splitAliasNames(raw: string): string[] {
  if (!raw.includes(';')) return raw === '' ? [] : [raw];
  const withTransliterations = /^([^()]+?)\s*\(([^()]*;[^()]*)\)$/.exec(raw);
  const parts = withTransliterations
    ? [withTransliterations[1], ...withTransliterations[2].split(';')]
    : raw.split(';');
  return parts
    .map((part) => dropUnmatchedParentheses(part).replace(/\s+/g, ' ').trim())
    .filter((part) => part !== '');
}

function dropUnmatchedParentheses(text: string): string {
  const drop = new Set<number>();
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') open.push(i);
    else if (text[i] === ')' && open.pop() === undefined) drop.add(i);
  }
  for (const i of open) drop.add(i);
  return drop.size === 0
    ? text
    : text
        .split('')
        .filter((_, i) => !drop.has(i))
        .join('');
}

// UN QUALITY is "Good" or "a.k.a." for strong aliases, "Low" for weak ones, "f.k.a." for former names.
function aliasKind(quality: string): AliasKind {
  const q = quality.toLowerCase();
  if (q === 'low') return 'weak';
  if (q === 'f.k.a.') return 'fka';
  return 'aka';
}

function recordEntries(r: UnRecord, id: string, ref: string, name: string, stats: ImportStats): ListEntry[] {
  const listType = r.fields.get('UN_LIST_TYPE') ?? '';
  // A fresh array per entry: entries are later edited one by one.
  const programs = (): string[] => (listType === '' ? [] : [listType]);

  const aliases: NameEntry['aliases'] = [];
  const seen = new Set([name.toUpperCase()]);
  const original = r.fields.get('NAME_ORIGINAL_SCRIPT') ?? '';
  if (original !== '') bump(stats.records, 'original-script');
  const candidates =
    original === '' ? r.aliases : [...r.aliases, { name: original, kind: 'original-script' as const }];
  for (const alias of candidates) {
    const key = alias.name.toUpperCase();
    if (seen.has(key)) {
      bump(stats.notes, 'alias repeating the name or another alias');
      continue;
    }
    seen.add(key);
    aliases.push(alias);
  }

  const entries: ListEntry[] = [
    {
      kind: 'name',
      id,
      ref,
      subject: name,
      programs: programs(),
      name,
      aliases,
      type: r.type,
      countries: [...new Set(r.countries)],
    },
  ];
  const ids = new Set<string>();
  for (const doc of r.documents) {
    const scheme = documentScheme(doc.type);
    const value = unDocumentNumber(doc.number);
    if (value === undefined) {
      bump(stats.notes, 'unreadable document NUMBER');
      continue;
    }
    let country = '';
    if (doc.country !== '') {
      country = countryCode(doc.country) ?? '';
      if (country === '') bump(stats.unknownCountries, doc.country);
    }
    const local = localScheme(scheme, country, value, r.type);
    for (const s of local === undefined ? [scheme] : [scheme, local]) {
      const entryId = country === '' ? `${id}/${s}/${value}` : `${id}/${s}/${country}/${value}`;
      if (ids.has(entryId)) continue;
      ids.add(entryId);
      bump(stats.identifiers, s);
      entries.push({
        kind: 'national-id',
        id: entryId,
        ref,
        subject: name,
        programs: programs(),
        scheme: s,
        country,
        value,
      });
    }
  }
  return entries;
}

// TYPE_OF_DOCUMENT is English in most records, French or Spanish in a few ("Numéro de passeport").
function documentScheme(type: string): string {
  const t = type.toLowerCase();
  if (/passport|passeport|pasaporte/.test(t)) return 'passport';
  if (/national identification|identity card|identit/.test(t)) return 'national-id';
  return 'other';
}

/**
 * The number in a NUMBER element: usually just the number, sometimes a phrase around it ("CAR
 * diplomatic passport no. D00000898"); then the one token with digits in it is the number, and a
 * phrase with none or several is left out rather than guessed.
 */
function unDocumentNumber(raw: string): string | undefined {
  // "381110042 (Expired 25 Jan. 2016)": a remark in parentheses is not part of the number.
  const whole = documentNumber(
    raw
      .replace(/\s+\([^()]*\)/g, '')
      .trim()
      .replace(/\.$/, ''),
  );
  if (whole !== undefined) return whole;
  const tokens = raw
    .split(/\s+/)
    .map((token) => token.replace(/^[([]+|[),;:.\]]+$/g, ''))
    .filter((token) => /\d/.test(token));
  return tokens.length === 1 ? documentNumber(tokens[0]) : undefined;
}
