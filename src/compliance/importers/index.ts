import { basename } from 'node:path';
import {
  emptyStats,
  mergeStats,
  type ImportError,
  type ImportOptions,
  type ImportResult,
} from './import-result';
import {
  importInternalCsv,
  importInternalJsonLines,
  type InternalListImportOptions,
} from './internal-list-import';
import { importOfac, type OfacFiles } from './ofac-import';
import type { OfacRole } from './ofac-legacy-csv';
import type { TextSource } from './text-lines';
import { importUnXml } from './un-xml-import';

export type { ImportError, ImportOptions, ImportResult, ImportStats } from './import-result';
export type { OfacRole } from './ofac-legacy-csv';
export type { TextSource } from './text-lines';
export { importOfac, type OfacFiles, type OfacImportOptions } from './ofac-import';
export { importUnXml, type UnXmlImportOptions } from './un-xml-import';
export {
  importInternalCsv,
  importInternalJsonLines,
  type InternalListImportOptions,
} from './internal-list-import';
export { readOfacCsv, type OfacCsvItem, type OfacCsvRecord } from './ofac-legacy-csv';
export { countryCode } from './country-names';

export type ListFormat = 'ofac-sdn' | 'ofac-consolidated' | 'un-xml' | 'csv' | 'json';

export const LIST_FORMATS: readonly ListFormat[] = ['ofac-sdn', 'ofac-consolidated', 'un-xml', 'csv', 'json'];

/** A file to import: its name (how OFAC files are told apart, and what errors mention) and its bytes. */
export interface NamedFile {
  name: string;
  stream: TextSource;
  /** For OFAC formats, which file of the set this is, when its name does not say. */
  role?: OfacRole;
}

/** Files as a list (named, or bare streams: a file stream's path is its name) or as name → stream. */
export type ListFiles = readonly (NamedFile | TextSource)[] | Readonly<Record<string, TextSource>>;

export interface ImportListOptions extends ImportOptions {
  /** For OFAC formats: file name → role, for names that do not say (e.g. "upload-1.csv"). */
  roles?: Readonly<Record<string, OfacRole>>;
  /** Prepended to every entry id (OFAC and UN formats); see OfacImportOptions.idPrefix. */
  idPrefix?: string;
}

const OFAC_ROLES: readonly OfacRole[] = ['sdn', 'alt', 'add', 'comments'];

/** OFAC's own file names: which list and which file of the set each is. */
const OFAC_NAMES: ReadonlyMap<string, { list: 'ofac-sdn' | 'ofac-consolidated'; role: OfacRole }> = new Map([
  ['sdn.csv', { list: 'ofac-sdn', role: 'sdn' }],
  ['alt.csv', { list: 'ofac-sdn', role: 'alt' }],
  ['add.csv', { list: 'ofac-sdn', role: 'add' }],
  ['sdn_comments.csv', { list: 'ofac-sdn', role: 'comments' }],
  ['cons_prim.csv', { list: 'ofac-consolidated', role: 'sdn' }],
  ['cons_alt.csv', { list: 'ofac-consolidated', role: 'alt' }],
  ['cons_add.csv', { list: 'ofac-consolidated', role: 'add' }],
  ['cons_comments.csv', { list: 'ofac-consolidated', role: 'comments' }],
]);

/**
 * Imports list files of one format into entries. Problems with the set of files itself (a
 * compressed file, an OFAC file whose role cannot be told, two primaries, a UN import of two files)
 * come back as errors on line 0 with nothing read beyond each file's first bytes; the streams are
 * then destroyed when they can be.
 */
