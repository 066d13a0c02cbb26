/**
 * Scores how likely two names denote the same party, in [0, 1], with the token pairing that
 * explains it. Token order is free; tokens are paired one-to-one, or one to two or three adjacent
 * tokens written together or apart ("JSCARGUMENT" / "JSC ARGUMENT"). Each token carries a weight
 * by kind (legal forms and particles little, numbers much) and a match value from its pair's
 * similarity; the score then compares the matched weight with the unmatched weight, where
 * unmatched tokens on both sides (a conflict: another surname, another number) cost more than
 * extra tokens on one side only (a middle name, a legal form).
 */
import { MAX_TOKENS, foldKey, normaliseName, type NameToken, type TokenKind } from './name-normalise';
import { keySet, similarityCeiling, stringSimilarity, type KeySet } from './name-similarity';

export type SchemaHint = 'person' | 'entity';

export interface TokenPair {
  query: string;
  candidate: string;
  similarity: number;
}

export interface NameScore {
  score: number;
  pairs: TokenPair[];
  unmatchedQuery: string[];
  unmatchedCandidate: string[];
}

/** A name normalised once and kept for many comparisons (the index keeps one per list name). */
export interface PreparedName {
  tokens: NameToken[];
  /** Per token, the letters that bound its similarities (see similarityCeiling). */
  keySets: KeySet[];
  /** Adjacent runs of 2–3 tokens written as one word, for joined/split matching. */
  joins: Join[];
}

export interface Join {
  start: number;
  length: number;
  key: string;
}

/**
 * The scoring constants, calibrated once on the nomenklatura name bench (see
 * bench/screening-bench.ts) and shared with the index, whose candidate bounds depend on them.
 */
export const SCORING = Object.freeze({
  /** Pairs less similar than this are not pairs: both tokens stay unmatched. */
  minSimilarity: 0.5,
  /** Similarity mapped to a match value of 0; 1 maps to 1, linearly in between. */
  similarityFloor: 0.3,
  /** Cost per unit of unmatched weight, on either side (an extra middle name, a legal form). */
  extraCost: 0.3,
  /** Extra cost per unit of weight unmatched on both sides at once (a different surname). */
  conflictCost: 3,
  /** Extra cost per unit of weight lost inside a weak pair (Tom/Tim): a partial conflict. */
  pairCost: 0.6,
  /** Factor on similarities through loose keys (name-normalise.ts looseKey). */
  looseWeight: 0.95,
  /** "V." for "Vladimir": an initial confirms a word only partly. */
  initialSimilarity: 0.7,
  /** Score factor when only legal forms, particles or generic words are matched. */
  insignificantFactor: 0.5,
  weights: Object.freeze<Record<TokenKind, number>>({
    word: 1,
    generic: 0.5,
    initial: 0.3,
    number: 1.5,
    'legal-form': 0.25,
    particle: 0.2,
  }),
  /** Similarity of two legal forms of one family (OJSC ↔ JSC), and of COMPANY with any form. */
  legalFamilySimilarity: 0.85,
  legalCompanySimilarity: 0.7,
});

/**
 * The review threshold: on the nomenklatura bench it gives precision 0.869 and recall 0.861
 * (DESIGN.md asks ≥ 0.85 for both); 0.76–0.78 all qualify.
 */
export const DEFAULT_REVIEW_THRESHOLD = 0.77;

/** Scores are rounded to four decimals, so a raw score this far below a threshold still meets it. */
export const SCORE_ROUNDING = 0.00005;

export function prepareName(raw: string): PreparedName {
  const { tokens } = normaliseName(raw);
  const joins: Join[] = [];
  for (let start = 0; start < tokens.length; start++) {
    let text = tokens[start].text.replace(/ /g, '');
    for (let length = 2; length <= 3 && start + length <= tokens.length; length++) {
      text += tokens[start + length - 1].text.replace(/ /g, '');
      joins.push({ start, length, key: foldKey(text) });
    }
  }
  return { tokens, keySets: tokens.map((t) => keySet(boundingKeys(t))), joins };
}

/**
 * The keys whose letters bound a token's similarities: a word's loose keys (a letter-for-letter
 * coarsening of its keys, so at least as similar to anything as the keys themselves), or the keys
 * of other kinds.
 */
export function boundingKeys(token: NameToken): string[] {
  return token.looseKeys.length > 0 ? token.looseKeys : token.keys;
}

export function scoreNames(query: string, candidate: string, schema?: SchemaHint): NameScore {
  return scorePrepared(prepareName(query), prepareName(candidate), schema);
}

