import { strict as assert } from 'node:assert';
import type { NameEntry } from '../../src/screening/list-entry';
import { SHARED_INDEX_MIN_NAMES, indexLists, type ListVersion } from '../../src/screening/list-index';
import { DEFAULT_REVIEW_THRESHOLD as T } from '../../src/screening/name-score';
import { screenTargets, type ListIndex } from '../../src/screening/screen-instruction';
import { nameEntry } from '../support/name-entries';
import { randomNames } from '../support/screening-queries';

/** `count` entries of random names, their ids prefixed with the list's name. */
function namesList(list: string, count: number, seed: number, extra: string[] = []): NameEntry[] {
  return [...extra, ...randomNames(count - extra.length, seed)].map((name, i) =>
    nameEntry(`${list}:${i}`, name),
  );
}

const LARGE = SHARED_INDEX_MIN_NAMES;

describe('list indexes for screening', () => {
  const sdn = namesList('sdn', LARGE, 1, ['OOO ARKTIKA TRADING']);
  const un = namesList('un', LARGE + 200, 2, ['ARKTIKA TRADING COMPANY']);
  const internal = namesList('internal', 5, 3, ['ARKTIKA TRADING LLP']);
  const versions = (v: number[]): ListVersion[] => [
    { list: 'sdn', version: v[0], entries: sdn },
    { list: 'internal', version: v[1], entries: internal },
    { list: 'un', version: v[2], entries: un },
  ];

  function hitsOf(lists: readonly ListIndex[], name: string): string[] {
    const result = screenTargets(
      [{ field: 'creditor', party: { name, country: '', identifiers: [], account: undefined } }],
      lists,
      { reviewThreshold: T },
    );
    return result.hits.map((h) => `${h.list}@${h.listVersion} ${h.entryId}`).sort();
  }

  it('shares one name index between the lists of at least SHARED_INDEX_MIN_NAMES names', () => {
    const lists = indexLists(versions([1, 1, 1]));
    assert.deepEqual(
      lists.map((l) => l.list),
      ['sdn', 'internal', 'un'],
    );
    assert.equal(lists[0].names.index, lists[2].names.index);
    assert.notEqual(lists[1].names.index, lists[0].names.index);
    assert.equal(lists[0].names.index.lists, 2);
    assert.equal(lists[1].names.index.lists, 1);
    assert.equal(lists[0].names.index.size, sdn.length + un.length);
  });

  it('answers each list with its own entries and version', () => {
    const lists = indexLists(versions([4, 7, 9]));
    assert.deepEqual(hitsOf(lists, 'Arktika Trading'), ['internal@7 internal:0', 'sdn@4 sdn:0', 'un@9 un:0']);
  });

  it('keeps every index when nothing changed', () => {
    const before = indexLists(versions([1, 1, 1]));
    const after = indexLists(before);
    after.forEach((l, i) => {
      assert.equal(l.names.index, before[i].names.index);
      assert.equal(l.identifiers, before[i].identifiers);
    });
  });

  it('keeps the shared index when a small list changes, and rebuilds it when a large one does', () => {
    const before = indexLists(versions([1, 1, 1]));
    const smallChanged = indexLists([before[0], versions([1, 2, 1])[1], before[2]]);
    assert.equal(smallChanged[0].names.index, before[0].names.index);
    assert.equal(smallChanged[2].names.index, before[2].names.index);
    assert.notEqual(smallChanged[1].names.index, before[1].names.index);
    assert.equal(smallChanged[1].version, 2);

    const unChanged = namesList('un', LARGE + 200, 5, ['ARKTIKA TRADING CORPORATION']);
    const largeChanged = indexLists([before[0], before[1], { list: 'un', version: 2, entries: unChanged }]);
    assert.notEqual(largeChanged[0].names.index, before[0].names.index);
    assert.equal(largeChanged[0].names.index, largeChanged[2].names.index);
    assert.equal(largeChanged[1].names.index, before[1].names.index);
    // The unchanged large list keeps its identifiers and is found in the rebuilt index.
    assert.equal(largeChanged[0].identifiers, before[0].identifiers);
    assert.deepEqual(hitsOf(largeChanged, 'Arktika Trading'), [
      'internal@1 internal:0',
      'sdn@1 sdn:0',
      'un@2 un:0',
    ]);
  });

  it('rebuilds the shared index when a list joins, leaves, or drops below the size', () => {
    const before = indexLists(versions([1, 1, 1]));
    const withoutUn = indexLists([before[0], before[1]]);
    assert.notEqual(withoutUn[0].names.index, before[0].names.index);
    assert.equal(withoutUn[0].names.index.lists, 1);

    const shrunk = indexLists([before[0], before[1], { list: 'un', version: 2, entries: un.slice(0, 10) }]);
    assert.equal(shrunk[0].names.index.lists, 1);
    assert.equal(shrunk[2].names.index.lists, 1);
    assert.notEqual(shrunk[0].names.index, shrunk[2].names.index);
    assert.deepEqual(hitsOf(shrunk, 'Arktika Trading'), [
      'internal@1 internal:0',
      'sdn@1 sdn:0',
      'un@2 un:0',
    ]);

    const grown = indexLists([
      before[0],
      { list: 'internal', version: 2, entries: [...internal, ...namesList('internal-more', LARGE, 6)] },
      before[2],
    ]);
    assert.equal(grown[1].names.index.lists, 3);
    assert.equal(grown[0].names.index, grown[1].names.index);
  });
});
