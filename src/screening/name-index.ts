/**
 * Candidate retrieval for name screening without scoring every list name, with the same results
 * as scoring every name (bruteForceSearch) at any threshold ≥ the index's minimum.
 *
 * Why it is exact: any name scoring ≥ T has a pair of similarity ≥ anchorSimilarity(T) (see
 * name-score.ts), or a joined/split pair (≥ the join minimum), or an exact pair of numbers,
 * particles, legal forms or initials. The index finds every name holding such an "anchor" for the
 * query (fuzzy key lookups, then postings), bounds each found name's score from above using what
 * is known (anchored tokens at most fully matched, the rest at most weakly paired one-to-one, or
 * free), and scores in full only the names whose bound reaches T. Postings of very common legal
 * forms and particles are skipped when a name anchored by them alone cannot reach T.
 */
import type { AliasKind, NameEntry, PartyType } from './list-entry';
import type { NameToken } from './name-normalise';
import {
  SCORING,
  anchorSimilarity,
  isWordLike,
  matchValue,
  prepareName,
  scorePrepared,
  tokenWeight,
  type PreparedName,
  type SchemaHint,
  type TokenPair,
} from './name-score';
import { DEFAULT_REVIEW_THRESHOLD } from './name-score';
import { FuzzyKeyIndex } from './fuzzy-keys';

export interface NameMatch {
  entryId: string;
  ref: string;
  subject: string;
  matchedName: string;
  nameKind: 'primary' | AliasKind;
  score: number;
  pairs: TokenPair[];
  unmatchedQuery: string[];
  unmatchedCandidate: string[];
  programs: string[];
}

export interface NameSearchOptions {
  /** Names scoring below are not returned. */
  threshold: number;
  /** Most matches returned, best first; default 10. */
  limit?: number;
  /** Only entries of this type (and of unknown type); also tells the scorer person from entity. */
  type?: PartyType;
}

export interface NameIndex {
  /** Indexed names: primaries and aliases. */
  readonly size: number;
  search(name: string, options: NameSearchOptions): NameMatch[];
}

export interface NameIndexOptions {
  /**
   * Lowest threshold searched with the index; lower thresholds fall back to scoring every name.
   * Lower values store more fuzzy keys. Default: DEFAULT_REVIEW_THRESHOLD.
   */
  minThreshold?: number;
}

const DEFAULT_LIMIT = 10;

interface IndexedName {
  entry: NameEntry;
  raw: string;
  kind: 'primary' | AliasKind;
  prepared: PreparedName;
}

/** Primary name and aliases of every entry, each normalised once; duplicates within an entry dropped. */
function indexedNames(entries: readonly NameEntry[]): IndexedName[] {
  const tokens = new Map<string, NameToken>();
  const intern = (token: NameToken) => {
    const key = `${token.kind}|${token.text}|${token.keys.join(',')}|${token.legalFamily ?? ''}`;
    const known = tokens.get(key);
    if (known) return known;
    tokens.set(key, token);
    return token;
  };
  const names: IndexedName[] = [];
  for (const entry of entries) {
    const seen = new Set<string>();
    const all: { raw: string; kind: 'primary' | AliasKind }[] = [
      { raw: entry.name, kind: 'primary' },
      ...entry.aliases.map((a) => ({ raw: a.name, kind: a.kind })),
    ];
    for (const { raw, kind } of all) {
      const prepared = prepareName(raw);
      const signature = prepared.tokens.map((t) => t.keys[0]).join(' ');
      if (prepared.tokens.length === 0 || seen.has(signature)) continue;
      seen.add(signature);
      prepared.tokens = prepared.tokens.map(intern);
      names.push({ entry, raw, kind, prepared });
    }
  }
  return names;
}

function schemaOf(type: PartyType): SchemaHint | undefined {
  if (type === 'person') return 'person';
  return type === 'unknown' ? undefined : 'entity';
}

function typeAllowed(entry: NameEntry, type: PartyType | undefined): boolean {
  return type === undefined || type === 'unknown' || entry.type === type || entry.type === 'unknown';
}

/** Best-scoring name per entry, best entries first, ties in entry id order. */
class MatchCollector {
  private readonly best = new Map<NameEntry, NameMatch>();

  constructor(
    private readonly query: PreparedName,
    private readonly options: NameSearchOptions,
  ) {}

