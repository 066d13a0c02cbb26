/**
 * Cheap upper bounds of the name score (name-score.ts), which let the index discard candidates
 * without aligning them. Every bound here must stay ≥ the true value: a bound that is too low
 * would make the index miss a match that a full scan finds. The index tests compare both.
 */
import { MAX_TOKENS, type NameToken, type TokenKind } from './name-normalise';
import { SCORING, isSignificant, matchValue, tokenWeight } from './name-score';
import { keySet, similarityCeiling, type KeySet } from './name-similarity';

// Read once: these run for every candidate of every search, and imported bindings are property
// getters under the loader that runs tests and benchmarks (tsx).
const {
  minSimilarity,
  similarityFloor,
  extraCost,
  pairCost,
  conflictCost,
  initialSimilarity,
  legalFamilySimilarity,
  legalCompanySimilarity,
  insignificantFactor,
} = SCORING;
const ceiling = similarityCeiling;
const matchValueOf = matchValue;

/** What the bounds need to know about a token, computed once per distinct token. */
export interface TokenShape extends KeySet {
  kind: TokenKind;
  /** Word or generic word: the common case, tested first. */
  wordLike: boolean;
  /** Only a matched significant query token lifts the insignificance factor (name-score.ts). */
  significant: boolean;
  weight: number;
  /** Canonical key of exact-only kinds (number, particle, legal form, initial). */
  exact: string;
  legalFamily: string;
}

export function shapeOf(token: NameToken): TokenShape {
  return {
    ...keySet(token.keys),
    kind: token.kind,
    wordLike: token.kind === 'word' || token.kind === 'generic',
    significant: isSignificant(token),
    weight: tokenWeight(token),
    exact: token.keys[0],
    legalFamily: token.legalFamily ?? '',
  };
}

/** At least tokenSimilarity(a, b) under any schema. */
export function similarityBound(a: TokenShape, b: TokenShape): number {
  if (a.wordLike && b.wordLike) return ceiling(a, b);
  if (a.kind === 'number' || b.kind === 'number') return a.kind === b.kind && a.exact === b.exact ? 1 : 0;
  if (a.kind === 'legal-form' || b.kind === 'legal-form') {
    if (a.kind !== b.kind) return 0;
    if (a.exact === b.exact) return 1;
    if (a.legalFamily === b.legalFamily) return legalFamilySimilarity;
    return a.legalFamily === 'company' || b.legalFamily === 'company' ? legalCompanySimilarity : 0;
  }
  if (a.kind === 'particle' || b.kind === 'particle') return a.kind === b.kind && a.exact === b.exact ? 1 : 0;
  if (a.kind === 'initial' && b.kind === 'initial') return a.exact === b.exact ? 1 : 0;
  return initialSimilarity;
}

/**
 * The highest similarity a word of this length can have with any word while staying below the
 * anchor similarity: similarities are 1 − cost/longer length with whole costs, so this is often
 * well below the anchor (a 3-letter word: 0.75 at most, one edit against four letters).
 */
function subAnchorSimilarity(length: number, anchor: number): number {
  let best = 0;
  for (let other = 1; other <= 2 * length + 2; other++) {
    const longer = Math.max(length, other);
    for (let cost = Math.max(1, Math.abs(length - other)); cost <= longer; cost++) {
      const similarity = 1 - cost / longer;
      if (similarity < anchor) {
        best = Math.max(best, similarity);
        break;
      }
    }
  }
  return best;
}

/**
 * The highest match value a token can get from a pair that is not an anchor (similarity below
 * the anchor, an initial, a COMPANY pair); 0 for kinds that only match exactly.
 */
export function weakMatchValue(shape: TokenShape, anchor: number): number {
  switch (shape.kind) {
    case 'number':
    case 'particle':
      return 0;
    case 'initial':
      return matchValueOf(initialSimilarity);
    case 'legal-form':
      return matchValueOf(legalCompanySimilarity);
    default:
      return Math.max(
        matchValueOf(subAnchorSimilarity(shape.maxLength, anchor)),
        matchValueOf(subAnchorSimilarity(shape.minLength, anchor)),
        matchValueOf(initialSimilarity),
      );
  }
}

/** Cost a token of weight w certainly adds when its match value is at most m. */
function leastCost(weight: number, m: number): number {
  if (m >= 1) return 0;
  if (m <= 0) return extraCost * weight;
  // Paired: extra and pair cost on the unmatched part; free: extra cost on all of it.
  return weight * Math.min(extraCost, (extraCost + pairCost) * (1 - m));
}

/**
 * Upper bounds of the score of one query against list names, from which of their tokens are
 * anchored: each token's match value is bounded (1 if anchored; else by its best pair's
 * similarity bound, below the anchor similarity unless its query token was skipped), and tokens
 * whose bound is 0 are surely free, which bounds the conflict cost from below.
 */
/**
 * Bounded match values of (query token, list token shape) pairs, kept for one search: list tokens
 * recur in many names, so most pairs are computed once. Reused between searches by bumping a
 * generation number rather than clearing.
 */
export class PairMemo {
  private readonly values: Float32Array;
  private readonly generations: Uint32Array;
  private generation = 0;

  constructor(
    readonly queryTokens: number,
    readonly shapes: number,
  ) {
    this.values = new Float32Array(queryTokens * shapes);
    this.generations = new Uint32Array(queryTokens * shapes);
  }

