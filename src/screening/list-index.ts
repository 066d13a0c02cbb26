import { buildIdentifierIndex } from './identifier-index';
import type { ListEntry, NameEntry } from './list-entry';
import { buildSharedNameIndex, type NameIndexOptions } from './name-index';
import type { ListIndex } from './screen-instruction';

/**
 * Lists with at least this many names (primaries and aliases) share one name index. A search
 * costs about 0.03 ms per index whatever its size (planning, and the postings of common words),
 * which the official lists (thousands of names each) pay once together; a change to any of them
 * rebuilds the shared index (2.4 s for OFAC SDN, OFAC consolidated and UN together, about what
 * SDN alone takes, but against 0.2 s for UN alone), which their imports can afford. Smaller
 * lists, such as the internal ones officers edit an entry at a time, keep their own index, so
 * that such a change takes effect in milliseconds.
 */
export const SHARED_INDEX_MIN_NAMES = 1000;

/** A list version as loaded, to be indexed. */
export interface ListVersion {
  list: string;
  version: number;
  entries: readonly ListEntry[];
}

function nameCount(entries: readonly NameEntry[]): number {
  return entries.reduce((count, entry) => count + 1 + entry.aliases.length, 0);
}

/**
 * Indexes list versions for screening, in the order given: each list either as loaded (a version
 * to index) or as indexed before (unchanged, kept as it is unless its names share an index with
 * a list that changed, which is then built again).
 */
export function indexLists(
  lists: readonly (ListVersion | ListIndex)[],
  options: NameIndexOptions = {},
): ListIndex[] {
  const parts = lists.map((l) =>
    'entries' in l
      ? {
          list: l.list,
          version: l.version,
          identifiers: buildIdentifierIndex(l.entries),
          entries: l.entries.filter((e): e is NameEntry => e.kind === 'name'),
          before: undefined,
        }
      : {
          list: l.list,
          version: l.version,
          identifiers: l.identifiers,
          entries: l.names.entries,
          before: l.names,
        },
  );
  const large = parts.filter((p) => nameCount(p.entries) >= SHARED_INDEX_MIN_NAMES);
  const kept = large[0]?.before?.index;
  // The shared index stays only when it holds exactly these lists, in this order.
  const unchanged =
    kept !== undefined &&
    kept.lists === large.length &&
    large.every((p, group) => p.before?.index === kept && p.before.group === group);
  const shared =
    unchanged || large.length === 0
      ? kept
      : buildSharedNameIndex(
          large.map((p) => p.entries),
          options,
        );
  return parts.map((p) => {
    const group = large.indexOf(p);
    const names =
      shared !== undefined && group >= 0
        ? { index: shared, group, entries: p.entries }
        : (p.before ?? { index: buildSharedNameIndex([p.entries], options), group: 0, entries: p.entries });
    return { list: p.list, version: p.version, names, identifiers: p.identifiers };
  });
}
