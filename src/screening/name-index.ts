/**
 * Name screening against a list version without scoring every list name. Returns exactly what
 * scoring every name returns (bruteForceSearch), at any threshold from the index's minimum up.
 *
 * Why it is exact: a name scoring ≥ T has an "anchor" for the query (name-score.ts
 * anchorSimilarity): a word pair at least that similar, a joined/split pair, or an exact pair of
 * numbers, particles, legal forms or initials. Fuzzy key lookups (fuzzy-keys.ts) and postings
 * (name-postings.ts) find every name with an anchor. Each such name's score is bounded from
 * above (name-bounds.ts): first from the match values of its retrieved pairs alone, kept up to date
 * as its postings are read, then from each word pair's similarity as the query word's lookup found
 * it (or below the lookup's level, within what the letters allow, where it did not find it). Only
 * names whose bound reaches T are aligned, likeliest first, until the limit-th best score rules
 * out the rest (or leaves them a tie they would lose on entry id). When names reached through
 * some query tokens alone cannot reach T (often the case for legal forms and particles, and for
 * common given names beside rarer words), the postings of those tokens are not read at all (light
 * kinds) or read only for the names other tokens reached (words); so are the postings of a word's
 * loosest neighbours, where the names they alone reach pair it too loosely to reach T. Query
 * words may also retrieve their pairs with list initials, which then no longer hold their caps
 * up: a query of common words alone can defer the commonest. One index may hold several lists
 * (buildSharedNameIndex), each answered as its own index would.
 */
import type { NameEntry } from './list-entry';
import { FuzzyKeyIndex, MAX_DEPTH, deletionsNeeded } from './fuzzy-keys';
import {
  CandidateBound,
  INITIAL_MATCH_VALUE,
  KIND_COUNT,
  ShapeTable,
  grown,
  unfoundWordValue,
  unreachedMightMatch,
  unretrievedMatchValue,
  type WordLookups,
} from './name-bounds';
import {
  MatchCollector,
  compareEntryIds,
  indexedNames,
  scanAll,
  schemaOf,
  typeAllowed,
  type IndexedName,
  type NameMatch,
  type NameSearchOptions,
} from './name-matches';
import { MAX_TOKENS, looseKey, type NameToken } from './name-normalise';
import { Postings } from './name-postings';
import {
  SCORE_ROUNDING,
  SCORING,
  anchorSimilarity,
  isSignificant,
  isWordLike,
  joinMask,
  matchValue,
  prepareName,
  tokenWeight,
  type PreparedName,
} from './name-score';

export type { NameMatch, NameSearchOptions } from './name-matches';

export interface NameIndex {
  /** Indexed names: primaries and aliases. */
  readonly size: number;
  /** A name as written, or as prepareName left it (to search several indexes with one name). */
  search(name: string | PreparedName, options: NameSearchOptions): NameMatch[];
}

/**
 * One index over the names of several lists, which a search reads once for all of them: what a
 * search costs whatever the list's size (planning the lookups, the postings of common words) is
 * then paid once rather than once per list.
 */
export interface SharedNameIndex {
  /** Indexed names of all the lists: primaries and aliases. */
  readonly size: number;
  /** How many lists it holds. */
  readonly lists: number;
  /**
   * Per list, in the order the index was built with, what a NameIndex of that list alone would
   * answer (options.limit applies to each list).
   */
  search(name: string | PreparedName, options: NameSearchOptions): NameMatch[][];
}

export interface NameIndexOptions {
  /**
   * Lowest threshold the index serves; a search below it scores every name instead. Lower
   * minimums store more fuzzy keys. Default: DEFAULT_MIN_THRESHOLD.
   */
  minThreshold?: number;
  /**
   * How many lookups of words the lists do not hold are kept for later searches (see
   * searchUnknownWord); 0 keeps none, so that every search pays for its own lookups, as a
   * benchmark of distinct names repeated pass after pass needs. Default UNKNOWN_WORDS_KEPT.
   */
  unknownWordsKept?: number;
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
    names = indexedNames([entries]);
    preparedLists.set(entries, names);
  }
  return scanAll(names, name, options, 1)[0];
}

/**
 * The names reordered so that those sharing their commonest tokens sit side by side: a search
 * walks the postings of common words (Muhammad, Ali) name by name, and neighbouring names share
 * the processor's cache lines. Sorted by their commonest token, then their second commonest.
 */
function clusteredByCommonTokens(names: IndexedName[]): IndexedName[] {
  // Names share their token objects (indexedNames), which makes them cheap keys.
  const frequency = new Map<NameToken, number>();
  for (const name of names)
    for (const token of name.prepared.tokens) frequency.set(token, (frequency.get(token) ?? 0) + 1);
  const rank = new Map([...frequency].sort((a, b) => b[1] - a[1]).map(([token], r) => [token, r]));
  const first = new Int32Array(names.length).fill(rank.size);
  const second = new Int32Array(names.length).fill(rank.size);
  names.forEach(({ prepared: { tokens } }, n) => {
    for (const token of tokens) {
      const r = rank.get(token) ?? rank.size;
      if (r < first[n]) [first[n], second[n]] = [r, first[n]];
      else if (r > first[n] && r < second[n]) second[n] = r;
    }
  });
  const order = names.map((_, n) => n).sort((a, b) => first[a] - first[b] || second[a] - second[b] || a - b);
  return order.map((n) => names[n]);
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
  /** The highest match value a pair through this key can have. */
  value: number;
}

