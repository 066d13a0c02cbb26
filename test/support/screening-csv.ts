/**
 * A small RFC 4180 reader for the sanctions fixtures (quoted fields, doubled quotes, CRLF, and
 * the 0x1A end-of-file byte that OFAC files carry). Test and bench support only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * A fixture file's text. test/fixtures stores large files gzipped (see its README) while
 * ../shared/data keeps them plain: `path` names the plain file, and `path.gz` is read otherwise.
 */
export function readFixtureText(path: string, encoding: BufferEncoding = 'utf8'): string {
  if (existsSync(path)) return readFileSync(path, encoding);
  return gunzipSync(readFileSync(`${path}.gz`)).toString(encoding);
}

export function fixtureExists(path: string): boolean {
  return existsSync(path) || existsSync(`${path}.gz`);
}

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\u001a') {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

/** Rows of a CSV file with a header row, as objects keyed by column name. */
export function readCsvRecords(path: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(readFixtureText(path));
  return rows.map((row) => Object.fromEntries(header.map((column, i) => [column, row[i] ?? ''])));
}
