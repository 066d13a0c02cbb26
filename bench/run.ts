/**
 * Entry point of `npm run bench` (which builds first, as the gateway runs from dist/): runs each
 * section in turn, prints its tables and writes .bench/results-<time>.json. Figures are only
 * comparable within one run on one machine; DESIGN.md "Targets" says which ratios matter.
 *
 *   BENCH_ONLY=intake         only the named sections (comma-separated)
 *   BENCH_SECONDS=10          measured seconds per run      BENCH_WARMUP_SECONDS=2
 *   BENCH_CONCURRENCY=64      closed-loop calls in flight   BENCH_RATE=<req/s> open-loop load
 *   BENCH_CONNECTIONS=1       connections to each server in the intake section (calls use them in turn)
 *   BENCH_LISTS=off           intake and capacity without the real lists loaded
 *   BENCH_DELIVERY_RATE=<req/s>  open-loop load of the delivery section (default: half its closed loop)
 *   BENCH_CAPACITY=<names>    only these rows of the capacity section (comma-separated, e.g.
 *                             '1 gateway,2 gateways + cluster'; the echo baseline always runs)
 *   BENCH_ROUNDS=2            rounds of the capacity section (alternating order; medians reported)
 *   BENCH_PROFILE_DIR=<dir>   each server process writes a V8 CPU profile there when it exits
 *   REDIS_URL                 default redis://127.0.0.1:6379
 */
import { resolve } from 'node:path';
import { aofSection } from './aof-bench';
import { capacitySection } from './capacity-bench';
import { deliverySection } from './delivery-bench';
import { importSection } from './import-bench';
import { intakeSection } from './intake-bench';
import { screeningSection } from './screening-bench';
import { tracingSection } from './tracing-bench';
import { Report } from './report';
import { Cleanup, type Section } from './section';

const SECTIONS: Section[] = [
  intakeSection,
  tracingSection,
  deliverySection,
  screeningSection,
  importSection,
  aofSection,
  capacitySection,
];

function selected(): Section[] {
  const only = process.env.BENCH_ONLY?.trim();
  if (!only) return SECTIONS;
  const names = only
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`,
    );
  }
  return SECTIONS.filter((s) => names.includes(s.name));
}

async function main(): Promise<number> {
  const root = resolve(__dirname, '..');
  const sections = selected();
  const report = new Report();
  const cleanup = new Cleanup();

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping servers and deleting bench keys…`);
    cleanup
      .runAll()
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
      .catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    for (const section of sections) {
      const sectionReport = report.section(section.name);
      sectionReport.note(section.description);
      try {
        await section.run(sectionReport, { root, cleanup });
      } catch (err) {
        sectionReport.fail(err instanceof Error ? err.message : String(err));
      }
    }
  } finally {
    await cleanup.runAll();
  }
  const file = report.write(root);
  console.log(`\nresults written to ${file}`);
  return report.sections.every((s) => s.status !== 'failed') ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
