import type { SectionReport } from './report';

/** One part of `npm run bench` (intake, screening, delivery…), selectable with BENCH_ONLY. */
export interface Section {
  name: string;
  description: string;
  run(report: SectionReport, context: BenchContext): Promise<void>;
}

export interface BenchContext {
  /** The repository root: where bin/caravan and .bench/ are. */
  root: string;
  cleanup: Cleanup;
}

/**
 * Cleanup that must happen however the run ends: a section calls the returned function in its own
 * finally, and an interrupted run (SIGINT/SIGTERM) runs whatever is still registered.
 */
export class Cleanup {
  private readonly tasks = new Map<number, { label: string; run: () => Promise<void> }>();
  private nextId = 0;

  add(label: string, task: () => Promise<void>): () => Promise<void> {
    const id = this.nextId++;
    let done: Promise<void> | null = null;
    const run = () => {
      done ??= (async () => {
        try {
          await task();
        } catch (err) {
          console.error(`cleanup "${label}" failed: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          this.tasks.delete(id);
        }
      })();
      return done;
    };
    this.tasks.set(id, { label, run });
    return run;
  }

  /** Newest first, as resources are usually released in the reverse order of acquisition. */
  async runAll(): Promise<void> {
    for (const id of [...this.tasks.keys()].reverse()) await this.tasks.get(id)?.run();
  }
}
