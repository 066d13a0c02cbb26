import type { AliasKind, ListEntry } from '../../screening/list-entry';
import { splitCsvLine } from './csv-line';
import { validateEntry, type EntryDraft, type EntryField } from './entry-validation';
import {
  bump,
  countEntries,
  DEFAULT_MAX_LINE_LENGTH,
  emptyStats,
  ErrorLog,
  type ImportOptions,
  type ImportResult,
} from './import-result';
import { findBadCharacter, readLines, type TextLine, type TextSource } from './text-lines';

/*
 * Internal lists (our own blocklists: counterparties, card schemes, wallets, jurisdictions) come in
 * two formats. Both are UTF-8, one entry per line, and are validated row by row; a bad row is
 * reported with its line and the others are still imported.
 *
 * CSV, with a header row naming any of these columns in any order (`kind` is required):
 *
 *   kind        name | bic | iban | wallet | national-id | card-scheme | jurisdiction
 *   id          unique in the list; may be left empty except for name entries without a ref, and
 *               then defaults to the identifier itself: bic/VTBAKZKZ, card-scheme/MIR, jurisdiction/KP
 *   ref         the case or source reference of the listed party
 *   subject     the party's name, shown beside identifier hits (name entries default to `name`)
 *   programs    `;`-separated, e.g. INTERNAL;RUSSIA-EO14024
 *   name        name entries: the primary name
 *   aliases     name entries: `|`-separated; each may start with its kind, `fka:OLD NAME`
 *               (aka, fka, nka, weak, original-script; aka when none is given)
 *   type        name entries: person | entity | vessel | aircraft | unknown
 *   countries   name entries: `;`-separated ISO 3166-1 alpha-2 codes
 *   bic         bic entries: 8 or 11 characters, upper case
 *   iban        iban entries: printed or electronic form; stored electronic
 *   network     wallet entries: XBT, ETH, USDT, TRX...
 *   address     wallet entries: as written (never case-changed: base58 is case-sensitive)
 *   scheme      national-id entries: passport, national-id, registration, tax-id, kz-bin, kz-iin,
 *               ru-inn, ru-ogrn, lei, imo, mmsi, other; card-scheme entries: the scheme, e.g. MIR
 *   country     national-id entries: issuing country (optional); jurisdiction entries: the country
 *   value       national-id entries: the number; stored upper case without spaces and dashes
 *   iin_ranges  card-scheme entries: `;`-separated inclusive prefix ranges, 2200-2204;2206-2206
 *
 * Fields are separated by commas and may be quoted with `"` (doubled inside); a quoted field may
 * not span lines. Blank lines and lines starting with `#` are skipped. Filling a column that does
 * not apply to the row's kind is an error, which catches rows shifted by a missing comma.
 *
 *   kind,id,ref,subject,programs,name,aliases,type,countries,bic,iban,network,address,scheme,country,value,iin_ranges
 *   card-scheme,,CASE-7,,INTERNAL,,,,,,,,,MIR,,,2200-2204
 *   bic,,CASE-9,BANK VTB KAZAKHSTAN,INTERNAL,,,,,VTBAKZKZ,,,,,,,
 *
 * JSON Lines (chosen over one JSON array so that the file streams and errors have line numbers):
 * one object per line with the ListEntry property names (`iinRanges` as `[{ "from": "2200", "to":
 * "2204" }]` or `["2200-2204"]`; aliases as `[{ "name": …, "kind": "aka" }]` or plain names). Blank
 * lines are skipped.
 *
 *   {"kind":"card-scheme","scheme":"MIR","iinRanges":["2200-2204"],"programs":["INTERNAL"]}
 *   {"kind":"name","id":"cp-17","name":"ROGA I KOPYTA TOO","type":"entity","countries":["KZ"]}
 */

export const INTERNAL_CSV_COLUMNS = [
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
  'iin_ranges',
] as const;

type CsvColumn = (typeof INTERNAL_CSV_COLUMNS)[number];

const ALIAS_PREFIX = /^(aka|fka|nka|weak|original-script):(.*)$/;

export interface InternalListImportOptions extends ImportOptions {
  /** Name errors mention (default "list.csv" / "list.jsonl"). */
  fileName?: string;
  /**
   * Ids already taken by earlier files of the same import (id → "file:line"), so that an id used
   * twice is caught across files; filled in as entries are accepted.
   */
  takenIds?: Map<string, string>;
}

/** Imports an internal list in the CSV format described above. */
export async function importInternalCsv(
  source: TextSource,
  options: InternalListImportOptions = {},
): Promise<ImportResult> {
  const file = options.fileName ?? 'list.csv';
  let header: CsvColumn[] | undefined;
  return importLines(source, file, options, (line, text, errors) => {
    if (text.startsWith('#')) return undefined;
    const split = splitCsvLine(text);
    if (split.error !== undefined) {
      errors.add(file, line, split.error);
      return undefined;
    }
    if (header === undefined) {
      header = readHeader(split.fields, (message) => errors.add(file, line, message));
      return header.length === 0 ? 'stop' : undefined;
    }
    if (split.fields.length !== header.length) {
      errors.add(
        file,
        line,
        `expected ${header.length} columns as in the header, found ${split.fields.length}`,
      );
      return undefined;
    }
    const draft: EntryDraft = {};
    header.forEach((column, i) => {
      const [field, value] = csvField(column, split.fields[i]);
      draft[field] = value;
    });
    return draft;
  });
}