export function tokenWeight(token: NameToken): number {
  return SCORING.weights[token.kind];
}

/** The match value a pair of this similarity gives each of its tokens, in [0, 1]. */
export function matchValue(similarity: number): number {
  if (similarity < SCORING.minSimilarity) return 0;
  return Math.min(1, (similarity - SCORING.similarityFloor) / (1 - SCORING.similarityFloor));
}

/**
 * The similarity that at least one pair of any name scoring ≥ threshold reaches. Each token's
 * share of the score is at most m / (m + (extraCost + pairCost)(1 − m)) for its match value m,
 * and a ratio of sums never exceeds its largest term; so if every pair is below this similarity,
 * the score is below the threshold. The index finds its candidates through such pairs.
 */
export function anchorSimilarity(threshold: number): number {
  const lossRate = SCORING.extraCost + SCORING.pairCost;
  const value = (threshold * lossRate) / (1 - threshold + threshold * lossRate);
  return SCORING.similarityFloor + (1 - SCORING.similarityFloor) * value;
}

export function scorePrepared(query: PreparedName, candidate: PreparedName, schema?: SchemaHint): NameScore {
  return new QueryScorer(query).explain(candidate, schema);
}

/** Scratch for one alignment: names have at most MAX_TOKENS tokens. */
const matchQ = new Float64Array(MAX_TOKENS);
const matchC = new Float64Array(MAX_TOKENS);

/**
 * A unit: similarity, then the query and candidate tokens it covers as bit masks, then how many
 * tokens it covers (which breaks ties).
 */
type Unit = [number, number, number, number];

/**
 * Scratch for one alignment's units (see Unit), a typed array per field, as an array per unit
 * was most of what scoring allocated; unitOrder is their order once sorted. Sized by reserveUnits.
 */
let unitSimilarities = new Float64Array(256);
let unitQueryMasks = new Int32Array(256);
let unitCandidateMasks = new Int32Array(256);
let unitSpans = new Int32Array(256);
let unitOrder = new Int32Array(256);

function reserveUnits(count: number): void {
  if (count <= unitSpans.length) return;
  const size = Math.max(count, 2 * unitSpans.length);
  unitSimilarities = new Float64Array(size);
  unitQueryMasks = new Int32Array(size);
  unitCandidateMasks = new Int32Array(size);
  unitSpans = new Int32Array(size);
  unitOrder = new Int32Array(size);
}

/**
 * Orders the first `count` units best first, on a tie the one covering more tokens (a join over
 * two singles), then as added: an insertion sort, in place, but for many units, where it would
 * take quadratic time (the longest names, hostile ones included).
 */
function sortUnits(count: number): void {
  if (count > 64) {
    const sorted = Array.from({ length: count }, (_, u) => u).sort(
      (a, b) => unitSimilarities[b] - unitSimilarities[a] || unitSpans[b] - unitSpans[a] || a - b,
    );
    unitOrder.set(sorted);
    return;
  }
  for (let u = 0; u < count; u++) {
    const similarity = unitSimilarities[u];
    const span = unitSpans[u];
    let at = u;
    for (; at > 0; at--) {
      const previous = unitOrder[at - 1];
      const before =
        similarity > unitSimilarities[previous] ||
        (similarity === unitSimilarities[previous] && span > unitSpans[previous]);
      if (!before) break;
      unitOrder[at] = previous;
    }
    unitOrder[at] = u;
  }
}

/** align's scratch: each candidate token's cached similarity row. */
const candidateRows: Float64Array[] = [];

/**
 * One query scored against many candidates (a brute-force scan, or the index's survivors).
 * Similarities are cached per candidate token object, a row with one per query token (NaN until
 * computed), which pays off because the index shares one token object between all list names
 * that contain it.
 */
export class QueryScorer {
  private readonly cache = new Map<NameToken, Float64Array>();
  /** The keys of the query's joins, and of its word-like tokens: most candidates have none of them. */
  private readonly joinKeys: Set<string>;
  private readonly wordKeys: Set<string>;

  constructor(readonly query: PreparedName) {
    this.joinKeys = new Set(query.joins.map((join) => join.key));
    this.wordKeys = new Set(query.tokens.filter(isWordLike).flatMap((token) => token.keys));
  }

  score(candidate: PreparedName, schema?: SchemaHint): number {
    return this.align(candidate, schema, null);
  }