  offer(name: IndexedName): void {
    const result = scorePrepared(
      this.query,
      name.prepared,
      this.options.type ? schemaOf(this.options.type) : schemaOf(name.entry.type),
    );
    if (result.score < this.options.threshold) return;
    const current = this.best.get(name.entry);
    if (current && current.score >= result.score) return;
    this.best.set(name.entry, {
      entryId: name.entry.id,
      ref: name.entry.ref,
      subject: name.entry.subject,
      matchedName: name.raw,
      nameKind: name.kind,
      score: result.score,
      pairs: result.pairs,
      unmatchedQuery: result.unmatchedQuery,
      unmatchedCandidate: result.unmatchedCandidate,
      programs: name.entry.programs,
    });
  }

  results(): NameMatch[] {
    return [...this.best.values()]
      .sort((a, b) => b.score - a.score || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0))
      .slice(0, this.options.limit ?? DEFAULT_LIMIT);
  }
}

const preparedLists = new WeakMap<readonly NameEntry[], IndexedName[]>();

/**
 * The reference: the same scorer over every name of every entry. Normalised names are cached per
 * entries array (which must not change afterwards), so repeated calls measure scoring alone.
 */
export function bruteForceSearch(
  entries: NameEntry[],
  name: string,
  options: NameSearchOptions,
): NameMatch[] {
  let names = preparedLists.get(entries);
  if (!names) {
    names = indexedNames(entries);
    preparedLists.set(entries, names);
  }
  return scanAll(names, name, options);
}

function scanAll(names: readonly IndexedName[], name: string, options: NameSearchOptions): NameMatch[] {
  const query = prepareName(name);
  if (query.tokens.length === 0) return [];
  const collector = new MatchCollector(query, options);
  for (const candidate of names) if (typeAllowed(candidate.entry, options.type)) collector.offer(candidate);
  return collector.results();
}

/** Keys of one kind with, per key, the names holding it and a bit mask of their tokens. */
class Postings {
  readonly keys: string[] = [];
  private readonly ids = new Map<string, number>();
  private triples: number[] = [];
  private offsets = new Int32Array(0);
  private names = new Int32Array(0);
  private masks = new Uint32Array(0);

  add(key: string, name: number, mask: number): void {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    this.triples.push(id, name, mask);
  }

  /** Packs the postings into flat typed arrays grouped by key (a counting sort). */
  seal(): void {
    const count = this.keys.length;
    this.offsets = new Int32Array(count + 1);
    for (let i = 0; i < this.triples.length; i += 3) this.offsets[this.triples[i] + 1]++;
    for (let k = 0; k < count; k++) this.offsets[k + 1] += this.offsets[k];
    const fill = this.offsets.slice(0, count);
    this.names = new Int32Array(this.triples.length / 3);
    this.masks = new Uint32Array(this.triples.length / 3);
    for (let i = 0; i < this.triples.length; i += 3) {
      const at = fill[this.triples[i]]++;
      this.names[at] = this.triples[i + 1];
      this.masks[at] = this.triples[i + 2];
    }
    this.triples = [];
  }

  id(key: string): number | undefined {
    return this.ids.get(key);
  }

  length(id: number): number {
    return this.offsets[id + 1] - this.offsets[id];
  }

  forEach(id: number, visit: (name: number, mask: number) => void): void {
    for (let i = this.offsets[id]; i < this.offsets[id + 1]; i++) visit(this.names[i], this.masks[i]);
  }

  get entries(): number {
    return this.names.length;
  }
}

/** Exact keys: numbers, particles, legal forms (and their families), initials. */
function exactKeys(token: NameToken): string[] {
  switch (token.kind) {
    case 'number':
      return [`#${token.keys[0]}`];
    case 'particle':
      return [`~${token.keys[0]}`];
    case 'legal-form':
      return [`§${token.keys[0]}`, `§§${token.legalFamily ?? ''}`];
    case 'initial':
      return token.keys.map((k) => `^${k}`);
    default:
      return [];
  }
}

/** List-side runs written together, matched exactly by a query word (see joinSimilarity). */
function joinKey(key: string): string {
  return `=${key}`;
}

/** Only exact pairs of these kinds match at all, so an unanchored one is surely unmatched. */
function exactOnly(token: NameToken): boolean {
  return token.kind === 'number' || token.kind === 'particle';
}

/** Kinds whose postings are very long and whose weight is small: candidates for skipping. */
function skippable(token: NameToken): boolean {
  return token.kind === 'legal-form' || token.kind === 'particle';
}

interface Probe {
  postings: Postings;
  key: number;
  /** Query tokens this key anchors. */
  queryMask: number;
}

