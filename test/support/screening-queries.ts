/**
 * Query sets for screening tests and the screening benchmark: real list names with the kinds of
 * damage a payment message does to them, and names that should match nothing. Seeded, so runs
 * are comparable.
 */
import type { NameEntry } from '../../src/screening/list-entry';

/** mulberry32: a small seeded generator, good enough to pick and perturb names. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Latin letters and the Cyrillic letters that look like them. */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  A: 'А',
  E: 'Е',
  O: 'О',
  C: 'С',
  P: 'Р',
  K: 'К',
  M: 'М',
  T: 'Т',
};

type Perturbation = (words: string[], random: () => number) => string[];

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}

const PERTURBATIONS: readonly Perturbation[] = [
  // a typo: one letter replaced, dropped, doubled or swapped with its neighbour
  (words, random) => {
    const i = Math.floor(random() * words.length);
    const word = words[i];
    if (word.length < 4) return words;
    const at = 1 + Math.floor(random() * (word.length - 2));
    const edits = [
      () => word.slice(0, at) + pick([...'AEIOUNRST'], random) + word.slice(at + 1),
      () => word.slice(0, at) + word.slice(at + 1),
      () => word.slice(0, at) + word[at] + word.slice(at),
      () => word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2),
    ];
    return words.map((w, j) => (j === i ? pick(edits, random)() : w));
  },
  // a middle name or a word left out
  (words, random) =>
    words.length > 2 ? words.filter((_, j) => j !== Math.floor(random() * words.length)) : words,
  // another order
  (words) => [...words].reverse(),
  // two words written together
  (words, random) => {
    if (words.length < 2) return words;
    const i = Math.floor(random() * (words.length - 1));
    return [...words.slice(0, i), words[i] + words[i + 1], ...words.slice(i + 2)];
  },
  // a Cyrillic look-alike letter inside a Latin word
  (words, random) => {
    const i = Math.floor(random() * words.length);
    const upper = words[i].toUpperCase();
    const at = [...upper].findIndex((ch) => ch in LOOK_ALIKES);
    if (at < 0) return words;
    return words.map((w, j) =>
      j === i ? upper.slice(0, at) + LOOK_ALIKES[upper[at]] + upper.slice(at + 1) : w,
    );
  },
  // unchanged
  (words) => words,
];

/** List names (primaries and aliases of random entries), each damaged in one random way. */
export function perturbedQueries(entries: readonly NameEntry[], count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const queries: string[] = [];
  while (queries.length < count) {
    const entry = pick(entries, random);
    const name = random() < 0.7 || entry.aliases.length === 0 ? entry.name : pick(entry.aliases, random).name;
    const words = name.split(/[\s,]+/).filter((w) => w !== '');
    if (words.length === 0) continue;
    queries.push(pick(PERTURBATIONS, random)(words, random).join(' '));
  }
  return queries;
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ren',
  'tas',
  'vor',
  'quin',
  'bel',
  'dar',
  'sut',
  'ez',
  'on',
  'pra',
  'gol',
  'fe',
  'wy',
];

/** Pronounceable names made of random syllables: they should match no list entry. */
export function randomNames(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const words = 2 + Math.floor(random() * 2);
    return Array.from({ length: words }, () => {
      const syllables = 2 + Math.floor(random() * 2);
      return Array.from({ length: syllables }, () => pick(SYLLABLES, random)).join('');
    }).join(' ');
  });
}