export async function importList(
  format: ListFormat,
  files: ListFiles,
  options: ImportListOptions = {},
): Promise<ImportResult> {
  const named: NamedFile[] = [];
  const compressed: ImportError[] = [];
  for (const file of nameFiles(files)) {
    const { head, stream } = await readAhead(file.stream, MAGIC_LENGTH);
    const kind = compression(head);
    if (kind !== undefined) {
      const message = `${file.name} is ${kind}-compressed; compressed files are not accepted: decompress it first`;
      compressed.push({ file: file.name, line: 0, message });
    }
    named.push({ ...file, stream });
  }
  if (compressed.length > 0) return refuse(named, compressed);
  switch (format) {
    case 'ofac-sdn':
    case 'ofac-consolidated':
      return importOfacFiles(format, named, options);
    case 'un-xml': {
      if (named.length !== 1) {
        const message = `a UN consolidated list import takes exactly one XML file, got ${named.length}`;
        return refuse(named, [{ file: '', line: 0, message }]);
      }
      return importUnXml(named[0].stream, { ...options, fileName: named[0].name });
    }
    case 'csv':
    case 'json':
      return importInternal(format, named, options);
  }
}

/** The shape list-maintenance.ts injects as ParseList: the formats and files of an ImportList call. */
export function parseListFiles(
  format: ListFormat,
  files: readonly { name: string; stream: TextSource }[],
): Promise<ImportResult> {
  return importList(format, files);
}

function nameFiles(files: ListFiles): NamedFile[] {
  if (isFileArray(files)) {
    return files.map((file, i) =>
      isNamedFile(file) ? file : { name: sourceName(file) ?? `file ${i + 1}`, stream: file },
    );
  }
  return Object.entries(files).map(([name, stream]) => ({ name, stream }));
}

/** Magic numbers of the compressed forms list files are published or kept in. */
const COMPRESSED: readonly { kind: string; magic: readonly number[] }[] = [
  { kind: 'gzip', magic: [0x1f, 0x8b] },
  { kind: 'zip', magic: [0x50, 0x4b, 0x03, 0x04] },
];
const MAGIC_LENGTH = Math.max(...COMPRESSED.map((c) => c.magic.length));

// Compressed bytes read as text would come out as a page of "not valid UTF-8" errors, one per line.
function compression(head: Buffer): string | undefined {
  return COMPRESSED.find((c) => c.magic.every((byte, i) => head[i] === byte))?.kind;
}

/**
 * The first `length` bytes of a source, and a source that yields everything again from the start.
 * A failure while reading ahead is thrown by the returned source, where the importers report it.
 */
async function readAhead(source: TextSource, length: number): Promise<{ head: Buffer; stream: TextSource }> {
  const iterator = source[Symbol.asyncIterator]();
  const taken: (Buffer | Uint8Array | string)[] = [];
  let head = Buffer.alloc(0);
  let finished = false;
  let failure: { error: unknown } | undefined;
  try {
    while (head.length < length) {
      const next = await iterator.next();
      if (next.done === true) {
        finished = true;
        break;
      }
      taken.push(next.value);
      const chunk = next.value;
      const want = length - head.length;
      const bytes =
        typeof chunk === 'string'
          ? Buffer.from(chunk.slice(0, want))
          : Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, want));
      head = Buffer.concat([head, bytes.subarray(0, want)]);
    }
  } catch (error) {
    failure = { error };
    finished = true;
  }
  async function* replay(): AsyncGenerator<Buffer | Uint8Array | string> {
    try {
      yield* taken;
      if (failure) throw failure.error;
      while (!finished) {
        const next = await iterator.next();
        if (next.done === true) finished = true;
        else yield next.value;
      }
    } finally {
      // An importer that stops early (too many errors) must still close the file or upload.
      if (!finished) await iterator.return?.();
    }
  }
  const stream: TextSource & { destroy(): void } = {
    [Symbol.asyncIterator]: replay,
    // What refuse() calls: the file or upload underneath is closed as if it had been passed on.
    destroy: () => destroySource(source),
  };
  return { head, stream };
}

function isFileArray(files: ListFiles): files is readonly (NamedFile | TextSource)[] {
  return Array.isArray(files);
}

function isNamedFile(file: NamedFile | TextSource): file is NamedFile {
  return (
    typeof (file as Partial<NamedFile>).name === 'string' && (file as Partial<NamedFile>).stream !== undefined
  );
}

