/**
 * Name screening against a list version without scoring every list name. Returns exactly what
 * scoring every name returns (bruteForceSearch), at any threshold from the index's minimum up.
 *
 * Why it is exact: a name scoring ≥ T has an "anchor" for the query (name-score.ts
 * anchorSimilarity): a word pair at least that similar, a joined/split pair, or an exact pair of
 * numbers, particles, legal forms or initials. Fuzzy key lookups (fuzzy-keys.ts) and postings
 * (name-postings.ts) find every name with an anchor. Each such name's score is bounded from
 * above (name-bounds.ts): first from which of its tokens are anchored, then from each word pair's
 * similarity as the query word's lookup found it (or below the lookup's level, within what the
 * letters allow, where it did not find it). Only names whose bound reaches T are
 * aligned, likeliest first, until the limit-th best score rules out the rest. The postings of a
 * query token are not read at all when names reached through such tokens alone cannot reach T
 * (often the case for legal forms, particles and common given names beside rarer words).
 */
import type { NameEntry } from './list-entry';
import { FuzzyKeyIndex, MAX_DEPTH, deletionsNeeded } from './fuzzy-keys';
import {
  CandidateBound,
  ShapeTable,
  unfoundWordValue,
  unreachedMightMatch,
  unretrievedMatchValue,
  type WordLookups,
} from './name-bounds';
import {
  MatchCollector,
  indexedNames,
  scanAll,
  typeAllowed,
  type IndexedName,
  type NameMatch,
  type NameSearchOptions,
} from './name-matches';
import { looseKey, type NameToken } from './name-normalise';
import { Postings } from './name-postings';
import {
  SCORE_ROUNDING,
  SCORING,
  anchorSimilarity,
  isSignificant,
  isWordLike,
  joinMask,
  prepareName,
  type PreparedName,
} from './name-score';

export type { NameMatch, NameSearchOptions } from './name-matches';

export interface NameIndex {
  /** Indexed names: primaries and aliases. */
  readonly size: number;
  search(name: string, options: NameSearchOptions): NameMatch[];
}

export interface NameIndexOptions {
  /**
   * Lowest threshold the index serves; a search below it scores every name instead. Lower
   * minimums store more fuzzy keys. Default: DEFAULT_MIN_THRESHOLD.
   */
  minThreshold?: number;
}

/** Lowest threshold served by default: anything down to it costs no more memory than the review threshold. */
export const DEFAULT_MIN_THRESHOLD = 0.6;

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

/**
 * Keys a word is indexed and looked up under: its loose keys only. They coarsen the keys letter
 * for letter, so a pair is at least as similar through them as through its keys or its loose
 * keys weighted down (name-score.ts tokenSimilarity): looking them up finds every anchor.
 */
