import type { AliasKind, ListEntry, ListEntryKind, PartyType } from '../../screening/list-entry';

/**
 * A problem with one record of one input file. Importers return these as values and keep going, so
 * that an officer sees every bad row of a file at once rather than fixing them one upload at a time.
 * `line` is 1-based; 0 means the file as a whole (missing, unrecognised, empty).
 */
export interface ImportError {
  file: string;
  line: number;
  message: string;
}

/** What an import found besides its entries; the counts let a caller spot a suspicious version. */
export interface ImportStats {
  /** Records read per input or record type: sdn, alt, add, comments; individual, entity; csv, json. */
  records: Record<string, number>;
  /** Entries produced, per entry kind. */
  entries: Partial<Record<ListEntryKind, number>>;
  /** Name entries per party type. */
  partyTypes: Partial<Record<PartyType, number>>;
  /** Aliases kept on name entries, per alias kind (after dropping repeats of the same name). */
  aliases: Partial<Record<AliasKind, number>>;
  /** Identifier entries per scheme: bic, wallet:XBT, passport, ru-inn, kz-bin, imo... */
  identifiers: Record<string, number>;
  /** Rows that refer to a party the primary file does not have, per input. */
  orphans: Record<string, number>;
  /** Country names with no ISO code in country-names.ts, and how often each was seen. */
  unknownCountries: Record<string, number>;
  /** Tolerated oddities, by description: repeated aliases dropped, identifiers that did not parse... */
  notes: Record<string, number>;
  /** Every error seen, including those beyond `maxErrors` that were counted but not kept. */
  errorCount: number;
  elapsedMs: number;
}

export interface ImportResult {
  entries: ListEntry[];
  errors: ImportError[];
  stats: ImportStats;
}

export interface ImportOptions {
  /**
   * Errors kept in the result (default 1000). A binary or wrongly chosen file produces one error per
   * line; past this cap they are only counted, so a bad upload cannot exhaust memory.
   */
  maxErrors?: number;
  /**
   * Longest line accepted, in characters (default 1 MiB). OFAC lines are about 1 KB; a longer line is
   * reported and skipped without being held in memory.
   */
  maxLineLength?: number;
}

export const DEFAULT_MAX_ERRORS = 1000;
export const DEFAULT_MAX_LINE_LENGTH = 1 << 20;

export function emptyStats(): ImportStats {
  return {
    records: {},
    entries: {},
    partyTypes: {},
    aliases: {},
    identifiers: {},
    orphans: {},
    unknownCountries: {},
    notes: {},
    errorCount: 0,
    elapsedMs: 0,
  };
}

/**
 * Adds `by` to `counts[key]`, creating the key. Keys come from the files (country names, alias
 * types): "constructor" must count like any other word, and "__proto__" must become an own
 * property rather than reach Object.prototype.
 */
export function bump<K extends string>(counts: Partial<Record<K, number>>, key: K, by = 1): void {
  const current = Object.hasOwn(counts, key) ? (counts[key] ?? 0) : 0;
  if (key === '__proto__') {
    Object.defineProperty(counts, key, {
      value: current + by,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    counts[key] = current + by;
  }
}

/** Collects errors up to a cap and counts the rest. */
export class ErrorLog {
  readonly errors: ImportError[] = [];
  count = 0;

  constructor(private readonly max: number = DEFAULT_MAX_ERRORS) {}

  add(file: string, line: number, message: string): void {
    this.count++;
    if (this.errors.length < this.max) this.errors.push({ file, line, message });
  }

  push(error: ImportError): void {
    this.add(error.file, error.line, error.message);
  }

  /** True once the cap is reached: a parser may stop early, since the rest would only be counted. */
  get full(): boolean {
    return this.errors.length >= this.max;
  }
}

/** Counts entries per kind and name entries per party type and alias kind, after an import. */
export function countEntries(entries: readonly ListEntry[], stats: ImportStats): void {
  for (const entry of entries) {
    bump(stats.entries, entry.kind);
    if (entry.kind === 'name') {
      bump(stats.partyTypes, entry.type);
      for (const alias of entry.aliases) bump(stats.aliases, alias.kind);
    }
  }
}

/** Adds the counts of `from` into `into`, for an import made of several files read separately. */
export function mergeStats(into: ImportStats, from: ImportStats): void {
  const add = (a: Record<string, number | undefined>, b: Record<string, number | undefined>) => {
    for (const [key, value] of Object.entries(b)) bump(a, key, value ?? 0);
  };
  add(into.records, from.records);
  add(into.entries, from.entries);
  add(into.partyTypes, from.partyTypes);
  add(into.aliases, from.aliases);
  add(into.identifiers, from.identifiers);
  add(into.orphans, from.orphans);
  add(into.unknownCountries, from.unknownCountries);
  add(into.notes, from.notes);
  into.errorCount += from.errorCount;
  into.elapsedMs += from.elapsedMs;
}