  explain(candidate: PreparedName, schema?: SchemaHint): NameScore {
    const q = this.query.tokens;
    const c = candidate.tokens;
    const chosen: Unit[] = [];
    const score = this.align(candidate, schema, chosen);
    let usedQ = 0;
    let usedC = 0;
    const pairs = chosen.map(([similarity, qm, cm]) => {
      usedQ |= qm;
      usedC |= cm;
      return {
        query: q
          .filter((_, i) => qm & (1 << i))
          .map((t) => t.text)
          .join(' '),
        candidate: c
          .filter((_, j) => cm & (1 << j))
          .map((t) => t.text)
          .join(' '),
        similarity: Math.round(similarity * 1000) / 1000,
      };
    });
    return {
      score,
      pairs,
      unmatchedQuery: q.filter((_, i) => !(usedQ & (1 << i))).map((t) => t.text),
      unmatchedCandidate: c.filter((_, j) => !(usedC & (1 << j))).map((t) => t.text),
    };
  }

  /** The cached similarities of a candidate token with each query token. */
  private cached(token: NameToken): Float64Array {
    let row = this.cache.get(token);
    if (row === undefined) {
      row = new Float64Array(this.query.tokens.length).fill(NaN);
      this.cache.set(token, row);
    }
    return row;
  }

  private similarity(
    i: number,
    candidate: PreparedName,
    j: number,
    schema: SchemaHint | undefined,
    cached: Float64Array,
  ): number {
    if (!Number.isNaN(cached[i])) return cached[i];
    const own = this.query.tokens[i];
    const token = candidate.tokens[j];
    let similarity: number;
    const words = isWordLike(own) && isWordLike(token);
    // Most word pairs are hopeless, and their letters alone show it without the edit distance.
    if (words && similarityCeiling(this.query.keySets[i], candidate.keySets[j]) < SCORING.minSimilarity) {
      similarity = 0;
    } else {
      similarity = tokenSimilarity(own, token, schema);
      // Only an initial and a word compare differently by schema (initialSimilarity).
      if (!words && (own.kind === 'initial') !== (token.kind === 'initial')) return similarity;
    }
    cached[i] = similarity;
    return similarity;
  }

  /** The score, and with `chosen`, the units chosen in it added there (for explain). */
  private align(candidate: PreparedName, schema: SchemaHint | undefined, chosen: Unit[] | null): number {
    const q = this.query.tokens;
    const c = candidate.tokens;
    if (q.length === 0 || c.length === 0) return 0;
    reserveUnits((q.length + this.query.joins.length) * c.length + candidate.joins.length * q.length);
    let count = 0;
    const add = (similarity: number, queryMask: number, candidateMask: number, span: number) => {
      unitSimilarities[count] = similarity;
      unitQueryMasks[count] = queryMask;
      unitCandidateMasks[count] = candidateMask;
      unitSpans[count++] = span;
    };
    for (let j = 0; j < c.length; j++) candidateRows[j] = this.cached(c[j]);
    for (let i = 0; i < q.length; i++) {
      for (let j = 0; j < c.length; j++) {
        const similarity = this.similarity(i, candidate, j, schema, candidateRows[j]);
        if (similarity >= SCORING.minSimilarity) add(similarity, 1 << i, 1 << j, 2);
      }
    }
    // A join matches only a word-like token with its key among its keys (joinSimilarity): most
    // candidates have no key of a query join, and most joins of a candidate are no query key.
    if (c.some((token) => isWordLike(token) && token.keys.some((key) => this.joinKeys.has(key)))) {
      for (const join of this.query.joins) {
        for (let j = 0; j < c.length; j++)
          if (joinSimilarity(join.key, c[j]) > 0) add(1, joinMask(join), 1 << j, join.length + 1);
      }
    }
    for (const join of candidate.joins) {
      if (!this.wordKeys.has(join.key)) continue;
      for (let i = 0; i < q.length; i++)
        if (joinSimilarity(join.key, q[i]) > 0) add(1, 1 << i, joinMask(join), join.length + 1);
    }
    sortUnits(count);
    matchQ.fill(-1, 0, q.length);
    matchC.fill(-1, 0, c.length);
    let usedQ = 0;
    let usedC = 0;
    for (let k = 0; k < count; k++) {
      const u = unitOrder[k];
      const similarity = unitSimilarities[u];
      const qm = unitQueryMasks[u];
      const cm = unitCandidateMasks[u];
      if (qm & usedQ || cm & usedC) continue;
      usedQ |= qm;
      usedC |= cm;
      chosen?.push([similarity, qm, cm, unitSpans[u]]);
      const value = matchValue(similarity);
      for (let i = 0; i < q.length; i++) if (qm & (1 << i)) matchQ[i] = value;
      for (let j = 0; j < c.length; j++) if (cm & (1 << j)) matchC[j] = value;
    }
    const sq = sideTotals(q, matchQ);
    const sc = sideTotals(c, matchC);
    const matched = sq.matched + sc.matched;
    const cost =
      SCORING.extraCost * (sq.unmatched + sc.unmatched) +
      SCORING.conflictCost * Math.min(sq.free, sc.free) +
      SCORING.pairCost * (sq.unmatched - sq.free + sc.unmatched - sc.free);
    let score = matched > 0 ? matched / (matched + cost) : 0;
    // Legal forms, particles and generic words alone never make a match ("CORP" vs "11420 CORP.").
    if (!sq.significant) score *= SCORING.insignificantFactor;
    return Math.round(score * 10000) / 10000;
  }
}