/**
 * Query words are retrieved down to DEEP_SIMILARITY rather than the anchor similarity: that caps
 * what their unretrieved pairs can add, which lets the quick test discard the names that most
 * common words reach and the search skip the postings of common tokens. Words needing up to
 * CHEAP_DELETIONS deletion variants at that similarity always are, and so are list words, whose
 * neighbours that similar the key index stores; other long ones (up to MAX_DEPTH, or beyond when
 * the lookup scans at most DEEP_SCAN_KEYS keys, as for very long words) only when their anchors
 * reach fewer than RARE_WORD_POSTINGS and the search would otherwise read more than
 * DEEPEN_ABOVE_POSTINGS.
 */
const DEEP_SIMILARITY = 0.7;
const CHEAP_DELETIONS = 2;
const DEEP_SCAN_KEYS = 1000;
const RARE_WORD_POSTINGS = 1500;
const DEEPEN_ABOVE_POSTINGS = 1500;
/**
 * Longer lookups (more than DEEP_SCAN_KEYS keys to check) go that deep where the postings the
 * tighter cap lets the search skip cost more to read: a posting read costs about as much as this
 * many keys checked (touching the name, then bounding it).
 */
const POSTING_COST_IN_KEYS = 2;
/** A bound this little above the lowest score kept still rounds to it (SCORE_ROUNDING), float error included. */
const TIE_MARGIN = 0.8 * SCORE_ROUNDING;

/** Lookups of words the lists do not hold kept per index by default (see searchUnknownWord). */
const UNKNOWN_WORDS_KEPT = 4096;

/** The layout of a name's record (see nameInts): the 32-bit word of each field; 0–1 hold its weight. */
const FIRST_ROW = 2;
const TOKEN_COUNT = 3;
const START_KEY = 4;
const KINDS = 5;
const STAMP = 6;
const TOUCH = 7;
const RECORD_WORDS = 8;
const KIND_BITS = 3;
const KIND_MASK = (1 << KIND_BITS) - 1;
const PACKED_KINDS = Math.floor(32 / KIND_BITS);

export function buildNameIndex(entries: readonly NameEntry[], options: NameIndexOptions = {}): NameIndex {
  const shared = buildSharedNameIndex([entries], options);
  return {
    size: shared.size,
    search: (name, searchOptions) => shared.search(name, searchOptions)[0],
  };
}