export const STATS = { probes: 0, postings: 0, touched: 0, bounded: 0, scored: 0, tProbe: 0, tTraverse: 0, tBound: 0 };
export function buildNameIndex(entries: NameEntry[], options: NameIndexOptions = {}): NameIndex {
  const minThreshold = options.minThreshold ?? DEFAULT_REVIEW_THRESHOLD;
  const names = indexedNames(entries);
  const words = new Postings();
  const exact = new Postings();
  names.forEach((name, n) => {
    const wordMasks = new Map<string, number>();
    const exactMasks = new Map<string, number>();
    name.prepared.tokens.forEach((token, position) => {
      const bit = 1 << position;
      if (isWordLike(token))
        for (const key of token.keys) wordMasks.set(key, (wordMasks.get(key) ?? 0) | bit);
      for (const key of exactKeys(token)) exactMasks.set(key, (exactMasks.get(key) ?? 0) | bit);
    });
    for (const join of name.prepared.joins) {
      const key = joinKey(join.key);
      exactMasks.set(key, (exactMasks.get(key) ?? 0) | (((1 << join.length) - 1) << join.start));
    }
    for (const [key, mask] of wordMasks) words.add(key, n, mask >>> 0);
    for (const [key, mask] of exactMasks) exact.add(key, n, mask >>> 0);
  });
  words.seal();
  exact.seal();
  const wordKeys = new FuzzyKeyIndex(words.keys, anchorSimilarity(minThreshold));

  // Per-search scratch, reused: search is synchronous, so one search runs at a time.
  const stampOf = new Uint32Array(names.length);
  const queryMasks = new Uint32Array(names.length);
  const candidateMasks = new Uint32Array(names.length);
  const touched = new Int32Array(names.length);
  let stamp = 0;

  function search(name: string, searchOptions: NameSearchOptions): NameMatch[] {
    const threshold = searchOptions.threshold;
    if (threshold < minThreshold) return scanAll(names, name, searchOptions);
    const query = prepareName(name);
    if (query.tokens.length === 0) return [];
    const anchor = anchorSimilarity(threshold);
    let t0 = performance.now();
    const probes = collectProbes(query, anchor);
    STATS.tProbe += performance.now() - t0; t0 = performance.now();
    STATS.probes += probes.length;
    const skipped = skippedTokens(query, anchor, threshold);

    stamp = (stamp + 1) >>> 0;
    if (stamp === 0) {
      stampOf.fill(0);
      stamp = 1;
    }
    let touchedCount = 0;
    for (const probe of probes) {
      if ((probe.queryMask & ~skipped) === 0) continue;
      probe.postings.forEach(probe.key, (n, mask) => {
        if (stampOf[n] !== stamp) {
          stampOf[n] = stamp;
          queryMasks[n] = 0;
          candidateMasks[n] = 0;
          touched[touchedCount++] = n;
        }
        queryMasks[n] |= probe.queryMask;
        candidateMasks[n] |= mask;
      });
    }

    STATS.touched += touchedCount; STATS.tTraverse += performance.now() - t0; t0 = performance.now();
    const bound = new ScoreBound(query, anchor, skipped);
    const collector = new MatchCollector(query, searchOptions);
    for (let t = 0; t < touchedCount; t++) {
      const n = touched[t];
      const candidate = names[n];
      if (!typeAllowed(candidate.entry, searchOptions.type)) continue;
      if (bound.upperBound(candidate.prepared, queryMasks[n], candidateMasks[n]) < threshold) continue;
      STATS.scored++;
      collector.offer(candidate);
    }
    STATS.tBound += performance.now() - t0;
    return collector.results();
  }

  function collectProbes(query: PreparedName, anchor: number): Probe[] {
    const byKey = new Map<Postings, Map<number, number>>();
    const add = (postings: Postings, key: number, mask: number) => {
      let keys = byKey.get(postings);
      if (!keys) byKey.set(postings, (keys = new Map()));
      keys.set(key, ((keys.get(key) ?? 0) | mask) >>> 0);
    };
    query.tokens.forEach((token, position) => {
      const bit = (1 << position) >>> 0;
      if (isWordLike(token)) {
        for (const key of token.keys) wordKeys.search(key, anchor, (id) => add(words, id, bit));
      }
      const keys = isWordLike(token) ? [...exactKeys(token), ...token.keys.map(joinKey)] : exactKeys(token);
      for (const key of keys) {
        const id = exact.id(key);
        if (id !== undefined) add(exact, id, bit);
      }
    });
    for (const join of query.joins) {
      const id = words.id(join.key);
      if (id !== undefined) add(words, id, (((1 << join.length) - 1) << join.start) >>> 0);
    }
    const probes: Probe[] = [];
    for (const [postings, keys] of byKey)
      for (const [key, queryMask] of keys) probes.push({ postings, key, queryMask });
    return probes;
  }

  return {
    get size() {
      return names.length;
    },
    search,
  };
}