function sideTotals(tokens: NameToken[], match: Float64Array) {
  let matched = 0;
  let unmatched = 0;
  let free = 0;
  let significant = false;
  for (let i = 0; i < tokens.length; i++) {
    const w = tokenWeight(tokens[i]);
    const m = Math.max(0, match[i]);
    matched += w * m;
    unmatched += w * (1 - m);
    if (match[i] < 0) free += w;
    if (m > 0 && isSignificant(tokens[i])) significant = true;
  }
  return { matched, unmatched, free, significant };
}

export function joinMask(join: Join): number {
  return ((1 << join.length) - 1) << join.start;
}

/** Only these identify a party; legal forms, particles and generic words describe one. */
export function isSignificant(token: { kind: TokenKind }): boolean {
  return token.kind === 'word' || token.kind === 'number' || token.kind === 'initial';
}

/**
 * A run written together matches a single word only exactly (after folding): a loose rule would
 * let any run of short words match a long one, and would make joins expensive to index.
 */
export function joinSimilarity(key: string, token: NameToken): number {
  return isWordLike(token) && token.keys.includes(key) ? 1 : 0;
}

export function isWordLike(token: NameToken): boolean {
  return token.kind === 'word' || token.kind === 'generic';
}

export function tokenSimilarity(a: NameToken, b: NameToken, schema?: SchemaHint): number {
  if (a.kind === 'number' || b.kind === 'number') return a.kind === b.kind && a.keys[0] === b.keys[0] ? 1 : 0;
  if (a.kind === 'legal-form' || b.kind === 'legal-form') return legalSimilarity(a, b);
  if (a.kind === 'particle' || b.kind === 'particle')
    return a.kind === b.kind && a.keys[0] === b.keys[0] ? 1 : 0;
  if (a.kind === 'initial' || b.kind === 'initial') return initialSimilarity(a, b, schema);
  // Pairs below the minimum are no pairs, so their exact similarity is not needed.
  let best = 0;
  for (const ka of a.keys) {
    for (const kb of b.keys) {
      const similarity = stringSimilarity(ka, kb, Math.max(best, SCORING.minSimilarity));
      if (similarity > best) best = similarity;
    }
  }
  for (const ka of a.looseKeys) {
    for (const kb of b.looseKeys) {
      const atLeast = Math.max(best, SCORING.minSimilarity) / SCORING.looseWeight;
      const similarity = SCORING.looseWeight * stringSimilarity(ka, kb, Math.min(1, atLeast));
      if (similarity > best) best = similarity;
    }
  }
  return best >= SCORING.minSimilarity ? best : 0;
}

function legalSimilarity(a: NameToken, b: NameToken): number {
  if (a.kind !== b.kind) return 0;
  if (a.keys[0] === b.keys[0]) return 1;
  if (a.legalFamily === b.legalFamily) return SCORING.legalFamilySimilarity;
  return a.legalFamily === 'company' || b.legalFamily === 'company' ? SCORING.legalCompanySimilarity : 0;
}

/**
 * "V. Putin" abbreviates Vladimir; in an organisation's name a single letter is a name of its own
 * ("L & H Sweden"), so there it only matches the same letter.
 */
function initialSimilarity(a: NameToken, b: NameToken, schema: SchemaHint | undefined): number {
  if (a.kind === 'initial' && b.kind === 'initial') return a.keys[0] === b.keys[0] ? 1 : 0;
  if (schema === 'entity') return 0;
  const [initial, word] = a.kind === 'initial' ? [a, b] : [b, a];
  return word.keys.some((k) => initial.keys.some((i) => k.startsWith(i))) ? SCORING.initialSimilarity : 0;
}
