/**
 * Name screening benchmark (DESIGN.md "Targets"): matching quality on the nomenklatura name bench
 * at the review threshold, index build time and memory, and per-query latency of the index
 * against a scan of every name with the same scorer, over the OFAC SDN 2024-05-03 (+ aliases),
 * OFAC consolidated and UN lists.
 *
 * Standalone: `npm run build && npx tsx bench/screening-bench.ts` (add `--expose-gc` before the
 * file name for steadier memory figures) imports the lists with the compliance importers and
 * prints a report. The index and scorer measured are the compiled ones in dist/, which the gateway
 * runs: under tsx every imported binding is a getter call, which slows the hot loops by about a
 * quarter and would measure a cost production does not have.
 * Knobs: BENCH_SCREENING_QUERIES (list-name queries, default 1000), BENCH_SCREENING_SCANS (queries
 * also run as a full scan, default 100).
 */
import { statSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { applyServerV8Flags } from '../src/cli/server-v8-flags';
import { importList } from '../src/compliance/importers';
import type { NameEntry } from '../src/screening/list-entry';
import type * as ListIndexModule from '../src/screening/list-index';
import type * as NameIndexModule from '../src/screening/name-index';
import type * as NameScoreModule from '../src/screening/name-score';
import type * as ScreenInstructionModule from '../src/screening/screen-instruction';
import { readCsvRecords } from '../test/support/screening-csv';
import { perturbedQueries, randomNames, seededRandom } from '../test/support/screening-queries';
import { CASES, openFile } from './import-bench';
import { Report, fixed, type Json, type SectionReport } from './report';
import type { Section } from './section';
import { LatencySamples, type LatencySummary } from './stats';

const ROOT = resolve(__dirname, '..');
const BENCH_CASES = join(
  ROOT,
  'test',
  'fixtures',
  'sanctions',
  'fixtures',
  'nomenklatura_name_bench_cases.csv',
);
/**
 * A screening module as compiled to dist/ by `npm run build`; refused when older than any source
 * file of src/screening, so that a stale build is never measured.
 */
function compiled<T>(name: string): T {
  const source = join(ROOT, 'src', 'screening');
  const built = join(ROOT, 'dist', 'screening', `${name}.js`);
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` first (npm run bench does)`);
  }
  const newest = Math.max(...readdirSync(source).map((f) => statSync(join(source, f)).mtimeMs));
  if (newest > builtAt) throw new Error(`${built} is older than src/screening: run \`npm run build\` first`);
  return createRequire(__filename)(built) as T;
}

/** Loaded when measuring starts, not on import: loading the lists needs no build. */
function measured(): typeof NameIndexModule &
  typeof NameScoreModule &
  typeof ListIndexModule &
  typeof ScreenInstructionModule {
  return {
    ...compiled<typeof NameIndexModule>('name-index'),
    ...compiled<typeof NameScoreModule>('name-score'),
    ...compiled<typeof ListIndexModule>('list-index'),
    ...compiled<typeof ScreenInstructionModule>('screen-instruction'),
  };
}

/** Passes over the query set after the warm-up one: each query's quickest pass is also reported. */
const PASSES = 3;

/** DESIGN.md "Targets". */
const TARGET_P99_MS = 0.5;
const TARGET_SPEEDUP = 20;
const TARGET_QUALITY = 0.85;

/** A type alias (not an interface) so that it is assignable to the report's Json. */
export type ScreeningBenchResult = {
  threshold: number;
  quality: { precision: number; recall: number; cases: number };
  names: number;
  buildMs: number;
  rssMiB: { beforeBuild: number; afterBuild: number };
  heapMiB: { beforeBuild: number; afterBuild: number };
  queries: { list: number; bench: number; random: number };
  /** Each query's first timed pass. */
  index: LatencySummary;
  /** Each query's quickest of PASSES passes: the index's own cost, without the machine's noise. */
  indexQuickest: LatencySummary;
  /**
   * The same, screened as the gateway does: the lists indexed by list-index.ts (these three
   * share one name index), the name prepared once: each query's first timed pass and its quickest.
   */
  gateway: LatencySummary;
  gatewayQuickest: LatencySummary;
  /** The same against one index per list, as the gateway screened before they shared one. */
  perListQuickest: LatencySummary;
  scan: LatencySummary;
  /** The same queries through the index, to compare with the scan. */
  indexOnScanned: LatencySummary;
  speedup: { p50: number; mean: number };
  recall: { scanned: number; scanMatches: number; missed: string[] };
};

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

function settle(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) collect();
}

/** Precision and recall of scoreNames(name1, name2) ≥ threshold on the labelled pairs. */
export function measureQuality(threshold: number): ScreeningBenchResult['quality'] {
  const { scoreNames } = measured();
  const rows = readCsvRecords(BENCH_CASES);
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (const row of rows) {
    const predicted =
      scoreNames(row.name1, row.name2, row.schema === 'Person' ? 'person' : 'entity').score >= threshold;
    const actual = row.is_match === 'true';
    if (predicted && actual) truePositives++;
    else if (predicted) falsePositives++;
    else if (actual) falseNegatives++;
  }
  return {
    precision: truePositives / (truePositives + falsePositives),
    recall: truePositives / (truePositives + falseNegatives),
    cases: rows.length,
  };
}