/**
 * Query tokens (legal forms, particles) whose postings need not be read: a name anchored by
 * nothing else cannot reach the threshold even if they match fully and every other query token
 * finds a partner just below the anchor similarity. Returned as a bit mask.
 */
function skippedTokens(query: PreparedName, anchor: number, threshold: number): number {
  let mask = 0;
  let skippedWeight = 0;
  let pairable = 0;
  let pairableCount = 0;
  let free = 0;
  query.tokens.forEach((token, position) => {
    const w = tokenWeight(token);
    if (skippable(token)) {
      mask |= 1 << position;
      skippedWeight += w;
    } else if (exactOnly(token)) {
      free += w;
    } else {
      pairable += w;
      pairableCount++;
    }
  });
  const { weak, pairLoss } = weakPairBounds(anchor);
  // Each pairable query token may find a list partner weighing up to 1 (a word) or none; the
  // bound is monotone in the partners' mass, so its larger end value bounds every case.
  const boundWith = (partners: number) => {
    const matched = 2 * skippedWeight + weak * (pairable + partners);
    return matched / (matched + pairLoss * (pairable + partners) + SCORING.extraCost * free);
  };
  const bound = Math.max(boundWith(0), boundWith(pairableCount));
  return bound < threshold ? mask >>> 0 : 0;
}

/**
 * Without an anchor, a pair is below the anchor similarity (or is an initial or COMPANY pair),
 * so its match value is at most `weak`; its tokens then cost at least `pairLoss` per unit weight
 * whether they pair (extra + pair cost on the rest) or stay free (extra cost).
 */
function weakPairBounds(anchor: number): { weak: number; pairLoss: number } {
  const weak = Math.max(
    matchValue(anchor),
    matchValue(SCORING.initialSimilarity),
    matchValue(SCORING.legalCompanySimilarity),
  );
  const pairLoss = Math.min((SCORING.extraCost + SCORING.pairCost) * (1 - weak), SCORING.extraCost);
  return { weak, pairLoss };
}

/** An upper bound of scorePrepared(query, candidate) from which tokens have anchors. */
class ScoreBound {
  private readonly weak: number;
  private readonly pairLoss: number;
  private readonly skippedKinds = new Set<NameToken['kind']>();
  private readonly pairableQ: number[] = [];
  private readonly pairableC: number[] = [];

  constructor(
    private readonly query: PreparedName,
    anchor: number,
    private readonly skipped: number,
  ) {
    ({ weak: this.weak, pairLoss: this.pairLoss } = weakPairBounds(anchor));
    query.tokens.forEach((token, position) => {
      if (skipped & (1 << position)) this.skippedKinds.add(token.kind);
    });
  }

  upperBound(candidate: PreparedName, queryMask: number, candidateMask: number): number {
    let anchored = 0;
    let anchoredQ = 0;
    let anchoredC = 0;
    let freeQ = 0;
    let freeC = 0;
    const pairableQ = this.pairableQ;
    const pairableC = this.pairableC;
    pairableQ.length = 0;
    pairableC.length = 0;
    const known = queryMask | this.skipped;
    this.query.tokens.forEach((token, position) => {
      const w = tokenWeight(token);
      if (known & (1 << position)) {
        anchored += w;
        anchoredQ++;
      } else if (exactOnly(token)) {
        freeQ += w;
      } else {
        pairableQ.push(w);
      }
    });
    candidate.tokens.forEach((token, position) => {
      const w = tokenWeight(token);
      // A skipped query token may pair with any list token of its kind.
      if (candidateMask & (1 << position) || this.skippedKinds.has(token.kind)) {
        anchored += w;
        anchoredC++;
      } else if (exactOnly(token)) {
        freeC += w;
      } else {
        pairableC.push(w);
      }
    });
    // Weak pairs are one-to-one (joins are always anchors), with any token of the other side.
    const kQ = Math.min(pairableQ.length, pairableC.length + anchoredC);
    const kC = Math.min(pairableC.length, pairableQ.length + anchoredQ);
    pairableQ.sort((a, b) => b - a);
    pairableC.sort((a, b) => b - a);
    let paired = 0;
    let all = 0;
    let leftQ = freeQ;
    let leftC = freeC;
    pairableQ.forEach((w, i) => {
      all += w;
      if (i < kQ) paired += w;
      else leftQ += w;
    });
    pairableC.forEach((w, i) => {
      all += w;
      if (i < kC) paired += w;
      else leftC += w;
    });
    const matched = anchored + this.weak * paired;
    const cost =
      this.pairLoss * all +
      SCORING.extraCost * (freeQ + freeC) +
      SCORING.conflictCost * Math.min(leftQ, leftC);
    return matched > 0 ? matched / (matched + cost) : 0;
  }
}
