import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

export type Cell = string | number | null;

export interface Column {
  title: string;
  /** Numbers are right-aligned; text left-aligned. */
  align?: 'left' | 'right';
}

/** What one section found: printed as it goes, and kept for the JSON file. */
export class SectionReport {
  readonly data: Record<string, Json> = {};
  status: 'ok' | 'failed' | 'skipped' = 'ok';
  error: string | null = null;

  constructor(readonly name: string) {}

  fail(message: string): void {
    this.status = 'failed';
    this.error = message;
    console.error(`\n  ${this.name} FAILED: ${message}`);
  }

  set(key: string, value: Json): void {
    this.data[key] = value;
  }

  note(text: string): void {
    console.log(`  ${text}`);
  }

  table(title: string, columns: Column[], rows: Cell[][]): void {
    console.log(`\n  ${title}`);
    console.log(formatTable(columns, rows).replace(/^/gm, '  '));
  }
}

/** The whole run: environment, every section, and where the JSON went. */
export class Report {
  readonly startedAt = new Date();
  readonly sections: SectionReport[] = [];

  section(name: string): SectionReport {
    const section = new SectionReport(name);
    this.sections.push(section);
    console.log(`\n== ${name} ==`);
    return section;
  }

  /** Writes .bench/results-<timestamp>.json under root and returns its path. */
  write(root: string): string {
    const dir = join(root, '.bench');
    mkdirSync(dir, { recursive: true });
    const stamp = this.startedAt.toISOString().replace(/[:.]/g, '-');
    const file = join(dir, `results-${stamp}.json`);
    const body: Json = {
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      environment: environment(root),
      sections: Object.fromEntries(
        this.sections.map((s) => [s.name, { status: s.status, error: s.error, ...s.data }]),
      ),
    };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    return file;
  }
}

function environment(root: string): Json {
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? null,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    commit: gitCommit(root),
  };
}

/** Read-only, to tie figures to code; null outside a git checkout. */
function gitCommit(root: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return null;
  }
}

export function formatTable(columns: Column[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i]?.align === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.title)),
    line(widths.map((w) => '-'.repeat(w))),
    ...text.map((row) => line(row)),
  ].join('\n');
}

/** Fixed decimals for a figure; '-' for a missing one (NaN when there were no samples). */
export function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}