/** Imports an internal list in the JSON Lines format described above. */
export async function importInternalJsonLines(
  source: TextSource,
  options: InternalListImportOptions = {},
): Promise<ImportResult> {
  const file = options.fileName ?? 'list.jsonl';
  let first = true;
  return importLines(source, file, options, (line, text, errors) => {
    const wasFirst = first;
    first = false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (wasFirst && text.trimStart().startsWith('[')) {
        errors.add(file, line, 'expected JSON Lines (one entry object per line), not a JSON array');
        return 'stop';
      }
      errors.add(file, line, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.add(file, line, 'expected one entry object per line');
      return wasFirst && Array.isArray(value) ? 'stop' : undefined;
    }
    return value as EntryDraft;
  });
}

type LineReader = (line: number, text: string, errors: ErrorLog) => EntryDraft | 'stop' | undefined;

/** Reads lines, turns each into a draft with `read`, and validates the drafts into entries. */
async function importLines(
  source: TextSource,
  file: string,
  options: InternalListImportOptions,
  read: LineReader,
): Promise<ImportResult> {
  const started = performance.now();
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const errors = new ErrorLog(options.maxErrors);
  const stats = emptyStats();
  const entries: ListEntry[] = [];
  const taken = options.takenIds ?? new Map<string, string>();
  let sawLine = false;

  // One line: its entry kept, or its problems logged; 'stop' when the file cannot be read on.
  const take = (item: TextLine): 'stop' | undefined => {
    const line = item.line;
    if (item.tooLong !== undefined) {
      errors.add(file, line, `line is ${item.tooLong} characters long; the limit is ${maxLineLength}`);
      return undefined;
    }
    const text = (line === 1 ? item.text.replace(/^\ufeff/, '') : item.text).trim();
    if (text === '') return undefined;
    sawLine = true;
    const bad = findBadCharacter(text);
    if (bad !== undefined) {
      errors.add(file, line, bad);
      return undefined;
    }
    const draft = read(line, text, errors);
    if (draft === 'stop' || draft === undefined) return draft;
    bump(stats.records, 'rows');
    const checked = validateEntry(draft);
    if (checked.problems) {
      errors.add(file, line, checked.problems.join('; '));
      return undefined;
    }
    const where = taken.get(checked.entry.id);
    if (where !== undefined) {
      errors.add(file, line, `id ${JSON.stringify(checked.entry.id)} is already used at ${where}`);
      return undefined;
    }
    taken.set(checked.entry.id, `${file}:${line}`);
    entries.push(checked.entry);
    return undefined;
  };

  let lastLine = 0;
  try {
    reading: for await (const lines of readLines(source, maxLineLength)) {
      for (const item of lines) {
        lastLine = item.line;
        if (take(item) === 'stop') break reading;
      }
    }
  } catch (err) {
    // The stream itself failed (a corrupt .gz its caller decompresses, a dropped connection): an
    // error like any other.
    errors.add(file, lastLine + 1, `reading stopped: ${err instanceof Error ? err.message : String(err)}`);
    sawLine = true;
  }
  if (!sawLine) errors.add(file, 0, 'file is empty');

  countEntries(entries, stats);
  stats.errorCount = errors.count;
  stats.elapsedMs = performance.now() - started;
  return { entries, errors: errors.errors, stats };
}

/** The header's columns, or none when it cannot be used (every problem reported). */
function readHeader(fields: string[], report: (message: string) => void): CsvColumn[] {
  const columns = fields.map((f) => f.trim().toLowerCase());
  let usable = true;
  const seen = new Set<string>();
  for (const column of columns) {
    if (!(INTERNAL_CSV_COLUMNS as readonly string[]).includes(column)) {
      report(
        `unknown column ${JSON.stringify(column)} in the header; known: ${INTERNAL_CSV_COLUMNS.join(', ')}`,
      );
      usable = false;
    } else if (seen.has(column)) {
      report(`column ${column} appears twice in the header`);
      usable = false;
    }
    seen.add(column);
  }
  if (!seen.has('kind')) {
    report('the header has no kind column (is the first line a header?)');
    usable = false;
  }
  return usable ? (columns as CsvColumn[]) : [];
}

/** A CSV cell as the draft field it fills: lists split, aliases with their kinds. */
function csvField(column: CsvColumn, cell: string): [EntryField, unknown] {
  const list = (separator: string) =>
    cell
      .split(separator)
      .map((part) => part.trim())
      .filter((part) => part !== '');
  switch (column) {
    case 'programs':
    case 'countries':
      return [column, list(';')];
    case 'iin_ranges':
      return ['iinRanges', list(';')];
    case 'aliases':
      return [
        'aliases',
        list('|').map((alias) => {
          const prefixed = ALIAS_PREFIX.exec(alias);
          return prefixed ? { name: prefixed[2].trim(), kind: prefixed[1] as AliasKind } : alias;
        }),
      ];
    default:
      return [column, cell];
  }
}
