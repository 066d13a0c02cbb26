/**
 * The real list files the importer specs read, from test/fixtures/sanctions (see
 * test/fixtures/README.md for where each comes from). Files over ~200 KB are stored gzipped and
 * read through a gunzip stream, as an upload of a .gz would be.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { NamedFile } from '../../../src/compliance/importers';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const SANCTIONS = join(FIXTURES, 'sanctions');

/** A stream of `sanctions/<path>`, gunzipped when only the .gz copy exists. */
export function fixture(path: string): Readable {
  const plain = join(SANCTIONS, path);
  if (existsSync(plain)) return createReadStream(plain);
  // pipeline rather than pipe, so that a read error ends the gunzip stream too.
  return pipeline(createReadStream(`${plain}.gz`), createGunzip(), () => undefined);
}

/** The file named as OFAC names it (its base name), for importList. */
export function namedFixture(path: string): NamedFile {
  return { name: path.slice(path.lastIndexOf('/') + 1), stream: fixture(path) };
}

/** The whole text of `sanctions/<path>` (small files and expectations only). */
export function fixtureText(path: string): string {
  const plain = join(SANCTIONS, path);
  if (existsSync(plain)) return readFileSync(plain, 'utf8');
  return gunzipSync(readFileSync(`${plain}.gz`)).toString('utf8');
}

/**
 * The rows of a derived CSV (written by Python's csv module, with a header) as objects. Not the
 * importers' own CSV reader: a few quoted fields here span lines, which that reader refuses.
 */
export function derivedRows(path: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(fixtureText(path));
  return rows.map((fields) => Object.fromEntries(header.map((column, i) => [column, fields[i] ?? ''])));
}

function parseCsv(text: string): string[][] {
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
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** A stream that yields `text` (or bytes) in chunks of `size` bytes, to cross every boundary. */
export function chunked(data: string | Buffer, size: number): Readable {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

/** Bytes that look random but are the same on every run (a linear congruential generator). */
export function garbage(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}