export function buildSharedNameIndex(
  lists: readonly (readonly NameEntry[])[],
  options: NameIndexOptions = {},
): SharedNameIndex {
  const minThreshold = options.minThreshold ?? DEFAULT_MIN_THRESHOLD;
  const unknownWordsKept = options.unknownWordsKept ?? UNKNOWN_WORDS_KEPT;
  const names = clusteredByCommonTokens(indexedNames(lists));
  const groups = lists.length;
  const nothing = (): NameMatch[][] => lists.map(() => []);
  const words = new Postings();
  const exact = new Postings();
  /** List initials under each of their keys, for the query words those keys start (initialSimilarity). */
  const initialKeys = new Postings();
  let longestInitialKey = 0;
  const joins = new Postings();
  const rowOf = new Map<NameToken, number>();
  const tokens: NameToken[] = [];
  const rowStart = new Int32Array(names.length + 1);
  const rowList: number[] = [];
  /**
   * Per legal form key, the legal family of every list token holding it, or null where they
   * differ. Where all share the query token's family, the family key's postings hold every name
   * the form's own key does, with the same tokens and more, and match value 1 as well: reading
   * the form's own postings after them would change no value, so they are not read.
   */
  const legalKeyFamilies = new Map<string, string | null>();
  names.forEach((name, n) => {
    const wordMasks = new Map<string, number>();
    const exactMasks = new Map<string, number>();
    const initialMasks = new Map<string, number>();
    name.prepared.tokens.forEach((token, position) => {
      const bit = 1 << position;
      if (isWordLike(token))
        for (const key of wordKeysOf(token)) wordMasks.set(key, (wordMasks.get(key) ?? 0) | bit);
      for (const key of exactKeys(token)) exactMasks.set(key, (exactMasks.get(key) ?? 0) | bit);
      if (token.kind === 'initial') {
        for (const key of token.keys) {
          initialMasks.set(key, (initialMasks.get(key) ?? 0) | bit);
          longestInitialKey = Math.max(longestInitialKey, key.length);
        }
      }
      if (token.kind === 'legal-form') {
        const family = token.legalFamily ?? '';
        const known = legalKeyFamilies.get(token.keys[0]);
        legalKeyFamilies.set(token.keys[0], known === undefined || known === family ? family : null);
      }
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
    for (const [key, mask] of initialMasks) initialKeys.add(key, n, mask);
  });
  words.seal();
  exact.seal();
  initialKeys.seal();
  joins.seal();
  const rows = Int32Array.from(rowList);
  const retrievalFloor = Math.min(DEEP_SIMILARITY, anchorSimilarity(minThreshold));
  const wordKeys = new FuzzyKeyIndex(words.keys, retrievalFloor, Math.max(retrievalFloor, DEEP_SIMILARITY));
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
  const listShapes = ShapeTable.of(tokens);
  const kinds = listShapes.kinds(rows);
  /** Beside `rows`: each list word's first letters (ShapeTable.wordFirstLetters), 0 for other kinds. */
  const wordInitials = Int32Array.from(rows, (row) => listShapes.wordFirstLetters(row));
  /** Per name, its words' lengths and whether it has an initial (ShapeTable.wordLengths). */
  const wordLengths = Int32Array.from(names, (_, n) =>
    listShapes.wordLengths(rows, rowStart[n], rowStart[n + 1]),
  );
  /**
   * What the postings loop reads of each name, in one record of RECORD_WORDS 32-bit words so that
   * touching a name costs one memory access: its weight (a float64, at n × RECORD_WORDS / 2 in
   * nameFloats), then in nameInts its first token row, token count, startKey, the kind codes of its
   * first PACKED_KINDS tokens (KIND_BITS apiece), and the stamp of the last search that touched it
   * with its touch order there.
   */
  const nameRecords = new ArrayBuffer(names.length * RECORD_WORDS * 4);
  const nameInts = new Int32Array(nameRecords);
  const nameFloats = new Float64Array(nameRecords);
  names.forEach((name, n) => {
    const from = rowStart[n];
    const to = rowStart[n + 1];
    const at = n * RECORD_WORDS;
    nameFloats[at / 2] = name.prepared.tokens.reduce((total, token) => total + tokenWeight(token), 0);
    nameInts[at + FIRST_ROW] = from;
    nameInts[at + TOKEN_COUNT] = to - from;
    nameInts[at + START_KEY] = CandidateBound.startKey(kinds, from, to);
    let packed = 0;
    for (let j = 0; j < Math.min(to - from, PACKED_KINDS); j++) packed |= kinds[from + j] << (KIND_BITS * j);
    nameInts[at + KINDS] = packed;
  });
  const bound = new CandidateBound(listShapes, keyStart, Int32Array.from(keyIds));

  // Per-search scratch, reused: a search runs synchronously, one at a time.
  let stamp = 0;
  /** Per touched name, by touch order (t): the name, and the tokens matched through joins. */
  const touched = new Int32Array(names.length);
  /** Bit n set while name n is touched: cheaper to test than its record. */
  const touchedBits = new Int32Array((names.length >>> 5) + 1);
  const joinedQueryMasks = new Int32Array(names.length);
  const joinedCandidateMasks = new Int32Array(names.length);
  /** By touch order: the name's margin, for those that pass the quick test. */
  const margins = new Float64Array(names.length);
  /**
   * The best match value each touched name's retrieved pairs give each query token, at
   * t × query size, and each of its own tokens, from candidateAt[t]; 0 where none was retrieved.
   */
  let queryValues = new Float64Array(1024 * 8);
  let candidateValues = new Float64Array(1024 * 8);
  const candidateAt = new Int32Array(names.length + 1);
  /** Per touched name, by touch order: an upper bound of its quickMargin (CandidateBound.startMargin). */
  const quickBounds = new Float64Array(names.length);
  /** Per kind code, what a probe's value adds to quickBounds as a list token's first retrieved value. */
  const firstGains = new Float64Array(KIND_COUNT);
  /** What the lookups found (see WordLookups); foundKeys lists the keys whose foundRowOf is set. */
  const foundRowOf = new Int32Array(words.keys.length);
  const foundKeys: number[] = [];
  let foundSimilarities = new Float64Array(256 * MAX_TOKENS);
  /** byVolume's order of the query tokens. */
  const tokenOrder = new Int32Array(MAX_TOKENS);

  function search(name: string | PreparedName, searchOptions: NameSearchOptions): NameMatch[][] {
    const threshold = searchOptions.threshold;
    const query = typeof name === 'string' ? prepareName(name) : name;
    if (threshold < minThreshold) return scanAll(names, query, searchOptions, groups);
    if (query.tokens.length === 0) return nothing();
    const shapes = ShapeTable.of(query.tokens);
    // With nothing significant to match, every score is scaled down below any useful threshold.
    if (!query.tokens.some(isSignificant) && SCORING.insignificantFactor < threshold) return nothing();
    // Scores are rounded: a raw score just below the threshold still counts.
    const target = threshold - SCORE_ROUNDING;
    const anchor = anchorSimilarity(target);
    const plan = planRetrieval(query, shapes, anchor, target);
    // Cannot happen above the minimum threshold (see anchorSimilarity); kept as a safety net.
    if (!plan) return scanAll(names, query, searchOptions, groups);
    const { probes, caps, wordCaps, skipped, deferred, lateUpTo, initials, lookups } = plan;
    // Under the entity schema an initial and a word never match (name-score.ts initialSimilarity).
    const initialPairs =
      searchOptions.type === undefined || schemaOf(searchOptions.type) !== 'entity' ? initials : 0;

    stamp = (stamp + 1) & 0x7fffffff;
    if (stamp === 0) {
      for (let at = STAMP; at < nameInts.length; at += RECORD_WORDS) nameInts[at] = 0;
      stamp = 1;
    }
    bound.begin(shapes, caps, wordCaps, skipped, target, lookups);
    const querySize = query.tokens.length;
    const touchedCount = readPostings(probes, skipped, deferred, lateUpTo, querySize);

    const survivors: number[] = [];
    for (let t = 0; t < touchedCount; t++) {
      const n = touched[t];
      if (initialPairs !== 0) pairInitials(t, n, initialPairs, shapes, querySize);
      if (quickBounds[t] < 0) continue;
      if (searchOptions.type !== undefined && !typeAllowed(names[n].entry, searchOptions.type)) continue;
      const from = rowStart[n];
      const to = rowStart[n + 1];
      const quick = bound.quickMargin(
        kinds,
        from,
        to,
        queryValues,
        t * querySize,
        candidateValues,
        candidateAt[t],
        wordLengths[n],
      );
      if (quick < 0) continue;
      bound.load(rows, from, to, joinedQueryMasks[t], joinedCandidateMasks[t]);
      margins[t] = bound.margin(target);
      if (margins[t] >= 0 && bound.refine()) margins[t] = bound.margin(target);
      if (margins[t] >= 0) survivors.push(t);
    }
    // Likeliest first, so that once `limit` matches are held the rest can be cut off; equal
    // margins (names alike but for their entry) in the results' order of entry ids, so that ties
    // at the limit come winners first and the rest need no alignment (tieMightWin).
    survivors.sort(
      (a, b) =>
        margins[b] - margins[a] || compareEntryIds(names[touched[a]].entry.id, names[touched[b]].entry.id),
    );
    const collector = new MatchCollector(query, searchOptions, groups);
    for (const t of survivors) {
      const n = touched[t];
      const held = collector.floor(names[n].group);
      const floor = held - SCORE_ROUNDING;
      if (floor > target) {
        bound.load(rows, rowStart[n], rowStart[n + 1], joinedQueryMasks[t], joinedCandidateMasks[t]);
        if (bound.margin(floor) < 0) continue;
        // A name that can at best tie with the lowest score kept is aligned only if it might win the tie.
        if (bound.margin(held + TIE_MARGIN) < 0 && !collector.tieMightWin(names[n])) continue;
      }
      collector.offer(names[n]);
    }
    return collector.results();
  }

  /**
   * Reads the probes' postings (those of the deferred tokens, and those up to each token's
   * lateUpTo value, last, for the names the others touched), filling the touched names' retrieved
   * values and quick bounds; answers how many names it touched.
   */
  function readPostings(
    probes: Probe[],
    skipped: number,
    deferred: number,
    lateUpTo: Float64Array,
    querySize: number,
  ): number {
    let touchedCount = 0;
    const passes = deferred === 0 && lateUpTo.every((value) => value === 0) ? 1 : 2;
    for (let pass = 0; pass < passes; pass++) {
      const deferring = pass === 1;
      for (let p = 0; p < probes.length; p++) {
        const probe = probes[p];
        const own = probe.token;
        const { postings, key, queryMask, value } = probe;
        // Joins are read first; a token's probes last when it is deferred or up to its lateUpTo.
        const late = own >= 0 && ((deferred & (1 << own)) !== 0 || value <= lateUpTo[own]);
        if ((own >= 0 && skipped & (1 << own)) || late !== deferring) continue;
        const joined = own < 0;
        // The gains of a first retrieved value, which most are: computed once per probe.
        const ownGain = joined ? 0 : bound.queryGain(own, 0, value);
        for (let kind = 0; kind < KIND_COUNT; kind++) firstGains[kind] = bound.candidateGain(kind, 0, value);
        const end = postings.start(key) + postings.length(key);
        for (let at = postings.start(key); at < end; at++) {
          const n = postings.nameAt(at);
          if (deferring && !(touchedBits[n >>> 5] & (1 << (n & 31)))) continue;
          const record = n * RECORD_WORDS;
          let t = nameInts[record + TOUCH];
          if (nameInts[record + STAMP] !== stamp) {
            t = touchedCount++;
            nameInts[record + STAMP] = stamp;
            nameInts[record + TOUCH] = t;
            const count = nameInts[record + TOKEN_COUNT];
            const from = candidateAt[t];
            candidateAt[t + 1] = from + count;
            if (from + count > candidateValues.length || touchedCount * querySize > queryValues.length)
              growValues(from + count, touchedCount * querySize);
            for (let i = t * querySize; i < touchedCount * querySize; i++) queryValues[i] = 0;
            for (let j = from; j < from + count; j++) candidateValues[j] = 0;
            joinedQueryMasks[t] = 0;
            joinedCandidateMasks[t] = 0;
            quickBounds[t] = bound.startMargin(nameInts[record + START_KEY], nameFloats[record / 2]);
            touched[t] = n;
            touchedBits[n >>> 5] |= 1 << (n & 31);
          }
          const candidateMask = postings.maskAt(at);
          if (joined) {
            joinedQueryMasks[t] |= queryMask;
            joinedCandidateMasks[t] |= candidateMask;
          }
          const queryAt = t * querySize;
          for (let bits = queryMask; bits !== 0; bits &= bits - 1) {
            const i = 31 - Math.clz32(bits & -bits);
            const from = queryValues[queryAt + i];
            if (from >= value) continue;
            // Two statements, not one conditional: V8 would box the gains it joins (an allocation
            // per posting).
            if (from === 0 && i === own) quickBounds[t] += ownGain;
            else quickBounds[t] += bound.queryGain(i, from, value);
            queryValues[queryAt + i] = value;
          }
          const valuesAt = candidateAt[t];
          for (let bits = candidateMask; bits !== 0; bits &= bits - 1) {
            const j = 31 - Math.clz32(bits & -bits);
            const from = candidateValues[valuesAt + j];
            if (from >= value) continue;
            const kind =
              j < PACKED_KINDS
                ? (nameInts[record + KINDS] >>> (KIND_BITS * j)) & KIND_MASK
                : kinds[nameInts[record + FIRST_ROW] + j];
            if (from === 0) quickBounds[t] += firstGains[kind];
            else quickBounds[t] += bound.candidateGain(kind, from, value);
            candidateValues[valuesAt + j] = value;
          }
        }
      }
    }
    for (let t = 0; t < touchedCount; t++) touchedBits[touched[t] >>> 5] = 0;
    return touchedCount;
  }

  /**
   * Records the pairs of the query initials in `initials` (bit mask) with the words of touched
   * name t (name n) whose keys start with one of their letters, as a posting would at the
   * initial similarity's match value. Their caps are 0 (planRetrieval): every pair an initial can
   * have with a list word that might match it is counted here, for every name the bounds test.
   */
  function pairInitials(t: number, n: number, initials: number, shapes: ShapeTable, querySize: number): void {
    const from = rowStart[n];
    const to = rowStart[n + 1];
    const queryAt = t * querySize;
    const valuesAt = candidateAt[t] - from;
    for (let bits = initials; bits !== 0; bits &= bits - 1) {
      const i = 31 - Math.clz32(bits & -bits);
      const letters = shapes.firstLetters(i);
      for (let j = from; j < to; j++) {
        if (!(wordInitials[j] & letters)) continue;
        const queryValue = queryValues[queryAt + i];
        if (queryValue < INITIAL_MATCH_VALUE) {
          quickBounds[t] += bound.queryGain(i, queryValue, INITIAL_MATCH_VALUE);
          queryValues[queryAt + i] = INITIAL_MATCH_VALUE;
        }
        const candidateValue = candidateValues[valuesAt + j];
        if (candidateValue < INITIAL_MATCH_VALUE) {
          quickBounds[t] += bound.candidateGain(kinds[j], candidateValue, INITIAL_MATCH_VALUE);
          candidateValues[valuesAt + j] = INITIAL_MATCH_VALUE;
        }
      }
    }
  }

  /**
   * The keys of list initials that start a key of this query word: the initials it pairs with
   * (name-score.ts initialSimilarity), whose postings planRetrieval may read. Few names have any.
   */
  function initialKeyIds(token: NameToken): number[] {
    const ids = new Set<number>();
    for (const key of token.keys) {
      for (let length = 1; length <= Math.min(longestInitialKey, key.length); length++) {
        const id = initialKeys.id(key.slice(0, length));
        if (id !== undefined) ids.add(id);
      }
    }
    return [...ids];
  }

  /** Makes room for this many candidate and query values. */
  function growValues(candidates: number, queries: number): void {
    if (candidates > candidateValues.length)
      candidateValues = grown(candidateValues, Math.max(candidates, 2 * candidateValues.length));
    if (queries > queryValues.length)
      queryValues = grown(queryValues, Math.max(queries, 2 * queryValues.length));
  }

  /**
   * How each query token is retrieved: the keys it anchors (its probes), how many postings they
   * reach, and the cap on what its unretrieved pairs can reach. Words are looked up down to
   * DEEP_SIMILARITY, long ones (whose lookup that deep costs more) only when that pays.
   */
  function planRetrieval(
    query: PreparedName,
    shapes: ShapeTable,
    anchor: number,
    target: number,
  ): {
    probes: Probe[];
    caps: Float64Array;
    wordCaps: Float64Array;
    skipped: number;
    deferred: number;
    lateUpTo: Float64Array;
    /** The query initials, whose pairs with list words pairInitials records. */
    initials: number;
    lookups: WordLookups;
  } | null {
    const own: Probe[][] = [];
    const found: Map<number, number>[] = [];
    const volume = new Float64Array(shapes.size);
    const caps = new Float64Array(shapes.size);
    /** Per query word, what its unretrieved pairs with a list word reach. */
    const unfoundCaps = new Float64Array(shapes.size);
    const deepenable: number[] = [];
    /** Words whose deep lookup costs more than DEEP_SCAN_KEYS keys checked, with that cost. */
    const costly: { position: number; cost: number }[] = [];
    /** Per query word, the id of each of its keys that is a list word key: looked up once, used up to thrice. */
    const keyIds: (number | undefined)[][] = [];
    /** Word keys at least this similar to query word `position`, with their similarity. */
    const lookUp = (position: number, similarity: number) => {
      const found = new Map<number, number>();
      const visit = (id: number, value: number) => found.set(id, Math.max(value, found.get(id) ?? 0));
      wordKeysOf(query.tokens[position]).forEach((key, k) => {
        const id = keyIds[position][k];
        if (id === undefined) searchUnknownWord(key, similarity, visit);
        else wordKeys.searchKey(id, similarity, visit);
      });
      return found;
    };
    /** Retrieves query word `position` through the keys its lookup at `level` found. */
    const retrieve = (position: number, keys: Map<number, number>, level: number) => {
      found[position] = keys;
      own[position] = [];
      volume[position] = 0;
      keys.forEach((similarity, key) => {
        own[position].push({
          postings: words,
          key,
          queryMask: 1 << position,
          token: position,
          value: matchValue(similarity),
        });
        volume[position] += words.length(key);
      });
      caps[position] = unretrievedMatchValue(shapes, position, level);
      unfoundCaps[position] = unfoundWordValue(shapes, position, level);
    };
    query.tokens.forEach((token, position) => {
      if (isWordLike(token)) {
        keyIds[position] = wordKeysOf(token).map((key) => words.id(key));
        const deletions = deletionsNeeded(shapes.maxLength(position), retrievalFloor);
        if (deletions <= CHEAP_DELETIONS || keyIds[position].every((id) => id !== undefined)) {
          retrieve(position, lookUp(position, retrievalFloor), retrievalFloor);
        } else {
          retrieve(position, lookUp(position, anchor), anchor);
          const deepCost = wordKeys.lookupCost(shapes.maxLength(position), retrievalFloor);
          if (volume[position] < RARE_WORD_POSTINGS) {
            if (deletions <= MAX_DEPTH || deepCost <= DEEP_SCAN_KEYS) deepenable.push(position);
            else costly.push({ position, cost: deepCost });
          }
        }
      } else {
        own[position] = [];
        caps[position] = unretrievedMatchValue(shapes, position, anchor);
      }
      const familyCovers =
        token.kind === 'legal-form' && legalKeyFamilies.get(token.keys[0]) === (token.legalFamily ?? '');
      exactKeys(token).forEach((key, k) => {
        const id = exact.id(key);
        if (id === undefined) return;
        // The form's own key comes first, its family's after it (exactKeys). Its volume still
        // counts, so that which tokens are skipped or deferred stays as before.
        if (!(familyCovers && k === 0))
          own[position].push({
            postings: exact,
            key: id,
            queryMask: 1 << position,
            token: position,
            value: 1,
          });
        volume[position] += exact.length(id);
      });
    });
    // Names the lookups reach through no token at all must be out of reach.
    if (unreachedMightMatch(shapes, 0, caps, unfoundCaps, target)) return null;
    let { skipped, deferred } = skippedTokens(volume, caps, unfoundCaps, shapes, target);
    if (deepenable.length > 0 && unskippedVolume(volume, skipped | deferred) > DEEPEN_ABOVE_POSTINGS) {
      for (const position of deepenable) retrieve(position, lookUp(position, retrievalFloor), retrievalFloor);
      ({ skipped, deferred } = skippedTokens(volume, caps, unfoundCaps, shapes, target));
    }
    for (const { position, cost } of costly) {
      // Worth it where the caps of a deeper lookup that found nothing more would spare reading
      // postings that cost more than the lookup (it may find more, which its volume then counts).
      const reading = unskippedVolume(volume, skipped | deferred);
      if (reading * POSTING_COST_IN_KEYS < cost) continue;
      const deepCaps = caps.slice();
      const deepUnfound = unfoundCaps.slice();
      deepCaps[position] = unretrievedMatchValue(shapes, position, retrievalFloor);
      deepUnfound[position] = unfoundWordValue(shapes, position, retrievalFloor);
      const deep = skippedTokens(volume, deepCaps, deepUnfound, shapes, target);
      if ((reading - unskippedVolume(volume, deep.skipped | deep.deferred)) * POSTING_COST_IN_KEYS < cost)
        continue;
      retrieve(position, lookUp(position, retrievalFloor), retrievalFloor);
      ({ skipped, deferred } = skippedTokens(volume, caps, unfoundCaps, shapes, target));
    }
    // A query word's pairs with list initials can be retrieved too, through the postings of the
    // initials that start its keys: that costs those postings, and caps its unretrieved pairs at
    // its word pairs' level, which can let more tokens be deferred (Mohammad beside two other
    // common words). Done where it leaves no more postings to read for every name.
    const initialProbes: Probe[] = [];
    const withInitials = volume.slice();
    query.tokens.forEach((token, position) => {
      if (!isWordLike(token)) return;
      for (const key of initialKeyIds(token)) {
        initialProbes.push({
          postings: initialKeys,
          key,
          queryMask: 1 << position,
          token: position,
          value: INITIAL_MATCH_VALUE,
        });
        withInitials[position] += initialKeys.length(key);
      }
    });
    const wordLevelCaps = caps.map((cap, i) => (isWordLike(query.tokens[i]) ? unfoundCaps[i] : cap));
    const tight = skippedTokens(withInitials, wordLevelCaps, unfoundCaps, shapes, target);
    if (
      unskippedVolume(withInitials, tight.skipped | tight.deferred) <=
      unskippedVolume(volume, skipped | deferred)
    ) {
      caps.set(wordLevelCaps);
      ({ skipped, deferred } = tight);
      for (const probe of initialProbes) own[probe.token].push(probe);
    }
    const lateUpTo = lateProbeValues(own, volume, skipped | deferred, caps, unfoundCaps, shapes, target);
    // Initials are read last, for the names other tokens reached, rather than not at all: a name
    // reached through skipped and deferred tokens alone cannot reach the target either way.
    // Their pairs with list initials are then retrieved exactly (their exact keys) and with list
    // words by pairInitials, for every name the bounds test: nothing unretrieved is left to cap.
    // Names no other token reaches are out of reach with the initials' caps as they were, which
    // the tests above used.
    let initials = 0;
    query.tokens.forEach((token, position) => {
      if (token.kind === 'initial') initials |= 1 << position;
    });
    deferred |= skipped & initials;
    skipped &= ~initials;
    for (let i = 0; i < shapes.size; i++) {
      if (skipped & (1 << i)) caps[i] = 1;
      else if (initials & (1 << i)) caps[i] = 0;
    }
    // What unretrieved pairs with a list word can reach: less than what pairs with initials can.
    const wordCaps = new Float64Array(shapes.size);
    query.tokens.forEach((token, position) => {
      if (skipped & (1 << position)) wordCaps[position] = 1;
      else if (isWordLike(token)) wordCaps[position] = unfoundCaps[position];
    });
    const probes = own.flat();
    query.tokens.forEach((token, position) => {
      if (!isWordLike(token)) return;
      for (const key of token.keys) {
        const id = joins.id(key);
        if (id !== undefined)
          probes.push({ postings: joins, key: id, queryMask: 1 << position, token: -1, value: 1 });
      }
    });
    for (const join of query.joins) {
      // Words are indexed under loose keys; a join equal to a word's key equals its loose key.
      const id = words.id(looseKey(join.key));
      if (id !== undefined)
        probes.push({ postings: words, key: id, queryMask: joinMask(join), token: -1, value: 1 });
    }
    return {
      probes,
      caps,
      wordCaps,
      skipped,
      deferred,
      lateUpTo,
      initials,
      lookups: wordLookups(shapes, found, unfoundCaps),
    };
  }

  /**
   * Per query token, the match value up to which its probes are read late, as a deferred token's
   * are (readPostings), 0 for none: a word's loosest neighbours (MOHAMED's at similarity 0.7)
   * often hold more postings than its close ones, while a name that they alone reach, with the
   * skipped and deferred tokens (`reached`), pairs the word at their value at best, often too
   * little for the target. Tried from the lowest value up, the tokens with the most postings
   * first, each value kept while names reached that way alone still cannot reach the target.
   */
  function lateProbeValues(
    own: Probe[][],
    volume: Float64Array,
    reached: number,
    caps: Float64Array,
    unfoundCaps: Float64Array,
    shapes: ShapeTable,
    target: number,
  ): Float64Array {
    const lateUpTo = new Float64Array(shapes.size);
    const lateCaps = caps.slice();
    const lateUnfound = unfoundCaps.slice();
    const order = byVolume(volume);
    for (let k = 0; k < volume.length; k++) {
      const i = order[k];
      if (reached & (1 << i)) continue;
      for (;;) {
        // The next lowest value of its probes.
        let value = 1;
        for (const probe of own[i]) if (probe.value > lateUpTo[i] && probe.value < value) value = probe.value;
        if (value >= 1) break;
        const cap = lateCaps[i];
        const unfound = lateUnfound[i];
        lateCaps[i] = Math.max(cap, value);
        lateUnfound[i] = Math.max(unfound, value);
        if (unreachedMightMatch(shapes, reached, lateCaps, lateUnfound, target)) {
          lateCaps[i] = cap;
          lateUnfound[i] = unfound;
          break;
        }
        lateUpTo[i] = value;
      }
    }
    return lateUpTo;
  }

  /**
   * What FuzzyKeyIndex.search found for a word no list name holds, by similarity and key: such a
   * lookup runs deletion variants and edit distances, the costliest step of planning, while the
   * index never changes and party names, and their words still more, recur from one screening to
   * the next. The least recently used go first beyond `unknownWordsKept`.
   */
  const unknownWords = new Map<string, { ids: Int32Array; similarities: Float64Array }>();

  function searchUnknownWord(
    key: string,
    similarity: number,
    visit: (id: number, value: number) => void,
  ): void {
    if (unknownWordsKept === 0) {
      wordKeys.search(key, similarity, visit);
      return;
    }
    const cacheKey = `${similarity} ${key}`;
    let known = unknownWords.get(cacheKey);
    if (known === undefined) {
      const ids: number[] = [];
      const similarities: number[] = [];
      wordKeys.search(key, similarity, (id, value) => {
        ids.push(id);
        similarities.push(value);
      });
      known = { ids: Int32Array.from(ids), similarities: Float64Array.from(similarities) };
      if (unknownWords.size >= unknownWordsKept) {
        const oldest = unknownWords.keys().next();
        if (oldest.done !== true) unknownWords.delete(oldest.value);
      }
    } else {
      unknownWords.delete(cacheKey);
    }
    unknownWords.set(cacheKey, known);
    for (let i = 0; i < known.ids.length; i++) visit(known.ids[i], known.similarities[i]);
  }

  /**
   * The lookups' findings as WordLookups, in scratch arrays that the previous search's reset;
   * `unfoundValues` per query word, what its unretrieved pairs with a list word reach.
   */
  function wordLookups(
    shapes: ShapeTable,
    found: Map<number, number>[],
    unfoundValues: Float64Array,
  ): WordLookups {
    for (const key of foundKeys) foundRowOf[key] = 0;
    foundKeys.length = 0;
    const size = shapes.size;
    let looked = 0;
    found.forEach((keys, position) => {
      looked |= 1 << position;
      keys.forEach((similarity, key) => {
        if (foundRowOf[key] === 0) {
          foundKeys.push(key);
          foundRowOf[key] = foundKeys.length;
          const end = foundKeys.length * size;
          if (end > foundSimilarities.length) foundSimilarities = grown(foundSimilarities, 2 * end);
          foundSimilarities.fill(0, end - size, end);
        }
        foundSimilarities[(foundRowOf[key] - 1) * size + position] = similarity;
      });
    });
    return { rowOf: foundRowOf, similarities: foundSimilarities, looked, unfoundValues };
  }

  /**
   * Query tokens whose postings need not be read for every name, as bit masks: the most frequent
   * first, while a name reached through such tokens alone still cannot reach the target, so that
   * only names that other tokens reach need their pairs. Light kinds are `skipped`: their
   * postings are not read at all, and the bounds take them as matching any name fully, which
   * costs them little. Words are `deferred`: their postings are read last and only for the names
   * already reached, which get exactly the values they would have had, as taking a word as
   * fully matched would let most names through the quick test.
   */
  function skippedTokens(
    volume: Float64Array,
    caps: Float64Array,
    unfoundCaps: Float64Array,
    shapes: ShapeTable,
    target: number,
  ): { skipped: number; deferred: number } {
    const order = byVolume(volume);
    let skipped = 0;
    let deferred = 0;
    for (let k = 0; k < volume.length; k++) {
      const i = order[k];
      if (volume[i] === 0) break;
      if (unreachedMightMatch(shapes, skipped | deferred | (1 << i), caps, unfoundCaps, target)) continue;
      if (shapes.isWord(i)) deferred |= 1 << i;
      else skipped |= 1 << i;
    }
    return { skipped, deferred };
  }

  /**
   * The query tokens, the most voluminous first, equal volumes in query order: an insertion sort
   * in scratch (tokenOrder, valid until the next call), as sorting an array allocates on each of
   * the few calls per search.
   */
  function byVolume(volume: Float64Array): Int32Array {
    for (let k = 0; k < volume.length; k++) {
      let at = k;
      for (; at > 0 && volume[tokenOrder[at - 1]] < volume[k]; at--) tokenOrder[at] = tokenOrder[at - 1];
      tokenOrder[at] = k;
    }
    return tokenOrder;
  }

  function unskippedVolume(volume: Float64Array, skipped: number): number {
    let total = 0;
    volume.forEach((v, i) => {
      if (!(skipped & (1 << i))) total += v;
    });
    return total;
  }

  return {
    size: names.length,
    lists: groups,
    search,
  };
}
