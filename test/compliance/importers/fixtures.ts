/**
 * The real list files the importer specs read, from test/fixtures/sanctions (see
 * test/fixtures/README.md for where each comes from). Files over ~200 KB are stored gzipped and
 * read through a gunzip stream, as an upload of a .gz would be.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { NamedFile } from '../../../src/compliance/importers';
import { parseCsv, readFixtureText } from '../../support/screening-csv';

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
  return readFixtureText(join(SANCTIONS, path));
}

/**
 * The rows of a derived CSV (written by Python's csv module, with a header) as objects. Not the
 * importers' own CSV reader: a few quoted fields here span lines, which that reader refuses.
 */
export function derivedRows(path: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(fixtureText(path));
  return rows.map((fields) => Object.fromEntries(header.map((column, i) => [column, fields[i] ?? ''])));
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