/** An fs.ReadStream knows its path; other streams have no name. */
function sourceName(source: TextSource): string | undefined {
  const path = (source as { path?: unknown }).path;
  return typeof path === 'string' ? basename(path) : undefined;
}

async function importOfacFiles(
  format: 'ofac-sdn' | 'ofac-consolidated',
  named: NamedFile[],
  options: ImportListOptions,
): Promise<ImportResult> {
  const problems: ImportError[] = [];
  const problem = (file: string, message: string) => problems.push({ file, line: 0, message });
  const byRole: Partial<Record<OfacRole, NamedFile>> = {};
  for (const file of named) {
    // A file decompressed by the caller may keep the name of the .gz it came from.
    const known = OFAC_NAMES.get(basename(file.name).toLowerCase().replace(/\.gz$/, ''));
    const roles = options.roles;
    let role = file.role ?? (roles && Object.hasOwn(roles, file.name) ? roles[file.name] : undefined);
    if (role !== undefined && !OFAC_ROLES.includes(role)) {
      problem(
        file.name,
        `unknown role ${JSON.stringify(role)} for ${file.name}; roles are ${OFAC_ROLES.join(', ')}`,
      );
      continue;
    }
    if (role === undefined && known !== undefined) {
      if (known.list !== format) {
        problem(
          file.name,
          `${file.name} belongs to the ${known.list} list; import it with format ${known.list}`,
        );
        continue;
      }
      role = known.role;
    }
    if (role === undefined) {
      const expected = [...OFAC_NAMES]
        .filter(([, known]) => known.list === format)
        .map(([name]) => name)
        .join(', ');
      problem(
        file.name,
        `cannot tell which OFAC file ${file.name} is: name it ${expected}, or give its role`,
      );
      continue;
    }
    const taken = byRole[role];
    if (taken) {
      problem(file.name, `${file.name} and ${taken.name} are both the ${role} file`);
    } else {
      byRole[role] = file;
    }
  }
  const primary = byRole.sdn;
  if (!primary)
    problem('', `no primary file (${format === 'ofac-sdn' ? 'sdn.csv' : 'cons_prim.csv'}) among the files`);
  if (problems.length > 0 || !primary) return refuse(named, problems);

  const files: OfacFiles = { sdn: primary.stream };
  const fileNames: Partial<Record<OfacRole, string>> = { sdn: primary.name };
  for (const role of ['alt', 'add', 'comments'] as const) {
    const file = byRole[role];
    if (file) {
      files[role] = file.stream;
      fileNames[role] = file.name;
    }
  }
  return importOfac(files, {
    ...options,
    list: format === 'ofac-sdn' ? 'sdn' : 'consolidated',
    fileNames,
  });
}

async function importInternal(
  format: 'csv' | 'json',
  named: NamedFile[],
  options: ImportListOptions,
): Promise<ImportResult> {
  if (named.length === 0) return refuse(named, [{ file: '', line: 0, message: 'no files to import' }]);
  const result: ImportResult = { entries: [], errors: [], stats: emptyStats() };
  // One id space over all files of the import: a list version cannot hold an id twice.
  const takenIds = new Map<string, string>();
  for (const file of named) {
    const fileOptions: InternalListImportOptions = { ...options, fileName: file.name, takenIds };
    const one =
      format === 'csv'
        ? await importInternalCsv(file.stream, fileOptions)
        : await importInternalJsonLines(file.stream, fileOptions);
    result.entries.push(...one.entries);
    result.errors.push(...one.errors);
    mergeStats(result.stats, one.stats);
  }
  return result;
}

function destroySource(source: TextSource): void {
  const destroy = (source as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') (destroy as () => void).call(source);
}

function refuse(named: NamedFile[], errors: ImportError[]): ImportResult {
  for (const file of named) destroySource(file.stream);
  const stats = emptyStats();
  stats.errorCount = errors.length;
  return { entries: [], errors, stats };
}
