import { splitCsvLine } from './csv-line';
import { DEFAULT_MAX_LINE_LENGTH, type ImportError } from './import-result';
import { findBadCharacter, readLines, type TextLine, type TextSource } from './text-lines';

/**
 * The four files of an OFAC legacy CSV set, with their column counts. The SDN set (sdn.csv, alt.csv,
 * add.csv, sdn_comments.csv) and the consolidated non-SDN set (cons_prim.csv, cons_alt.csv,
 * cons_add.csv, cons_comments.csv) share this layout; `sdn` is the primary file of either.
 */
export type OfacRole = 'sdn' | 'alt' | 'add' | 'comments';

export const OFAC_COLUMNS: Readonly<Record<OfacRole, number>> = { sdn: 12, add: 6, alt: 5, comments: 2 };

export interface OfacCsvRecord {
  /** 1-based line of the file the record was on. */
  line: number;
  /** Exactly as many fields as the file type has; OFAC's `-0- ` null is an empty string. */
  fields: string[];
}

export type OfacCsvItem =
  { record: OfacCsvRecord; error?: undefined } | { error: ImportError; record?: undefined };

export interface OfacCsvOptions {
  /** Name used in errors, e.g. "sdn.csv". */
  file: string;
  /** Fields every record must have: OFAC_COLUMNS[role]. */
  columns: number;
  maxLineLength?: number;
}

// OFAC writes null as `-0-` followed by a space; the space is gone once unquoted fields are trimmed.
const NULL = '-0-';
// The DOS end-of-file mark OFAC appends after the last CRLF.
const DOS_EOF = 0x1a;

/**
 * Reads an OFAC legacy CSV file (no header) record by record. Malformed lines come out as error
 * values and reading continues with the next line; blank lines and the trailing 0x1A are skipped.
 * A file that is empty, or does not end with the 0x1A, comes out as one more error at its end.
 */
export async function* readOfacCsv(source: TextSource, options: OfacCsvOptions): AsyncGenerator<OfacCsvItem> {
  for await (const batch of readOfacCsvBatches(source, options)) yield* batch;
}

/** readOfacCsv in batches (one per chunk read), for callers that count the cost of a promise per record. */
export async function* readOfacCsvBatches(
  source: TextSource,
  options: OfacCsvOptions,
): AsyncGenerator<OfacCsvItem[]> {
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  let last: TextLine | undefined;
  for await (const lines of readLines(source, maxLineLength)) {
    const items: OfacCsvItem[] = [];
    for (const line of lines) {
      if (line.tooLong !== undefined || line.text.trim() !== '') last = line;
      const item = parseLine(line, options.file, options.columns, maxLineLength);
      if (item) items.push(item);
    }
    if (items.length > 0) yield items;
  }
  const ending = checkEnding(last, options.file);
  if (ending) yield [ending];
}

/**
 * OFAC ends every file of the set with CRLF and 0x1A. A download or upload cut off at a line end
 * leaves a file that parses cleanly but lacks parties, aliases or identifiers; the missing mark is
 * the only sign of it, so it is an error rather than something to tolerate.
 */
function checkEnding(last: TextLine | undefined, file: string): OfacCsvItem | undefined {
  if (last === undefined) return { error: { file, line: 0, message: 'file is empty' } };
  if (last.tooLong === undefined && last.text.trimEnd().endsWith(String.fromCharCode(DOS_EOF)))
    return undefined;
  const ent = last.tooLong === undefined ? /^\s*"?(\d+)"?\s*,/.exec(last.text)?.[1] : undefined;
  return {
    error: {
      file,
      line: last.line,
      message:
        `the file ends without OFAC's end-of-file mark (0x1A): it looks truncated after its last ` +
        `line, ${last.line}${ent === undefined ? '' : ` (ent_num ${ent})`}`,
    },
  };
}

function parseLine(
  item: TextLine,
  file: string,
  columns: number,
  maxLineLength: number,
): OfacCsvItem | undefined {
  const line = item.line;
  const error = (message: string): OfacCsvItem => ({ error: { file, line, message } });
  if (item.tooLong !== undefined) {
    return error(`line is ${item.tooLong} characters long; the limit is ${maxLineLength}`);
  }
  let text = item.text;
  while (text.charCodeAt(text.length - 1) === DOS_EOF) text = text.slice(0, -1);
  if (text.trim() === '') return undefined;
  // Printable non-ASCII is let through: OFAC documents these files as ASCII, but a name with an
  // accent is still a name worth screening.
  const bad = findBadCharacter(text);
  if (bad !== undefined) return error(bad);
  const split = splitCsvLine(text);
  if (split.error !== undefined) return error(split.error);
  const fields = split.fields;
  if (fields.length !== columns) return error(`expected ${columns} columns, found ${fields.length}`);
  for (let i = 0; i < fields.length; i++) {
    if (fields[i] === NULL || fields[i].trim() === NULL) fields[i] = '';
  }
  if (!/^\d+$/.test(fields[0])) {
    return error(`ent_num must be a number, found ${JSON.stringify(fields[0].slice(0, 40))}`);
  }
  return { record: { line, fields } };
}