/**
 * One warm-up pass (a gateway answers its first screenings long after start), then PASSES timed
 * passes: each query's time in the first, and its quickest.
 */
function timeQueries(queries: string[], run: (query: string) => void): [LatencySamples, LatencySamples] {
  for (const query of queries) run(query);
  const first = new LatencySamples(queries.length);
  const quickest = new Float64Array(queries.length).fill(Infinity);
  for (let pass = 0; pass < PASSES; pass++) {
    queries.forEach((query, i) => {
      const t = performance.now();
      run(query);
      const ms = performance.now() - t;
      if (pass === 0) first.add(ms);
      if (ms < quickest[i]) quickest[i] = ms;
    });
  }
  const quickestSamples = new LatencySamples(queries.length);
  for (const ms of quickest) quickestSamples.add(ms);
  return [first, quickestSamples];
}

/** `lists`: the name entries of each list; the main figures are of one index over all of them. */
export async function runScreeningBench(
  lists: NameEntry[][],
  threshold?: number,
): Promise<ScreeningBenchResult> {
  const { DEFAULT_REVIEW_THRESHOLD, bruteForceSearch, buildNameIndex, indexLists, prepareName, searchNames } =
    measured();
  const entries = lists.flat();
  threshold ??= DEFAULT_REVIEW_THRESHOLD;
  const quality = measureQuality(threshold);

  settle();
  const before = process.memoryUsage();
  const started = performance.now();
  // No lookups kept between searches: the passes repeat the same names, which would then find
  // every word's lookup done by the pass before (the gateway keeps them: party names recur).
  const index = buildNameIndex(entries, { unknownWordsKept: 0 });
  const buildMs = performance.now() - started;
  settle();
  const after = process.memoryUsage();

  // The phases are long and synchronous: yield between them so that signal handlers can run.
  await nextTurn();
  const benchNames = readCsvRecords(BENCH_CASES).flatMap((r) => [r.name1, r.name2]);
  const listQueries = perturbedQueries(entries, positive('BENCH_SCREENING_QUERIES', 1000), 11);
  const randomQueries = randomNames(200, 12);
  const queries = [...listQueries, ...benchNames, ...randomQueries];
  const [latencies, quickestSamples] = timeQueries(queries, (query) => index.search(query, { threshold }));

  await nextTurn();
  // A party as the gateway screens it, its name prepared once: the figure a submission pays.
  const gatewayLists = indexLists(
    lists.map((entries, i) => ({ list: `list-${i}`, version: 1, entries })),
    { unknownWordsKept: 0 },
  );
  const [gateway, gatewayQuickest] = timeQueries(queries, (query) =>
    searchNames(gatewayLists, prepareName(query), { threshold }),
  );
  await nextTurn();
  const perList = lists.map((list) => buildNameIndex(list, { unknownWordsKept: 0 }));
  const [, perListQuickest] = timeQueries(queries, (query) => {
    const prepared = prepareName(query);
    for (const listIndex of perList) listIndex.search(prepared, { threshold });
  });

  await nextTurn();
  // The scan is slow: a sample of the same mix, each query also through the index.
  const random = seededRandom(13);
  const scanned = Array.from(
    { length: positive('BENCH_SCREENING_SCANS', 100) },
    () => queries[Math.floor(random() * queries.length)],
  );
  const scan = new LatencySamples(scanned.length);
  const indexOnScanned = new LatencySamples(scanned.length);
  const missed: string[] = [];
  let scanMatches = 0;
  let scanTotal = 0;
  let indexTotal = 0;
  bruteForceSearch(entries, '', { threshold }); // normalises the lists once, outside the timing
  for (const query of scanned) {
    let t = performance.now();
    const expected = bruteForceSearch(entries, query, { threshold, limit: Infinity });
    const scanMs = performance.now() - t;
    t = performance.now();
    const found = index.search(query, { threshold, limit: Infinity });
    const indexMs = performance.now() - t;
    scan.add(scanMs);
    indexOnScanned.add(indexMs);
    scanTotal += scanMs;
    indexTotal += indexMs;
    scanMatches += expected.length;
    const ids = new Set(found.map((m) => m.entryId));
    for (const m of expected)
      if (!ids.has(m.entryId)) missed.push(`${query} → ${m.matchedName} (${m.score})`);
  }
  const scanSummary = scan.summary();
  const indexScannedSummary = indexOnScanned.summary();
  return {
    threshold,
    quality,
    names: index.size,
    buildMs: Math.round(buildMs),
    rssMiB: { beforeBuild: mib(before.rss), afterBuild: mib(after.rss) },
    heapMiB: { beforeBuild: mib(before.heapUsed), afterBuild: mib(after.heapUsed) },
    queries: { list: listQueries.length, bench: benchNames.length, random: randomQueries.length },
    index: latencies.summary(),
    indexQuickest: quickestSamples.summary(),
    gateway: gateway.summary(),
    gatewayQuickest: gatewayQuickest.summary(),
    perListQuickest: perListQuickest.summary(),
    scan: scanSummary,
    indexOnScanned: indexScannedSummary,
    speedup: { p50: scanSummary.p50 / indexScannedSummary.p50, mean: scanTotal / indexTotal },
    recall: { scanned: scanned.length, scanMatches, missed },
  };
}

