/**
 * String similarity of two folded tokens: 1 − (optimal string alignment distance / longer length),
 * where every edit touching a digit costs double, so "11420" and "11421" are further apart than
 * "ALI" and "ALY". Scratch rows are reused because the scorer calls this millions of times in a
 * brute-force scan.
 */

const DIGIT_COST = 2;
let previous2 = new Int32Array(65);
let previous = new Int32Array(65);
let current = new Int32Array(65);

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Optimal string alignment distance with digit edits at double cost. With a `limit`, a distance
 * above it may be returned as limit + 1.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (a.length === 0) return costOf(b);
  if (b.length === 0) return costOf(a);
  if (a.length <= WORD_BITS && unitCost(a) && unitCost(b))
    return Math.min(limit + 1, bitParallelDistance(a, b));
  return tableDistance(a, b, limit);
}

/** Pattern lengths the bit-parallel distance handles: one bit per character in a 32-bit integer. */
const WORD_BITS = 32;
/** Per character code below 128, the positions where the pattern has it, as a bit mask. */
const positions = new Int32Array(128);

/** Whether every character is ASCII and not a digit: edits on it cost 1 and positions has a slot for it. */
export function unitCost(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || isDigit(code)) return false;
  }
  return true;
}

/**
 * The unit-cost optimal string alignment distance of `pattern` (at most WORD_BITS long) and
 * `text`, a column of the distance table at a time in a few word operations: Myers' bit-vector
 * algorithm with Hyyrö's transposition term. The scorer and the fuzzy key lookups spend most of
 * their time here on short words, where the table costs a cell per letter pair.
 */
function bitParallelDistance(pattern: string, text: string): number {
  const m = pattern.length;
  for (let i = 0; i < m; i++) positions[pattern.charCodeAt(i)] |= 1 << i;
  const distance = patternDistance(positions, m, text);
  for (let i = 0; i < m; i++) positions[pattern.charCodeAt(i)] = 0;
  return distance;
}

/** bitParallelDistance for a pattern of length m whose character positions are already in `masks`. */
function patternDistance(masks: Int32Array, m: number, text: string): number {
  const last = 1 << (m - 1);
  let vp = -1;
  let vn = 0;
  let d0 = 0;
  let previousMatch = 0;
  let distance = m;
  for (let j = 0; j < text.length; j++) {
    const match = masks[text.charCodeAt(j)];
    const transposed = ((~d0 & match) << 1) & previousMatch;
    d0 = (((match & vp) + vp) ^ vp) | match | vn | transposed;
    let hp = vn | ~(d0 | vp);
    const hn = d0 & vp;
    if (hp & last) distance++;
    else if (hn & last) distance--;
    hp = (hp << 1) | 1;
    vp = (hn << 1) | ~(d0 | hp);
    vn = d0 & hp;
    previousMatch = match;
  }
  return distance;
}

/**
 * The distance by its table, for digits and long or non-ASCII words. With a `limit`, stops as
 * soon as the distance is known to exceed it and returns limit + 1: every cell derives from the
 * two rows above, so once both hold only values above the limit, so will every later row.
 */
function tableDistance(a: string, b: string, limit: number): number {
  const n = a.length;
  const m = b.length;
  if (previous.length <= m) {
    previous2 = new Int32Array(m + 1);
    previous = new Int32Array(m + 1);
    current = new Int32Array(m + 1);
  }
  previous[0] = 0;
  for (let j = 1; j <= m; j++)
    previous[j] = previous[j - 1] + (isDigit(b.charCodeAt(j - 1)) ? DIGIT_COST : 1);
  let previousMinimum = 0;
  for (let i = 1; i <= n; i++) {
    const ca = a.charCodeAt(i - 1);
    const costA = isDigit(ca) ? DIGIT_COST : 1;
    current[0] = previous[0] + costA;
    let minimum = current[0];
    for (let j = 1; j <= m; j++) {
      const cb = b.charCodeAt(j - 1);
      const costB = isDigit(cb) ? DIGIT_COST : 1;
      let best = previous[j - 1] + (ca === cb ? 0 : Math.max(costA, costB));
      const deletion = previous[j] + costA;
      if (deletion < best) best = deletion;
      const insertion = current[j - 1] + costB;
      if (insertion < best) best = insertion;
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        const transposition = previous2[j - 2] + Math.max(costA, costB);
        if (transposition < best) best = transposition;
      }
      current[j] = best;
      if (best < minimum) minimum = best;
    }
    if (minimum > limit && previousMinimum > limit) return limit + 1;
    previousMinimum = minimum;
    const spare = previous2;
    previous2 = previous;
    previous = current;
    current = spare;
  }
  return previous[m];
}

