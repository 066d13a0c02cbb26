/**
 * Candidate retrieval for name screening without scoring every list name, returning the same
 * matches as scoring every name (bruteForceSearch) at any threshold ≥ the index's minimum.
 *
 * Why it is exact: a name scoring ≥ T has an "anchor" for the query (name-score.ts
 * anchorSimilarity): a word pair at least that similar, a joined/split pair, or an exact pair of
 * numbers, particles, legal forms or initials. Fuzzy key lookups and postings find every name with
 * an anchor. Each found name's score is bounded from above (name-bounds.ts): anchored tokens at
 * most fully matched, the others at most as similar as their letters allow and below the anchor
 * similarity. Only names whose bound reaches T are aligned. Postings of a query token are not
 * read at all when a name anchored by such tokens alone cannot reach T (often true of legal
 * forms, particles and very common given names when the query has other words).
 */
import type { AliasKind, NameEntry, PartyType } from './list-entry';
import type { NameToken } from './name-normalise';
import {
  DEFAULT_REVIEW_THRESHOLD,
  QueryScorer,
  SCORE_ROUNDING,
  SCORING,
  anchorSimilarity,
  isSignificant,
  isWordLike,
  joinMask,
  prepareName,
  type PreparedName,
  type SchemaHint,
  type TokenPair,
} from './name-score';
import { CandidateBound, ShapeTable, unreachedMightMatch, unretrievedMatchValue } from './name-bounds';
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
  /** Only entries of this type (or of unknown type); also tells the scorer person from entity. */
  type?: PartyType;
}

export interface NameIndex {
  /** Indexed names: primaries and aliases. */
  readonly size: number;
  search(name: string, options: NameSearchOptions): NameMatch[];
}

export interface NameIndexOptions {
  /**
   * Lowest threshold the index serves; a search below it scores every name instead. A lower
   * minimum stores more fuzzy keys. Default: DEFAULT_REVIEW_THRESHOLD.
   */
  minThreshold?: number;
}

const DEFAULT_LIMIT = 10;
/** Above this limit the index does not stop early on the limit-th score (tracking would cost more). */
const MAX_TRACKED_LIMIT = 100;

interface IndexedName {
  entry: NameEntry;
  raw: string;
  kind: 'primary' | AliasKind;
  prepared: PreparedName;
}

/**
 * Primary name and aliases of every entry, each normalised once, duplicates within an entry
 * dropped, and equal tokens shared between names (memory, and the scorer's similarity cache).
 */
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
      const signature = prepared.tokens.map((t) => `${t.kind}:${t.keys.join(',')}`).join(' ');
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

/** Scores candidates and keeps the best-scoring name per entry. */
class MatchCollector {
  private readonly scorer: QueryScorer;
  private readonly best = new Map<NameEntry, { name: IndexedName; score: number; schema?: SchemaHint }>();
  private readonly limit: number;
  /** The `limit` best entry scores so far, best first, when `limit` is small enough to track. */
  private readonly top: { entry: NameEntry; score: number }[] = [];

  constructor(
    query: PreparedName,
    private readonly options: NameSearchOptions,
  ) {
    this.scorer = new QueryScorer(query);
    this.limit = options.limit ?? DEFAULT_LIMIT;
  }

  /**
   * The score a candidate must reach to change the results: the threshold, or once `limit`
   * entries are held, the lowest of them (a tie may still win on entry id, so equal is enough).
   */
  floor(): number {
    return this.top.length >= this.limit ? this.top[this.top.length - 1].score : this.options.threshold;
  }

  offer(name: IndexedName): void {
    const schema = schemaOf(this.options.type ?? name.entry.type);
    const score = this.scorer.score(name.prepared, schema);
    if (score < this.options.threshold) return;
    const current = this.best.get(name.entry);
    if (current && current.score >= score) return;
    this.best.set(name.entry, { name, score, schema });
    if (this.limit <= MAX_TRACKED_LIMIT) this.track(name.entry, score);
  }

  private track(entry: NameEntry, score: number): void {
    const at = this.top.findIndex((t) => t.entry === entry);
    if (at >= 0) this.top[at].score = score;
    else if (this.top.length < this.limit) this.top.push({ entry, score });
    else if (score > this.top[this.top.length - 1].score) this.top[this.top.length - 1] = { entry, score };
    else return;
    this.top.sort((a, b) => b.score - a.score);
  }

