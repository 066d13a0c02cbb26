/**
 * List import timings, for `npm run bench` (DESIGN.md target: the full OFAC SDN set in < 3 s).
 * Reads the real lists from test/fixtures/sanctions where they are stored uncompressed, then from
 * ../shared/data/sanctions when that checkout is beside this one, and otherwise the gzipped copies
 * in test/fixtures/sanctions through gunzip (which adds a little). Each import runs three times;
 * the median is reported, the first run included, because a gateway imports a list once per
 * version rather than in a warm loop.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { importList, type ListFormat, type NamedFile } from '../src/compliance/importers';
import type { Section } from './section';

const ROOT = resolve(__dirname, '..');
const SHARED = resolve(ROOT, '..', 'shared', 'data', 'sanctions');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'sanctions');

export interface BenchCase {
  name: string;
  format: ListFormat;
  /** Paths under data/sanctions. */
  files: string[];
}

export const CASES: BenchCase[] = [
  {
    name: 'ofac-sdn 2024-05-03 sdn.csv + 2025-12-24 alt/add/comments',
    format: 'ofac-sdn',
    files: [
      'ofac_sdn_2024-05-03/sdn.csv',
      'ofac_sdn_aliases_2025-12-24/alt.csv',
      'ofac_sdn_aliases_2025-12-24/add.csv',
      'ofac_sdn_aliases_2025-12-24/sdn_comments.csv',
    ],
  },
  {
    name: 'ofac-sdn 2021-07-07 (complete set)',
    format: 'ofac-sdn',
    files: ['sdn', 'alt', 'add', 'sdn_comments'].map((f) => `ofac_sdn_2021-07-07/${f}.csv`),
  },
  {
    name: 'ofac-consolidated 2025-12-19',
    format: 'ofac-consolidated',
    files: ['cons_prim', 'cons_alt', 'cons_add', 'cons_comments'].map(
      (f) => `ofac_non_sdn_2025-12-19/${f}.csv`,
    ),
  },
  { name: 'un-xml 2026-02-27', format: 'un-xml', files: ['un_consolidated_2026-02-27/consolidated.xml'] },
];

const RUNS = 3;

export async function runImportBench(): Promise<{ name: string; ms: number; entries: number }[]> {
  const results: { name: string; ms: number; entries: number }[] = [];
  for (const benchCase of CASES) {
    const times: number[] = [];
    let entries = 0;
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const result = await importList(benchCase.format, benchCase.files.map(openFile));
      times.push(performance.now() - started);
      if (result.stats.errorCount > 0) {
        throw new Error(
          `${benchCase.name}: ${result.stats.errorCount} import errors, first: ${result.errors[0]?.message}`,
        );
      }
      entries = result.entries.length;
    }
    times.sort((a, b) => a - b);
    results.push({ name: benchCase.name, ms: Math.round(times[Math.floor(RUNS / 2)]), entries });
  }
  return results;
}

export function openFile(path: string): NamedFile {
  const name = path.slice(path.lastIndexOf('/') + 1);
  // An uncompressed fixture first: it is the ../shared file byte for byte, but for the 2021-07-07
  // sdn_comments.csv, whose end-of-file mark the fixture restores (test/fixtures/README.md).
  const fixture = join(FIXTURES, path);
  if (existsSync(fixture)) return { name, stream: createReadStream(fixture) };
  const shared = join(SHARED, path);
  if (existsSync(shared)) return { name, stream: createReadStream(shared) };
  const gunzip = createGunzip();
  // pipeline, not pipe: a read error must end the gunzip stream, or the import would wait forever.
  const stream: Readable = pipeline(createReadStream(`${fixture}.gz`), gunzip, () => undefined);
  return { name, stream };
}

/** The `import` section of `npm run bench`: median import time per real list (target < 3 s for OFAC SDN). */
export const importSection: Section = {
  name: 'import',
  description:
    'List imports from the real files (median of 3 runs, parse to entries; target: OFAC SDN < 3 s)',
  async run(report) {
    const results = await runImportBench();
    report.table(
      'import time',
      [
        { title: 'list', align: 'left' },
        { title: 'entries', align: 'right' },
        { title: 'ms', align: 'right' },
      ],
      results.map((r) => [r.name, r.entries, r.ms]),
    );
    report.set('imports', results);
  },
};