function costOf(text: string): number {
  let cost = 0;
  for (let i = 0; i < text.length; i++) cost += isDigit(text.charCodeAt(i)) ? DIGIT_COST : 1;
  return cost;
}

/** Letters of a set of keys (a token's romanisations) that bound their similarity cheaply. */
export interface KeySet {
  /**
   * Letters present in every key / in some key: bits 0–25 A–Z, other characters share 26–29
   * (30 bits keep the masks small integers, which V8 stores unboxed).
   */
  allLetters: number;
  anyLetters: number;
  minLength: number;
  maxLength: number;
}

function letterBit(code: number): number {
  return code >= 65 && code <= 90 ? 1 << (code - 65) : 1 << (26 + (code % 4));
}

export function letterMask(key: string): number {
  let mask = 0;
  for (let i = 0; i < key.length; i++) mask |= letterBit(key.charCodeAt(i));
  return mask;
}

/**
 * The letter bits (as letterMask) that occur at least twice in key. An edit lowers by at most one
 * the number of letters one side holds more of than the other, so a distance is at least, on
 * either side, its letters the other lacks plus its repeated letters the other does not repeat:
 * long words, whose letter sets mostly overlap, still differ in their repeated letters.
 */
export function repeatedLetterMask(key: string): number {
  let once = 0;
  let twice = 0;
  for (let i = 0; i < key.length; i++) {
    const bit = letterBit(key.charCodeAt(i));
    twice |= once & bit;
    once |= bit;
  }
  return twice;
}

export function keySet(keys: readonly string[]): KeySet {
  let allLetters = -1;
  let anyLetters = 0;
  let minLength = Infinity;
  let maxLength = 0;
  for (const key of keys) {
    const mask = letterMask(key);
    allLetters &= mask;
    anyLetters |= mask;
    minLength = Math.min(minLength, key.length);
    maxLength = Math.max(maxLength, key.length);
  }
  return { allLetters, anyLetters, minLength, maxLength };
}

export function bitCount(mask: number): number {
  let v = mask - ((mask >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0xf0f0f0f) * 0x1010101) >>> 24;
}

/**
 * At least the best stringSimilarity between a key of `a` and a key of `b`, for a few bit
 * operations: an edit changes at most one letter on each side, so every letter that one side
 * always has and the other never has costs an edit, and so does each unit of length difference.
 */
export function similarityCeiling(a: KeySet, b: KeySet): number {
  const edits = Math.max(
    bitCount(a.allLetters & ~b.anyLetters),
    bitCount(b.allLetters & ~a.anyLetters),
    a.minLength - b.maxLength,
    b.minLength - a.maxLength,
  );
  return 1 - edits / (a.maxLength > b.maxLength ? a.maxLength : b.maxLength);
}

/**
 * In [0, 1]; 1 only for equal strings. Below `atLeast` the exact value is not needed: it is then
 * only guaranteed to be below it, which lets the distance computation stop early.
 */
export function stringSimilarity(a: string, b: string, atLeast = 0): number {
  if (a === b) return 1;
  const longer = Math.max(a.length, b.length);
  const shorter = Math.min(a.length, b.length);
  // The length gap alone bounds the distance from below: skip hopeless pairs without the DP.
  if (shorter === 0 || shorter / longer < 0.34) return 0;
  const limit = Math.floor((1 - atLeast) * longer + 1e-9);
  return Math.max(0, 1 - editDistance(a, b, limit) / longer);
}

/**
 * stringSimilarity of one string with many: a fuzzy key lookup compares its probe with up to
 * thousands of keys, and building the probe's bit-parallel pattern once, with the keys' unit cost
 * known beforehand, leaves only the column loop per key.
 */
export class PatternSimilarity {
  private readonly masks = new Int32Array(128);
  private readonly bitParallel: boolean;

  constructor(private readonly pattern: string) {
    this.bitParallel = pattern.length > 0 && pattern.length <= WORD_BITS && unitCost(pattern);
    if (this.bitParallel)
      for (let i = 0; i < pattern.length; i++) this.masks[pattern.charCodeAt(i)] |= 1 << i;
  }

  /** stringSimilarity(pattern, text, atLeast); `textUnitCost` must be unitCost(text). */
  similarity(text: string, textUnitCost: boolean, atLeast: number): number {
    const a = this.pattern;
    if (!this.bitParallel || !textUnitCost || text.length === 0) return stringSimilarity(a, text, atLeast);
    if (a === text) return 1;
    const longer = Math.max(a.length, text.length);
    const shorter = Math.min(a.length, text.length);
    if (shorter / longer < 0.34) return 0;
    const limit = Math.floor((1 - atLeast) * longer + 1e-9);
    return Math.max(0, 1 - Math.min(limit + 1, patternDistance(this.masks, a.length, text)) / longer);
  }
}