  reset(): void {
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      this.generations.fill(0);
      this.generation = 1;
    }
  }

  /** NaN when not known for this search. */
  get(slot: number): number {
    return this.generations[slot] === this.generation ? this.values[slot] : NaN;
  }

  set(slot: number, value: number): void {
    this.values[slot] = value;
    this.generations[slot] = this.generation;
  }
}

export class CandidateBound {
  private readonly queryBest = new Float64Array(MAX_TOKENS);
  private readonly candidateBest = new Float64Array(MAX_TOKENS);
  private readonly weakCap: Float64Array;
  private readonly memo: PairMemo | null;

  constructor(
    private readonly query: readonly TokenShape[],
    private readonly shapes: readonly TokenShape[],
    anchor: number,
    skipped: number,
    memo: PairMemo,
  ) {
    this.weakCap = Float64Array.from(query, (shape, i) => (skipped & (1 << i) ? 1 : weakMatchValue(shape, anchor)));
    this.memo = query.length <= memo.queryTokens && shapes.length === memo.shapes ? memo : null;
    this.memo?.reset();
  }

  /** `shapeIds[from, to)` are the list name's tokens; masks say which tokens are anchored. */
  upperBound(shapeIds: Int32Array, from: number, to: number, queryMask: number, candidateMask: number): number {
    const query = this.query;
    const shapes = this.shapes;
    const queryBest = this.queryBest;
    const candidateBest = this.candidateBest;
    const memo = this.memo;
    const count = to - from;
    for (let i = 0; i < query.length; i++) queryBest[i] = queryMask & (1 << i) ? 1 : 0;
    for (let j = 0; j < count; j++) candidateBest[j] = candidateMask & (1 << j) ? 1 : 0;
    for (let j = 0; j < count; j++) {
      const shapeId = shapeIds[from + j];
      for (let i = 0; i < query.length; i++) {
        if (queryBest[i] === 1 && candidateBest[j] === 1) continue;
        const slot = i * shapes.length + shapeId;
        let value = memo ? memo.get(slot) : NaN;
        if (value !== value) {
          // Were this pair an anchor, both its tokens would be marked; so it is below the cap.
          const similarity = similarityBound(query[i], shapes[shapeId]);
          value =
            similarity < minSimilarity
              ? 0
              : Math.min((similarity - similarityFloor) / (1 - similarityFloor), this.weakCap[i]);
          memo?.set(slot, value);
        }
        if (value > queryBest[i]) queryBest[i] = value;
        if (value > candidateBest[j]) candidateBest[j] = value;
      }
    }
    let matched = 0;
    let cost = 0;
    let freeQ = 0;
    let freeC = 0;
    let significant = false;
    for (let i = 0; i < query.length; i++) {
      const w = query[i].weight;
      matched += w * queryBest[i];
      cost += leastCost(w, queryBest[i]);
      if (queryBest[i] <= 0) freeQ += w;
      else if (query[i].significant) significant = true;
    }
    for (let j = 0; j < count; j++) {
      const w = shapes[shapeIds[from + j]].weight;
      matched += w * candidateBest[j];
      cost += leastCost(w, candidateBest[j]);
      if (candidateBest[j] <= 0) freeC += w;
    }
    cost += conflictCost * Math.min(freeQ, freeC);
    const bound = matched > 0 ? matched / (matched + cost) : 0;
    return significant ? bound : bound * insignificantFactor;
  }
}

/** The heaviest partner a token of this kind can have on the list side. */
function heaviestPartner(shape: TokenShape): number {
  return shape.kind === 'word' || shape.kind === 'generic' || shape.kind === 'initial'
    ? SCORING.weights.word
    : shape.weight;
}

/**
 * Upper bound of the score of a list name that holds no anchor except through the `skipped`
 * query tokens (bit mask): those may match fully, with their heaviest partner; the others are at
 * best weakly paired, with a partner of weight up to 1 that is counted only if it raises the
 * bound. Joined/split pairs are excluded: the index never skips their postings.
 */
export function unanchoredBound(query: readonly TokenShape[], skipped: number, anchor: number): number {
  let matched = 0;
  let cost = 0;
  let significant = false;
  const partners: { matched: number; cost: number }[] = [];
  query.forEach((shape, i) => {
    if (skipped & (1 << i)) {
      matched += shape.weight + heaviestPartner(shape);
      significant ||= shape.significant;
      return;
    }
    const weak = weakMatchValue(shape, anchor);
    significant ||= shape.significant && weak > 0;
    matched += weak * shape.weight;
    cost += leastCost(shape.weight, weak);
    if (weak > 0) partners.push({ matched: weak, cost: leastCost(1, weak) });
  });
  // The best partner set takes partners in order of their own ratio while that ratio beats the
  // running bound (a linear-fractional maximum over a box is reached this way).
  partners.sort((a, b) => b.matched / (b.matched + b.cost) - a.matched / (a.matched + a.cost));
  for (const partner of partners) {
    const current = matched / (matched + cost);
    if (partner.matched / (partner.matched + partner.cost) <= current) break;
    matched += partner.matched;
    cost += partner.cost;
  }
  const bound = matched > 0 ? matched / (matched + cost) : 0;
  return significant ? bound : bound * insignificantFactor;
}
