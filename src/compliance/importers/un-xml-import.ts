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
/** The root's sections and the one record element each holds; anything else would go unread. */
const SECTIONS: ReadonlyMap<string, string> = new Map([
  ['INDIVIDUALS', 'INDIVIDUAL'],
  ['ENTITIES', 'ENTITY'],
]);
/**
 * Deepest element nesting read. The UN's file nests 5 deep (root, section, record, alias or
 * document, its field); every open element costs the parser memory, so a file nesting deeper is
 * refused rather than followed.
 */
export const MAX_XML_DEPTH = 16;
const UTF8 = /^utf-?8$/i;
const WRITE_SLICE = 1 << 14;
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
  parser.on('xmldecl', (decl) => {
    // Bytes of another encoding decode as U+FFFD or as the wrong letters, and a name with a wrong
    // letter no longer matches the party it names.
    if (decl.encoding !== undefined && !UTF8.test(decl.encoding)) {
      fail(parser.line, `the file declares encoding ${decl.encoding}; only UTF-8 is read: convert it first`);
      stopped = true;
    }
  });
  parser.on('opentag', (tag) => {
    if (stopped) return;
    if (path.length === 0 && tag.name !== ROOT) {
      fail(parser.line, `root element is <${tag.name}>, expected <${ROOT}>: not a UN consolidated list`);
      stopped = true;
    }
    if (path.length >= MAX_XML_DEPTH) {
      fail(parser.line, `elements nested more than ${MAX_XML_DEPTH} deep (<${tag.name}>): not a UN list`);
      stopped = true;
      return;
    }
    const misplaced = misplacedElement(tag.name);
    if (misplaced !== undefined) fail(parser.line, misplaced);
    path.push(tag.name);
    text = '';
    sinceTag = 0;
    const type = RECORD_TYPES.get(tag.name);
    if (type !== undefined && path.length === 3 && misplaced === undefined) {
      record = { line: parser.line, type, fields: new Map(), aliases: [], countries: [], documents: [] };
    } else if (record && ALIAS_ELEMENTS.has(tag.name)) {
      alias = { quality: '', name: '' };
      bump(stats.records, 'alias');
    } else if (record && tag.name === 'INDIVIDUAL_DOCUMENT') {
      document = new Map();
    }
  });
  const addText = (chunk: string) => {
    text += chunk;
    // Valid UTF-8 for the replacement character: the publisher's own text lost a character.
    if (chunk.includes('\ufffd')) bump(stats.notes, 'U+FFFD (replacement character) written in the file');
  };
  parser.on('text', addText);
  // CDATA is text written without escapes; the bound on characters between tags covers it too.
  parser.on('cdata', addText);
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

  /**
   * Why an element opening under the current path would be left unread, or undefined. Records are
   * read only where the UN's schema puts them, so a new section or record type, or a record inside
   * another, is reported instead of being skipped with its names and documents.
   */
  function misplacedElement(name: string): string | undefined {
    const parent = path.at(-1);
    if (path.length === 1 && !SECTIONS.has(name)) {
      return `<${name}> under <${ROOT}> is not read (only INDIVIDUALS and ENTITIES are): its records would be left out`;
    }
    const expected = path.length === 2 && parent !== undefined ? SECTIONS.get(parent) : undefined;
    if (expected !== undefined && name !== expected) {
      return `<${name}> in <${parent}> is not read (only ${expected} is): it would be left out`;
    }
    if (record !== undefined && RECORD_TYPES.has(name)) {
      return `<${name}> inside the record that starts on line ${record.line}: records do not nest, so it would be left out`;
    }
    return undefined;
  }

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

  const notUtf8 = (line: number) => {
    fail(line, 'bytes that are not valid UTF-8: the file must be UTF-8');
    stopped = true;
  };

  function write(part: string): void {
    sinceTag += part.length;
    parser.write(part);
    if (!stopped && sinceTag > maxText) {
      fail(
        parser.line,
        `more than ${maxText} characters without a tag (in <${path.at(-1) ?? '?'}>): not a UN list`,
      );
      stopped = true;
    }
  }

  // Fatal: bytes of another encoding would otherwise become U+FFFD, or wrong letters, in names
  // that then no longer match. (A U+FFFD the file itself holds, as the UN's does, is text.)
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of source) {
      let piece: string;
      if (typeof chunk === 'string') {
        piece = chunk;
      } else {
        const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        try {
          piece = decoder.decode(bytes, { stream: true });
        } catch {
          notUtf8(parser.line + linesBeforeInvalidUtf8(bytes));
          break;
        }
      }
      // In slices, so that a stop (a bound reached) takes effect within one slice of a large chunk
      // instead of after the parser has taken in, and built up state for, all of it.
      for (let at = 0; at < piece.length && !stopped; at += WRITE_SLICE) {
        write(piece.slice(at, at + WRITE_SLICE));
      }
      if (stopped) break;
    }
  } catch (err) {
    // The stream itself failed (a corrupt .gz its caller decompresses, a dropped connection): what
    // was read stays reported, and the import carries an error rather than throwing.
    fail(parser.line, `reading stopped: ${err instanceof Error ? err.message : String(err)}`);
    stopped = true;
  }
  if (!stopped) {
    let rest: string | undefined;
    try {
      rest = decoder.decode();
    } catch {
      // A character cut off by the end of the file.
      notUtf8(parser.line);
    }
    if (rest !== undefined) write(rest);
  }
  // Reports what a truncated file left open (and an empty file's missing root).
  if (!stopped) parser.close();

  countEntries(entries, stats);
  stats.errorCount = errors.count;
  stats.elapsedMs = performance.now() - started;
  return { entries, errors: errors.errors, stats };
}

/** Whether bytes decode as UTF-8, a character cut off at their end aside. */
function decodesAsUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * How many lines of a chunk that does not decode come before its first invalid byte, found by
 * halving. Bytes continuing the previous chunk's last character are left out of the search; when
 * the rest decodes, the fault is where the chunks meet.
 */
function linesBeforeInvalidUtf8(bytes: Buffer): number {
  let start = 0;
  while (start < 3 && start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  if (decodesAsUtf8(bytes.subarray(start))) return 0;
  // bytes[start, good) decode; bytes[start, bad) do not.
  let good = start;
  let bad = bytes.length;
  while (bad - good > 1) {
    const middle = (good + bad) >>> 1;
    if (decodesAsUtf8(bytes.subarray(start, middle))) good = middle;
    else bad = middle;
  }
  let lines = 0;
  for (let i = 0; i < good; i++) if (bytes[i] === 0x0a) lines++;
  return lines;
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