function wordKeysOf(token: NameToken): string[] {
  return token.looseKeys;
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
 * Words of a query whose lookup reaches fewer postings than this are looked up down to
 * RARE_WORD_SIMILARITY rather than the anchor similarity: cheap for rare words, and it caps what
 * their unretrieved pairs can add, which lets the search skip the postings of common tokens.
 */
const RARE_WORD_POSTINGS = 1500;
const RARE_WORD_SIMILARITY = 0.7;
/**
 * Rare words needing up to CHEAP_DELETIONS deletion variants at that similarity are always looked
 * up that deep; longer ones (up to MAX_DEPTH, beyond which the lookup scans) only when that lets
 * the search skip the postings of common tokens, when it would otherwise read more than
 * DEEPEN_ABOVE_POSTINGS.
 */
const CHEAP_DELETIONS = 2;
const DEEPEN_ABOVE_POSTINGS = 1500;

export function buildNameIndex(entries: NameEntry[], options: NameIndexOptions = {}): NameIndex {
  const minThreshold = options.minThreshold ?? DEFAULT_MIN_THRESHOLD;
  const names = indexedNames(entries);
  const words = new Postings();
  const exact = new Postings();
  const joins = new Postings();
  const rowOf = new Map<NameToken, number>();
  const tokens: NameToken[] = [];
  const rowStart = new Int32Array(names.length + 1);
  const rowList: number[] = [];
  names.forEach((name, n) => {
    const wordMasks = new Map<string, number>();
    const exactMasks = new Map<string, number>();
    name.prepared.tokens.forEach((token, position) => {
      const bit = 1 << position;
      if (isWordLike(token))
        for (const key of wordKeysOf(token)) wordMasks.set(key, (wordMasks.get(key) ?? 0) | bit);
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
    for (const join of name.prepared.joins) joins.add(join.key, n, joinMask(join));
    for (const [key, mask] of wordMasks) words.add(key, n, mask);
    for (const [key, mask] of exactMasks) exact.add(key, n, mask);
  });
  words.seal();
  exact.seal();
  joins.seal();
  const rows = Int32Array.from(rowList);
  const retrievalFloor = Math.min(RARE_WORD_SIMILARITY, anchorSimilarity(minThreshold));
  const wordKeys = new FuzzyKeyIndex(words.keys, retrievalFloor);
  const keyStart = new Int32Array(tokens.length + 1);
  const keyIds: number[] = [];
  tokens.forEach((token, row) => {
    if (isWordLike(token)) {
      for (const key of wordKeysOf(token)) {
        const id = words.id(key);
        if (id !== undefined) keyIds.push(id);
      }
    }
    keyStart[row + 1] = keyIds.length;
  });
  const bound = new CandidateBound(ShapeTable.of(tokens), keyStart, Int32Array.from(keyIds));

  // Per-search scratch, reused: a search runs synchronously, one at a time.
  const stampOf = new Uint32Array(names.length);
  const queryMasks = new Int32Array(names.length);
  const candidateMasks = new Int32Array(names.length);
  const joinedQueryMasks = new Int32Array(names.length);
  const joinedCandidateMasks = new Int32Array(names.length);
  const touched = new Int32Array(names.length);
  const margins = new Float64Array(names.length);
  let stamp = 0;
  /** Per query word position, the similarity of each word key its lookup found (see WordLookups). */
  const similarities: Float32Array[] = [];
  const foundKeys: number[][] = [];

  function search(name: string, searchOptions: NameSearchOptions): NameMatch[] {
    const threshold = searchOptions.threshold;
    if (threshold < minThreshold) return scanAll(names, name, searchOptions);
    const query = prepareName(name);
    if (query.tokens.length === 0) return [];
    const shapes = ShapeTable.of(query.tokens);
    // With nothing significant to match, every score is scaled down below any useful threshold.
    if (!query.tokens.some(isSignificant) && SCORING.insignificantFactor < threshold) return [];
    // Scores are rounded: a raw score just below the threshold still counts.
    const target = threshold - SCORE_ROUNDING;
    const anchor = anchorSimilarity(target);
    const plan = planRetrieval(query, shapes, anchor, target);
    // Cannot happen above the minimum threshold (see anchorSimilarity); kept as a safety net.
    if (!plan) return scanAll(names, name, searchOptions);
    const { probes, caps, skipped, lookups } = plan;

    stamp = (stamp + 1) >>> 0;
    if (stamp === 0) {
      stampOf.fill(0);
      stamp = 1;
    }
    let touchedCount = 0;
    for (const probe of probes) {
      if (probe.token >= 0 && skipped & (1 << probe.token)) continue;
      const { postings, key, queryMask } = probe;
      const joined = probe.token < 0;
      const end = postings.start(key) + postings.length(key);
      for (let at = postings.start(key); at < end; at++) {
        const n = postings.nameAt(at);
        if (stampOf[n] !== stamp) {
          stampOf[n] = stamp;
          queryMasks[n] = 0;
          candidateMasks[n] = 0;
          joinedQueryMasks[n] = 0;
          joinedCandidateMasks[n] = 0;
          touched[touchedCount++] = n;
        }
        queryMasks[n] |= queryMask;
        candidateMasks[n] |= postings.maskAt(at);
        if (joined) {
          joinedQueryMasks[n] |= queryMask;
          joinedCandidateMasks[n] |= postings.maskAt(at);
        }
      }
    }

    bound.begin(shapes, caps, skipped, target, lookups);
    const survivors: number[] = [];
    for (let t = 0; t < touchedCount; t++) {
      const n = touched[t];
      if (searchOptions.type !== undefined && !typeAllowed(names[n].entry, searchOptions.type)) continue;
      if (bound.quickMargin(rows, rowStart[n], rowStart[n + 1], queryMasks[n], candidateMasks[n]) < 0)
        continue;
      bound.load(rows, rowStart[n], rowStart[n + 1], joinedQueryMasks[n], joinedCandidateMasks[n]);
      margins[n] = bound.margin(target);
      if (margins[n] >= 0) survivors.push(n);
    }
    // Likeliest first, so that once `limit` matches are held the rest can be cut off.
    survivors.sort((a, b) => margins[b] - margins[a]);
    const collector = new MatchCollector(query, searchOptions);
    for (const n of survivors) {
      const floor = collector.floor() - SCORE_ROUNDING;
      if (floor > target) {
        bound.load(rows, rowStart[n], rowStart[n + 1], joinedQueryMasks[n], joinedCandidateMasks[n]);
        if (bound.margin(floor) < 0) continue;
      }
      collector.offer(names[n]);
    }
    return collector.results();
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
  ): { probes: Probe[]; caps: Float64Array; skipped: number; lookups: WordLookups } | null {
    const own: Probe[][] = [];
    const found: Map<number, number>[] = [];
    const foundLevel = new Float64Array(shapes.size);
    const volume = new Float64Array(shapes.size);
    const caps = new Float64Array(shapes.size);
    const deepenable: number[] = [];
    /** Word keys at least this similar to query word `position`, with their similarity. */
    const lookUp = (position: number, similarity: number) => {
      const found = new Map<number, number>();
      for (const key of wordKeysOf(query.tokens[position])) {
        wordKeys.search(key, similarity, (id, value) => found.set(id, Math.max(value, found.get(id) ?? 0)));
      }
      return found;
    };
    /**
     * Retrieves query word `position` through the keys its lookup at `level` found at least
     * `retrieval` similar.
     */
    const retrieve = (position: number, keys: Map<number, number>, level: number, retrieval: number) => {
      found[position] = keys;
      foundLevel[position] = level;
      own[position] = [];
      volume[position] = 0;
      for (const [key, similarity] of keys) {
        if (similarity < retrieval) continue;
        own[position].push({ postings: words, key, queryMask: 1 << position, token: position });
        volume[position] += words.length(key);
      }
      caps[position] = unretrievedMatchValue(shapes, position, retrieval);
    };
    const volumeAbove = (keys: Map<number, number>, similarity: number) => {
      let total = 0;
      for (const [key, value] of keys) if (value >= similarity) total += words.length(key);
      return total;
    };
    query.tokens.forEach((token, position) => {
      if (isWordLike(token)) {
        const deletions = deletionsNeeded(shapes.maxLength(position), retrievalFloor);
        if (deletions <= CHEAP_DELETIONS) {
          // One lookup serves both: rare words keep everything it found, common ones the anchors.
          const keys = lookUp(position, retrievalFloor);
          const rare = volumeAbove(keys, anchor) < RARE_WORD_POSTINGS;
          retrieve(position, keys, retrievalFloor, rare ? retrievalFloor : anchor);
        } else {
          retrieve(position, lookUp(position, anchor), anchor, anchor);
          if (volume[position] < RARE_WORD_POSTINGS && deletions <= MAX_DEPTH) deepenable.push(position);
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
    // Names the lookups reach through no token at all must be out of reach.
    if (unreachedMightMatch(shapes, 0, caps, target)) return null;
    let skipped = skippedTokens(volume, caps, shapes, target);
    if (deepenable.length > 0 && unskippedVolume(volume, skipped) > DEEPEN_ABOVE_POSTINGS) {
      const deeperCaps = Float64Array.from(caps);
      for (const position of deepenable)
        deeperCaps[position] = unretrievedMatchValue(shapes, position, retrievalFloor);
      const deeperSkipped = skippedTokens(volume, deeperCaps, shapes, target);
      if (unskippedVolume(volume, deeperSkipped) < unskippedVolume(volume, skipped) / 2) {
        for (const position of deepenable)
          retrieve(position, lookUp(position, retrievalFloor), retrievalFloor, retrievalFloor);
        skipped = deeperSkipped;
      }
    }
    for (let i = 0; i < shapes.size; i++) if (skipped & (1 << i)) caps[i] = 1;
    const probes = own.flat();
    query.tokens.forEach((token, position) => {
      if (!isWordLike(token)) return;
      for (const key of token.keys) {
        const id = joins.id(key);
        if (id !== undefined) probes.push({ postings: joins, key: id, queryMask: 1 << position, token: -1 });
      }
    });
    for (const join of query.joins) {
      // Words are indexed under loose keys; a join equal to a word's key equals its loose key.
      const id = words.id(looseKey(join.key));
      if (id !== undefined) probes.push({ postings: words, key: id, queryMask: joinMask(join), token: -1 });
    }
    return { probes, caps, skipped, lookups: wordLookups(shapes, found, foundLevel) };
  }

  /** The lookups' findings as WordLookups, in scratch arrays that the previous search's reset. */
  function wordLookups(shapes: ShapeTable, found: Map<number, number>[], level: Float64Array): WordLookups {
    similarities.forEach((values, position) => {
      for (const key of foundKeys[position]) values[key] = 0;
      foundKeys[position] = [];
    });
    const unfoundValues = new Float64Array(shapes.size);
    const current: (Float32Array | undefined)[] = [];
    found.forEach((keys, position) => {
      const values = (similarities[position] ??= new Float32Array(words.keys.length));
      for (const [key, similarity] of keys) values[key] = similarity;
      foundKeys[position] = [...keys.keys()];
      current[position] = values;
      unfoundValues[position] = unfoundWordValue(shapes, position, level[position]);
    });
    return { similarities: current, unfoundValues };
  }

  /**
   * Query tokens whose postings need not be read, as a bit mask: the most frequent first, while
   * a name reached through skipped tokens alone still cannot reach the target.
   */
  function skippedTokens(
    volume: Float64Array,
    caps: Float64Array,
    shapes: ShapeTable,
    target: number,
  ): number {
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