/** Name entries of each benchmark list, through the same importers as the gateway. */
export async function loadBenchListEntries(): Promise<NameEntry[][]> {
  const lists: NameEntry[][] = [];
  for (const benchCase of CASES.filter((c) => !c.name.includes('2021-07-07'))) {
    const result = await importList(benchCase.format, benchCase.files.map(openFile));
    lists.push(result.entries.filter((entry): entry is NameEntry => entry.kind === 'name'));
  }
  return lists;
}

/** Name entries of the benchmark lists, all together. */
export async function loadBenchEntries(): Promise<NameEntry[]> {
  return (await loadBenchListEntries()).flat();
}

function print(report: SectionReport, result: ScreeningBenchResult): void {
  const { quality } = result;
  report.note(
    `quality at threshold ${result.threshold} on ${quality.cases} labelled pairs: precision ${fixed(quality.precision, 3)}, ` +
      `recall ${fixed(quality.recall, 3)} (target ≥ ${TARGET_QUALITY} each; logic-v2 reference 0.76 / 0.82)`,
  );
  report.note(
    `index: ${result.names} names built in ${result.buildMs} ms; RSS ${result.rssMiB.beforeBuild} → ${result.rssMiB.afterBuild} MiB, ` +
      `heap ${result.heapMiB.beforeBuild} → ${result.heapMiB.afterBuild} MiB`,
  );
  const row = (label: string, s: LatencySummary) => [
    label,
    s.count,
    fixed(s.p50, 3),
    fixed(s.p90, 3),
    fixed(s.p99, 3),
    fixed(s.max, 3),
  ];
  report.table(
    `latency per query, ms (${result.queries.list} list names perturbed, ${result.queries.bench} bench names, ${result.queries.random} random)`,
    [
      { title: 'search', align: 'left' },
      { title: 'queries' },
      { title: 'p50' },
      { title: 'p90' },
      { title: 'p99' },
      { title: 'max' },
    ],
    [
      row('index, all queries', result.index),
      row(`index, all queries, quickest of ${PASSES} passes`, result.indexQuickest),
      row('as the gateway screens (lists share an index)', result.gateway),
      row(`as the gateway screens, quickest of ${PASSES}`, result.gatewayQuickest),
      row(`one index per list (the gateway before), quickest of ${PASSES}`, result.perListQuickest),
      row('index, scanned sample', result.indexOnScanned),
      row('full scan, same sample', result.scan),
    ],
  );
  report.note(
    `index p99 ${fixed(result.index.p99, 3)} ms, ${fixed(result.indexQuickest.p99, 3)} ms over each query's quickest pass; ` +
      `as the gateway screens ${fixed(result.gateway.p99, 3)} / ${fixed(result.gatewayQuickest.p99, 3)} ms ` +
      `(target ≤ ${TARGET_P99_MS}; compiled code from dist/, as the gateway runs it); speed-up over the scan: ` +
      `${fixed(result.speedup.p50, 0)}× at p50, ${fixed(result.speedup.mean, 0)}× in total (target ≥ ${TARGET_SPEEDUP}×)`,
  );
  report.note(
    `recall of the index against the scan: ${result.recall.scanMatches - result.recall.missed.length}/${result.recall.scanMatches} ` +
      `matches over ${result.recall.scanned} queries${result.recall.missed.length > 0 ? `; missed: ${result.recall.missed.join('; ')}` : ''}`,
  );
}

function toJson(result: ScreeningBenchResult): Json {
  return {
    ...result,
    index: { ...result.index },
    indexQuickest: { ...result.indexQuickest },
    gateway: { ...result.gateway },
    gatewayQuickest: { ...result.gatewayQuickest },
    perListQuickest: { ...result.perListQuickest },
    scan: { ...result.scan },
    indexOnScanned: { ...result.indexOnScanned },
  };
}

/** The `screening` section of `npm run bench`. */
export const screeningSection: Section = {
  name: 'screening',
  description: 'Name screening: quality on the nomenklatura bench, index latency against a full scan, memory',
  async run(report) {
    // The gateway's V8 flags, set before the lists are loaded and indexed, as `caravan serve` does.
    applyServerV8Flags();
    const result = await runScreeningBench(await loadBenchListEntries());
    print(report, result);
    report.set('screening', toJson(result));
  },
};

if (require.main === module) {
  const report = new Report();
  const section = report.section('screening');
  section.note(screeningSection.description);
  applyServerV8Flags();
  loadBenchListEntries()
    .then((lists) => runScreeningBench(lists))
    .then((result) => print(section, result))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exitCode = 1;
    });
}
