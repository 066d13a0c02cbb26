import { strict as assert } from 'node:assert';
import { FuzzyKeyIndex } from '../../src/screening/fuzzy-keys';
import { stringSimilarity } from '../../src/screening/name-similarity';

describe('fuzzy key index', () => {
  it('finds every key at least as similar as asked, at every depth, for any probe or a key', () => {
    let seed = 11;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    // A small alphabet and lengths up to 20, so that many pairs need three or more deletions.
    const word = () =>
      Array.from({ length: 3 + Math.floor(random() * 18) }, () => 'ABCDE'[Math.floor(random() * 5)]).join('');
    const keys = [...new Set(Array.from({ length: 1500 }, word))];
    const index = new FuzzyKeyIndex(keys, 0.7);
    const expect = (probe: string, level: number, found: Map<number, number>) =>
      keys.forEach((key, id) => {
        const similarity = stringSimilarity(probe, key);
        if (similarity >= level) assert.equal(found.get(id), similarity, `${probe} / ${key} at ${level}`);
        else assert.ok(!found.has(id), `${probe} / ${key} below ${level}`);
      });
    for (const level of [0.7, 0.75, 0.83]) {
      for (const probe of [...keys.slice(0, 150), ...Array.from({ length: 150 }, word)]) {
        const found = new Map<number, number>();
        index.search(probe, level, (id, similarity) => found.set(id, similarity));
        expect(probe, level, found);
      }
      keys.slice(0, 150).forEach((probe, id) => {
        const found = new Map<number, number>();
        index.searchKey(id, level, (other, similarity) => found.set(other, similarity));
        expect(probe, level, found);
      });
    }
  });
});