  /** Best entries first, ties in entry id order; explanations only for what is returned. */
  results(): NameMatch[] {
    return [...this.best.values()]
      .sort((a, b) => b.score - a.score || compare(a.name.entry.id, b.name.entry.id))
      .slice(0, this.limit)
      .map(({ name, schema }) => {
        const explained = this.scorer.explain(name.prepared, schema);
        return {
          entryId: name.entry.id,
          ref: name.entry.ref,
          subject: name.entry.subject,
          matchedName: name.raw,
          nameKind: name.kind,
          score: explained.score,
          pairs: explained.pairs,
          unmatchedQuery: explained.unmatchedQuery,
          unmatchedCandidate: explained.unmatchedCandidate,
          programs: name.entry.programs,
        };
      });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const preparedLists = new WeakMap<readonly NameEntry[], IndexedName[]>();

/**
 * The reference: the same scorer over every name of every entry. Normalised names are cached per
 * entries array (which must not change afterwards), so repeated calls measure scoring alone.
 */
export function bruteForceSearch(entries: NameEntry[], name: string, options: NameSearchOptions): NameMatch[] {
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

/** Keys with, per key, the names holding it and a bit mask of the tokens holding it. */
class Postings {
  readonly keys: string[] = [];
  private readonly ids = new Map<string, number>();
  private pending: number[] = [];
  private offsets = new Int32Array(1);
  private names = new Int32Array(0);
  private masks = new Int32Array(0);

  add(key: string, name: number, mask: number): void {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    this.pending.push(id, name, mask);
  }

  /** Packs the postings into flat typed arrays grouped by key (a counting sort). */
  seal(): void {
    const pending = this.pending;
    this.offsets = new Int32Array(this.keys.length + 1);
    for (let i = 0; i < pending.length; i += 3) this.offsets[pending[i] + 1]++;
    for (let k = 0; k < this.keys.length; k++) this.offsets[k + 1] += this.offsets[k];
    const fill = this.offsets.slice(0, this.keys.length);
    this.names = new Int32Array(pending.length / 3);
    this.masks = new Int32Array(pending.length / 3);
    for (let i = 0; i < pending.length; i += 3) {
      const at = fill[pending[i]]++;
      this.names[at] = pending[i + 1];
      this.masks[at] = pending[i + 2];
    }
    this.pending = [];
  }

  id(key: string): number | undefined {
    return this.ids.get(key);
  }

  length(id: number): number {
    return this.offsets[id + 1] - this.offsets[id];
  }

  start(id: number): number {
    return this.offsets[id];
  }

  nameAt(at: number): number {
    return this.names[at];
  }

  maskAt(at: number): number {
    return this.masks[at];
  }
}

/** Exact keys of a token: numbers, particles, legal forms and their families, initials. */
function exactKeys(token: NameToken): string[] {
  switch (token.kind) {
    case 'number':
      return [`#${token.keys[0]}`];
    case 'particle':
      return [`~${token.keys[0]}`];
    case 'legal-form':
      return [`§${token.keys[0]}`, `§§${token.legalFamily ?? ''}`];
    case 'initial':
      return [`^${token.keys[0]}`];
    default:
      return [];
  }
}

/** A list-side run written together, met only by an equal query word (joinSimilarity). */
function joinKey(key: string): string {
  return `=${key}`;
}

interface Probe {
  postings: Postings;
  key: number;
  /** Query tokens this key anchors. */
  queryMask: number;
  /** The one query token whose own word or exact key this is; -1 for joins, never skipped. */
  token: number;
}

/**
 * Words of a query whose retrieval reaches fewer postings than this are retrieved down to
 * RARE_WORD_SIMILARITY rather than the anchor similarity: cheap for rare words, and it caps
 * what their unretrieved pairs can add, which lets the index skip the postings of common words.
 */
const RARE_WORD_POSTINGS = 1500;
const RARE_WORD_SIMILARITY = 0.7;
/**
 * Longer words are looked up at that similarity by scanning (fuzzy-keys.ts), worth it only when
 * the search would otherwise read more than DEEPEN_ABOVE_POSTINGS postings.
 */
const SHORT_WORD_LENGTH = 9;
const DEEPEN_ABOVE_POSTINGS = 1500;

export const STATS = { touched: 0, survivors: 0, scored: 0, tPrep: 0, tProbe: 0, tTraverse: 0, tBound: 0, tScore: 0, probes: 0, skipped: 0 };
export function buildNameIndex(entries: NameEntry[], options: NameIndexOptions = {}): NameIndex {
  const minThreshold = options.minThreshold ?? DEFAULT_REVIEW_THRESHOLD;
  const names = indexedNames(entries);
  const words = new Postings();
  const exact = new Postings();
  const rowOf = new Map<NameToken, number>();
  const tokens: NameToken[] = [];
  const rowStart = new Int32Array(names.length + 1);
  const rowList: number[] = [];
  names.forEach((name, n) => {
    const wordMasks = new Map<string, number>();
    const exactMasks = new Map<string, number>();
    name.prepared.tokens.forEach((token, position) => {
      const bit = 1 << position;
      if (isWordLike(token)) for (const key of token.keys) wordMasks.set(key, (wordMasks.get(key) ?? 0) | bit);
      for (const key of exactKeys(token)) exactMasks.set(key, (exactMasks.get(key) ?? 0) | bit);
      let row = rowOf.get(token);
      if (row === undefined) {
        row = tokens.length;
        tokens.push(token);
        rowOf.set(token, row);
      }
      rowList.push(row);
    });
    rowStart[n + 1] = rowList.length;
    for (const join of name.prepared.joins) {
      const key = joinKey(join.key);
      exactMasks.set(key, (exactMasks.get(key) ?? 0) | joinMask(join));
    }
    for (const [key, mask] of wordMasks) words.add(key, n, mask);
    for (const [key, mask] of exactMasks) exact.add(key, n, mask);
  });
  words.seal();
  exact.seal();
  const rows = Int32Array.from(rowList);
  const retrievalFloor = Math.min(RARE_WORD_SIMILARITY, anchorSimilarity(minThreshold));
  const wordKeys = new FuzzyKeyIndex(words.keys, retrievalFloor);
  const bound = new CandidateBound(ShapeTable.of(tokens));

  // Per-search scratch, reused: a search runs synchronously, one at a time.
  const stampOf = new Uint32Array(names.length);
  const queryMasks = new Int32Array(names.length);
  const candidateMasks = new Int32Array(names.length);
  const touched = new Int32Array(names.length);
  const margins = new Float64Array(names.length);
  let stamp = 0;

  function search(name: string, searchOptions: NameSearchOptions): NameMatch[] {
    const threshold = searchOptions.threshold;
    if (threshold < minThreshold) return scanAll(names, name, searchOptions);
    let t0 = performance.now();
    const query = prepareName(name);
    STATS.tPrep += performance.now() - t0; t0 = performance.now();
    if (query.tokens.length === 0) return [];
    const shapes = ShapeTable.of(query.tokens);
    // With nothing significant to match, every score is scaled down below any useful threshold.
    if (!query.tokens.some(isSignificant) && SCORING.insignificantFactor < threshold) return [];
    // Scores are rounded: a raw score just below the threshold still counts.
    const target = threshold - SCORE_ROUNDING;
    const anchor = anchorSimilarity(target);
    const { probes, caps, skipped } = planRetrieval(query, shapes, anchor, target);

    STATS.probes += probes.length; STATS.skipped += skipped; STATS.tProbe += performance.now() - t0; t0 = performance.now();
    stamp = (stamp + 1) >>> 0;
    if (stamp === 0) {
      stampOf.fill(0);
      stamp = 1;
    }
    let touchedCount = 0;
    for (const probe of probes) {
      if (probe.token >= 0 && skipped & (1 << probe.token)) continue;
      const { postings, key, queryMask } = probe;
      const end = postings.start(key) + postings.length(key);
      for (let at = postings.start(key); at < end; at++) {
        const n = postings.nameAt(at);
        if (stampOf[n] !== stamp) {
          stampOf[n] = stamp;
          queryMasks[n] = 0;
          candidateMasks[n] = 0;
          touched[touchedCount++] = n;
        }
        queryMasks[n] |= queryMask;
        candidateMasks[n] |= postings.maskAt(at);
      }
    }

    STATS.touched += touchedCount; STATS.tTraverse += performance.now() - t0; t0 = performance.now();
    bound.begin(shapes, caps, skipped, target);
    const survivors: number[] = [];
    for (let t = 0; t < touchedCount; t++) {
      const n = touched[t];
      if (searchOptions.type !== undefined && !typeAllowed(names[n].entry, searchOptions.type)) continue;
      if (bound.quickMargin(rows, rowStart[n], rowStart[n + 1], queryMasks[n], candidateMasks[n]) < 0) continue;
      bound.load(rows, rowStart[n], rowStart[n + 1], queryMasks[n], candidateMasks[n]);
      margins[n] = bound.margin(target);
      if (margins[n] >= 0) survivors.push(n);
    }
    // Likeliest first, so that once `limit` matches are held the rest can be cut off.
    survivors.sort((a, b) => margins[b] - margins[a]);
    STATS.survivors += survivors.length; STATS.tBound += performance.now() - t0; t0 = performance.now();
    const collector = new MatchCollector(query, searchOptions);
    for (const n of survivors) {
      const floor = collector.floor() - SCORE_ROUNDING;
      if (floor > target) {
        bound.load(rows, rowStart[n], rowStart[n + 1], queryMasks[n], candidateMasks[n]);
        if (bound.margin(floor) < 0) continue;
      }
      STATS.scored++;
      collector.offer(names[n]);
    }
    const rr = collector.results();
    STATS.tScore += performance.now() - t0;
    return rr;
  }

  /**
   * How each query token is retrieved: the keys it anchors (its probes), how many postings they
   * reach, and the cap on what its unretrieved pairs can reach. Words are looked up down to the
   * anchor similarity; rare words further down (RARE_WORD_SIMILARITY), which lowers their cap and
   * so lets common tokens be skipped. For long words that lookup scans many keys, so it is done
   * only when it lets the search skip many postings.
   */
  function planRetrieval(
    query: PreparedName,
    shapes: ShapeTable,
    anchor: number,
    target: number,
  ): { probes: Probe[]; caps: Float64Array; skipped: number } {
    const own: Probe[][] = [];
    const volume = new Float64Array(shapes.size);
    const caps = new Float64Array(shapes.size);
    const deepenable: number[] = [];
    const lookUpWords = (position: number, similarity: number) => {
      const found = new Set<number>();
      for (const key of query.tokens[position].keys) wordKeys.search(key, similarity, (id) => found.add(id));
      own[position] = [...found].map((key) => ({ postings: words, key, queryMask: 1 << position, token: position }));
      volume[position] = [...found].reduce((sum, id) => sum + words.length(id), 0);
      caps[position] = unretrievedMatchValue(shapes, position, similarity);
    };
    query.tokens.forEach((token, position) => {
      if (isWordLike(token)) {
        lookUpWords(position, anchor);
        if (volume[position] < RARE_WORD_POSTINGS) {
          if (shapes.maxLength(position) <= SHORT_WORD_LENGTH) lookUpWords(position, retrievalFloor);
          else deepenable.push(position);
        }
      } else {
        own[position] = [];
        caps[position] = unretrievedMatchValue(shapes, position, anchor);
      }
      for (const key of exactKeys(token)) {
        const id = exact.id(key);
        if (id === undefined) continue;
        own[position].push({ postings: exact, key: id, queryMask: 1 << position, token: position });
        volume[position] += exact.length(id);
      }
    });
    let skipped = skippedTokens(volume, caps, shapes, target);
    if (deepenable.length > 0 && unskippedVolume(volume, skipped) > DEEPEN_ABOVE_POSTINGS) {
      const deeperCaps = Float64Array.from(caps);
      for (const position of deepenable) deeperCaps[position] = unretrievedMatchValue(shapes, position, retrievalFloor);
      const deeperSkipped = skippedTokens(volume, deeperCaps, shapes, target);
      if (unskippedVolume(volume, deeperSkipped) < unskippedVolume(volume, skipped) / 2) {
        for (const position of deepenable) lookUpWords(position, retrievalFloor);
        skipped = deeperSkipped;
      }
    }
    for (let i = 0; i < shapes.size; i++) if (skipped & (1 << i)) caps[i] = 1;
    const probes = own.flat();
    query.tokens.forEach((token, position) => {
      if (!isWordLike(token)) return;
      for (const key of token.keys) {
        const id = exact.id(joinKey(key));
        if (id !== undefined) probes.push({ postings: exact, key: id, queryMask: 1 << position, token: -1 });
      }
    });
    for (const join of query.joins) {
      const id = words.id(join.key);
      if (id !== undefined) probes.push({ postings: words, key: id, queryMask: joinMask(join), token: -1 });
    }
    return { probes, caps, skipped };
  }

  /**
   * Query tokens whose postings need not be read, as a bit mask: the most frequent first, while
   * a name reached through skipped tokens alone still cannot reach the target.
   */
  function skippedTokens(volume: Float64Array, caps: Float64Array, shapes: ShapeTable, target: number): number {
    const order = Array.from(volume.keys()).sort((a, b) => volume[b] - volume[a]);
    let skipped = 0;
    for (const i of order) {
      if (volume[i] === 0) break;
      if (!unreachedMightMatch(shapes, skipped | (1 << i), caps, target)) skipped |= 1 << i;
    }
    return skipped;
  }

  function unskippedVolume(volume: Float64Array, skipped: number): number {
    let total = 0;
    volume.forEach((v, i) => {
      if (!(skipped & (1 << i))) total += v;
    });
    return total;
  }

  return {
    get size() {
      return names.length;
    },
    search,
  };
}
