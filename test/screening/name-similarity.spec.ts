import { strict as assert } from 'node:assert';
import { editDistance } from '../../src/screening/name-similarity';

/** The optimal string alignment distance by its full table, digits at double cost: the reference. */
function referenceDistance(a: string, b: string): number {
  const cost = (code: number) => (code >= 48 && code <= 57 ? 2 : 1);
  const d = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) d[i][0] = d[i - 1][0] + cost(a.charCodeAt(i - 1));
  for (let j = 1; j <= b.length; j++) d[0][j] = d[0][j - 1] + cost(b.charCodeAt(j - 1));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const ca = a.charCodeAt(i - 1);
      const cb = b.charCodeAt(j - 1);
      const change = Math.max(cost(ca), cost(cb));
      d[i][j] = Math.min(
        d[i - 1][j - 1] + (ca === cb ? 0 : change),
        d[i - 1][j] + cost(ca),
        d[i][j - 1] + cost(cb),
      );
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb)
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + change);
    }
  }
  return d[a.length][b.length];
}

describe('edit distance', () => {
  it('agrees with the full table on random words, short and long, with digits and accents', () => {
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const alphabet of ['AB', 'ABC', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'AB1', 'ABÉ']) {
      const word = () =>
        Array.from(
          { length: 1 + Math.floor(random() * 40) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join('');
      for (let k = 0; k < 5000; k++) {
        const a = word();
        const b = word();
        const expected = referenceDistance(a, b);
        assert.equal(editDistance(a, b), expected, `${a} / ${b}`);
        const limit = Math.floor(random() * 10);
        const limited = editDistance(a, b, limit);
        if (expected <= limit) assert.equal(limited, expected, `${a} / ${b} within ${limit}`);
        else assert.ok(limited > limit && limited <= expected, `${a} / ${b} beyond ${limit}`);
      }
    }
  });

  it('counts a transposition as one edit', () => {
    assert.equal(editDistance('MUHAMMAD', 'MUHAMAMD'), 1);
    assert.equal(editDistance('AB', 'BA'), 1);
  });
});
