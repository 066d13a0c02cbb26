import { buildIdentifierIndex } from './identifier-index';
import type { ListEntry, NameEntry } from './list-entry';
import { buildNameIndex } from './name-index';
import type { ListIndex } from './screen-instruction';

/** Indexes one list version for screening: names for fuzzy search, identifiers for exact lookup. */
export function buildListIndex(list: string, version: number, entries: readonly ListEntry[]): ListIndex {
  const names = entries.filter((e): e is NameEntry => e.kind === 'name');
  return { list, version, names: buildNameIndex(names), identifiers: buildIdentifierIndex(entries) };
}
