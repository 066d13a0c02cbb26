/**
 * Cheap upper bounds of the name score (name-score.ts), which let the index discard candidates
 * without aligning them. Every bound here must stay ≥ the true value: a bound that is too low
 * would make the index miss a match that a full scan finds (the index tests compare both).
 *
 * The bounds run for thousands of list names per search, whose tokens are scattered over a
 * table of all list tokens: each token's data is packed into one 16-byte row so that reading it
 * costs one memory access.
 */
import { MAX_TOKENS, type NameToken } from './name-normalise';
import { SCORING, boundingKeys, isSignificant, matchValue, tokenSimilarity, tokenWeight } from './name-score';
import { bitCount, keySet, letterMask } from './name-similarity';

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
const countBits = bitCount;
/** The match value of an initial paired with a word it abbreviates. */
export const INITIAL_MATCH_VALUE = matchValue(initialSimilarity);
const maxTokens = MAX_TOKENS;
const matchValueOf = matchValue;

/** Kind codes; word and generic word compare alike and differ only in weight. */
const WORD = 0;
const GENERIC = 1;
const NUMBER = 2;
const LEGAL = 3;
const PARTICLE = 4;
const INITIAL = 5;
/** Kind codes run from 0 to KIND_COUNT − 1. */
export const KIND_COUNT = 6;

const KIND_CODES: Readonly<Record<NameToken['kind'], number>> = {
  word: WORD,
  generic: GENERIC,
  number: NUMBER,
  'legal-form': LEGAL,
  particle: PARTICLE,
  initial: INITIAL,
};

/** Weight by kind code: a kind's weight is the same for every token of that kind. */
const KIND_WEIGHTS = Float64Array.from(
  (Object.keys(KIND_CODES) as NameToken['kind'][]).sort((a, b) => KIND_CODES[a] - KIND_CODES[b]),
  (kind) => SCORING.weights[kind],
);

function isWordCode(kind: number): boolean {
  return kind <= GENERIC;
}

/**
 * Classes of list tokens by kind code, for what unretrieved pairs can reach: words and generic
 * words alike, each other kind apart. Words and initials pair with each other (isWordClass); the
 * other kinds only within their kind.
 */
const WORD_CLASS = 0;
const INITIAL_CLASS = 4;
const CLASSES = 5;
/** startMargin's keys: a token count up to MAX_TOKENS, then a bit mask of classes. */
const START_KEYS = (MAX_TOKENS + 1) << CLASSES;
const PAIRING_CLASS: readonly number[] = [WORD_CLASS, WORD_CLASS, 1, 2, 3, INITIAL_CLASS];
/** The heaviest weight of each class. */
const CLASS_WEIGHTS = new Float64Array(CLASSES);
PAIRING_CLASS.forEach((c, kind) => (CLASS_WEIGHTS[c] = Math.max(CLASS_WEIGHTS[c], KIND_WEIGHTS[kind])));

const STRIDE = 5;
/** Fields per list token row in CandidateBound.slotOf. */
const SLOT_FIELDS = 3;

/** ShapeTable.wordLengths's bit for a name with an initial. */
const HAS_INITIAL = 1 << 16;

/**
 * The highest match value query word i can have with a list word whose keys are `shortest` to
 * `longest` letters long: each unit of length difference costs an edit (as in similarityBound).
 */
function lengthValue(query: ShapeTable, i: number, shortest: number, longest: number): number {
  const edits = Math.max(query.minLength(i) - longest, shortest - query.maxLength(i), 0);
  if (edits === 0) return 1;
  return matchValueOf(1 - edits / Math.max(query.maxLength(i), longest));
}

/**
 * Token rows: [letters in every key, letters in some key, minLength | maxLength << 8 | kind << 16
 * | significant << 24, weight × 1000, first letters]; letters and lengths as in name-similarity.ts
 * keySet, first letters the letter masks of its keys' first letters (see firstLetters). The
 * canonical key and legal family of exact-only kinds sit beside, read only for those kinds.
 */
export class ShapeTable {
  size = 0;
  readonly rows: Int32Array;
  readonly exact: string[] = [];
  readonly family: string[] = [];
  /** The tokens, by row: CandidateBound compares some word pairs in full. */
  readonly tokens: NameToken[] = [];

  constructor(capacity: number) {
    this.rows = new Int32Array(capacity * STRIDE);
  }

  static of(tokens: readonly NameToken[]): ShapeTable {
    const table = new ShapeTable(tokens.length);
    for (const token of tokens) table.add(token);
    return table;
  }

  add(token: NameToken): number {
    const row = this.size++;
    const keys = keySet(boundingKeys(token));
    const at = row * STRIDE;
    this.rows[at] = keys.allLetters;
    this.rows[at + 1] = keys.anyLetters;
    this.rows[at + 2] =
      Math.min(255, keys.minLength) |
      (Math.min(255, keys.maxLength) << 8) |
      (KIND_CODES[token.kind] << 16) |
      ((isSignificant(token) ? 1 : 0) << 24);
    this.rows[at + 3] = Math.round(tokenWeight(token) * 1000);
    this.rows[at + 4] = firstLetters(token.keys);
    this.exact[row] = token.keys[0];
    this.family[row] = token.legalFamily ?? '';
    this.tokens[row] = token;
    return row;
  }

  kind(row: number): number {
    return (this.rows[row * STRIDE + 2] >>> 16) & 0xff;
  }

  /** Kind codes of rows: what quickMargin reads of a name's tokens, stored beside their rows. */
  kinds(rows: Int32Array): Uint8Array {
    return Uint8Array.from(rows, (row) => this.kind(row));
  }

  weight(row: number): number {
    return this.rows[row * STRIDE + 3] / 1000;
  }

  /** Words and generic words: the kinds matched by similarity rather than exactly. */
  isWord(row: number): boolean {
    return isWordCode(this.kind(row));
  }

  significant(row: number): boolean {
    return this.rows[row * STRIDE + 2] >>> 24 === 1;
  }

  minLength(row: number): number {
    return this.rows[row * STRIDE + 2] & 0xff;
  }

  maxLength(row: number): number {
    return (this.rows[row * STRIDE + 2] >>> 8) & 0xff;
  }

  /**
   * For a word or generic word, the letter masks of its keys' first letters (firstLetters): an
   * initial matches it only where these share a bit with the initial's own. 0 for other kinds.
   */
  wordFirstLetters(row: number): number {
    return this.isWord(row) ? this.rows[row * STRIDE + 4] : 0;
  }

  /**
   * What quickMargin's length test needs of a name whose token rows are rows[from, to): the
   * shortest and longest key of its words and generic words (bits 0–7 and 8–15; 0 and 0 for none)
   * and whether it has an initial (HAS_INITIAL).
   */
  wordLengths(rows: Int32Array, from: number, to: number): number {
    let shortest = 255;
    let longest = 0;
    let initial = 0;
    for (let j = from; j < to; j++) {
      const row = rows[j];
      if (this.isWord(row)) {
        shortest = Math.min(shortest, this.minLength(row));
        longest = Math.max(longest, this.maxLength(row));
      } else if (this.kind(row) === INITIAL) {
        initial = HAS_INITIAL;
      }
    }
    return (longest === 0 ? 0 : shortest | (longest << 8)) | initial;
  }

  /** The letter masks of the first letters of row's keys (firstLetters). */
  firstLetters(row: number): number {
    return this.rows[row * STRIDE + 4];
  }
}

/**
 * The letter masks (name-similarity.ts letterMask) of the first letters of `keys`, all bits for an
 * empty key, which every key starts with: where a key of one token starts with a key of another,
 * their masks share a bit, as equal letters have equal masks.
 */
function firstLetters(keys: readonly string[]): number {
  let mask = 0;
  for (const key of keys) mask |= key.length === 0 ? -1 : letterMask(key.charAt(0));
  return mask;
}

/**
 * At least tokenSimilarity of row i of `a` and row j of `b`, under any schema. For words: an edit
 * changes at most one letter on each side, so every letter one side always has and the other
 * never has costs an edit, and so does each unit of length difference.
 */
export function similarityBound(a: ShapeTable, i: number, b: ShapeTable, j: number): number {
  const ra = a.rows;
  const rb = b.rows;
  const ai = i * STRIDE;
  const bj = j * STRIDE;
  const packedA = ra[ai + 2];
  const packedB = rb[bj + 2];
  const kindA = (packedA >>> 16) & 0xff;
  const kindB = (packedB >>> 16) & 0xff;
  if (kindA <= GENERIC && kindB <= GENERIC) {
    const minA = packedA & 0xff;
    const maxA = (packedA >>> 8) & 0xff;
    const minB = packedB & 0xff;
    const maxB = (packedB >>> 8) & 0xff;
    const edits = Math.max(
      countBits(ra[ai] & ~rb[bj + 1]),
      countBits(rb[bj] & ~ra[ai + 1]),
      minA - maxB,
      minB - maxA,
    );
    return 1 - edits / (maxA > maxB ? maxA : maxB);
  }
  if (kindA === INITIAL || kindB === INITIAL) {
    if (kindA === INITIAL && kindB === INITIAL) return a.exact[i] === b.exact[j] ? 1 : 0;
    if (!isWordCode(kindA) && !isWordCode(kindB)) return 0;
    // An initial matches a word only where one of the word's keys starts with one of its own.
    return ra[ai + 4] & rb[bj + 4] ? initialSimilarity : 0;
  }
  if (kindA !== kindB) return 0;
  if (a.exact[i] === b.exact[j]) return 1;
  if (kindA !== LEGAL) return 0;
  if (a.family[i] === b.family[j]) return legalFamilySimilarity;
  return a.family[i] === 'company' || b.family[j] === 'company' ? legalCompanySimilarity : 0;
}

/**
 * The highest match value a query word can get from a pair with a list word whose keys its lookup
 * at `level` did not find: every such pair is less similar than `level`.
 */
export function unfoundWordValue(table: ShapeTable, i: number, level: number): number {
  let best = 0;
  for (let length = table.minLength(i); length <= table.maxLength(i); length++)
    best = Math.max(best, matchValueOf(similarityBelow(length, level)));
  return best;
}

/**
 * The highest similarity a word of this length can have with any word while staying below the
 * given similarity: similarities are 1 − cost/longer length with whole costs, so this is often
 * well below it (a 3-letter word below 0.8: 0.75 at most, one edit against four letters).
 */
function similarityBelow(length: number, limit: number): number {
  let best = 0;
  for (let other = 1; other <= 2 * length + 2; other++) {
    const longer = Math.max(length, other);
    for (let cost = Math.max(1, Math.abs(length - other)); cost <= longer; cost++) {
      const similarity = 1 - cost / longer;
      if (similarity < limit) {
        best = Math.max(best, similarity);
        break;
      }
    }
  }
  return best;
}

/**
 * The highest match value row i can get from a pair the index did not retrieve: a word pair
 * below the retrieval similarity, an initial, a COMPANY pair; 0 for kinds matched only exactly.
 */
export function unretrievedMatchValue(table: ShapeTable, i: number, retrieval: number): number {
  switch (table.kind(i)) {
    case NUMBER:
    case PARTICLE:
      return 0;
    case INITIAL:
      return INITIAL_MATCH_VALUE;
    case LEGAL:
      return matchValueOf(legalCompanySimilarity);
    default:
      return Math.max(unfoundWordValue(table, i, retrieval), INITIAL_MATCH_VALUE);
  }
}

/**
 * Whether some outcome lets a set of tokens reach score T is decided token by token: score ≥ T
 * ⟺ (1 − T)·matched − T·cost ≥ 0, a sum over tokens (plus the conflict cost, bounded from below
 * by tokens that are surely free). Each token contributes its best option: fully matched when
 * anchored; else paired at its match value bound m (cost (extra + pair)·(1 − m) per unit) or free
 * (extra cost). `margin` is that best contribution per unit of weight.
 */
function margin(target: number, m: number): number {
  if (m >= 1) return 1 - target;
  const free = -target * extraCost;
  if (m <= 0) return free;
  const paired = pairedTerm(target, m);
  return paired > free ? paired : free;
}

/** margin's contribution per unit of weight of a token paired at match value m. */
function pairedTerm(target: number, m: number): number {
  return (1 - target) * m - target * (extraCost + pairCost) * (1 - m);
}

/**
 * What the query's word lookups found: the list word keys (name-postings.ts) some lookup reached,
 * each with a row of similarities, one per query token (0 where that token's lookup did not reach
 * it), and for the keys a word's lookup did not reach, the match value bound below the lookup's
 * level. Lookups compare loose keys, which are at least as similar as anything the scorer
 * compares (name-score.ts tokenSimilarity), so a found similarity bounds the pair from above. The
 * rows are indexed through one array by key id, so that a list token's findings for all query
 * words cost one scattered read.
 */
export interface WordLookups {
  /** Per word key id: 0 where no lookup reached the key, else 1 + its row in `similarities`. */
  rowOf: Int32Array;
  similarities: Float64Array;
  /** The query words looked up, as a bit mask. */
  looked: number;
  unfoundValues: Float64Array;
}

/**
 * Upper bounds of one query's score against list names: each word pair's match value from the
 * similarity its lookup found (or what a pair below the lookup's level can reach, within the
 * letters' bound), other pairs from their shapes. Tokens matched through a joined/split pair are
 * taken as fully matched.
 */
export class CandidateBound {
  private readonly queryBest = new Float64Array(MAX_TOKENS);
  private readonly candidateBest = new Float64Array(MAX_TOKENS);
  private query: ShapeTable = new ShapeTable(0);
  /**
   * For quickMargin: the target; per query token its weight and cap; per class of list token
   * (PAIRING_CLASS) the highest cap of the query tokens not skipped, and the pairing gains over
   * staying unpaired of those caps, highest first.
   */
  private target = 0;
  private readonly queryWeights = new Float64Array(MAX_TOKENS);
  private caps: Float64Array = new Float64Array(0);
  private readonly queryMargins = new Float64Array(MAX_TOKENS);
  private readonly classCaps = new Float64Array(CLASSES);
  /** Gains and list token weights of class c at [c × MAX_TOKENS, (c + 1) × MAX_TOKENS). */
  private readonly classGains = new Float64Array(CLASSES * MAX_TOKENS);
  private readonly classGainCounts = new Int32Array(CLASSES);
  private readonly classWeights = new Float64Array(CLASSES * MAX_TOKENS);
  private readonly classWeightCounts = new Int32Array(CLASSES);
  private readonly classHeaviest = new Float64Array(CLASSES);
  /** Each skipped query token: its class and the weight of the heaviest list token it can pair with. */
  /**
   * For startMargin: quickMargin's query side before any pair is retrieved; per class, the sums
   * of its k highest gains at [c × (MAX_TOKENS + 1) + k]; per skipped query token, the classes
   * of list tokens it can pair with (bit mask) and what fully matching one adds at most.
   */
  private baseMargin = 0;
  /** startMargin's value per key before the list weight's share, where startStamps holds stamp. */
  private readonly startMargins = new Float64Array(START_KEYS);
  private readonly startStamps = new Uint32Array(START_KEYS);
  private readonly gainSums = new Float64Array(CLASSES * (MAX_TOKENS + 1));
  private readonly skippedPartnerClasses = new Int32Array(MAX_TOKENS);
  private readonly skippedGains = new Float64Array(MAX_TOKENS);
  private skippedCount = 0;
  private readonly skippedClasses = new Int32Array(MAX_TOKENS);
  /**
   * For quickMargin's length test: the query words not skipped (bit mask), their caps with a list
   * word, and per name the pairing gains those caps leave with its words, highest first.
   */
  private lengthBounded = 0;
  private wordCaps: Float64Array = new Float64Array(0);
  private readonly nameWordGains = new Float64Array(MAX_TOKENS);
  private readonly skippedPartners = new Float64Array(MAX_TOKENS);
  /** The loaded name: its token count, and its tokens matched through joins as masks. */
  private count = 0;
  private queryMask = 0;
  private candidateMask = 0;
  private readonly gains = new Float64Array(MAX_TOKENS);
  /** Each token of the loaded name: its slot, and where its pair values are in pairValues. */
  private readonly slotsOf = new Int32Array(MAX_TOKENS);
  private readonly pairsAt = new Int32Array(MAX_TOKENS);
  /** Per query token, for margin: its best pairing gain, and the best gain any list token has with it. */
  private readonly queryTokenGains = new Float64Array(MAX_TOKENS);
  private readonly partnerTokenGains = new Float64Array(MAX_TOKENS);
  /** Bit mask of the significant query tokens. */
  private significantTokens = 0;
  private lookups: WordLookups = {
    rowOf: new Int32Array(0),
    similarities: new Float64Array(0),
    looked: 0,
    unfoundValues: new Float64Array(0),
  };
  /** The found similarities of the list token that slotOfRow works on, per query token. */
  private readonly found = new Float64Array(MAX_TOKENS);
  /**
   * Per list token row r, at SLOT_FIELDS × r: the stamp of the last search that gave it a slot,
   * that slot, and the query words whose pairs with it refine() has yet to work out; side by side,
   * as rows are reached in no particular order.
   */
  private readonly slotOf: Int32Array;
  /** The loaded name's token rows: loadedRows[loadedFrom, loadedFrom + count). */
  private loadedRows: Int32Array = new Int32Array(0);
  private loadedFrom = 0;
  private stamp = 0;
  private slots = 0;
  private pairValues = new Float64Array(0);
  /**
   * Per slot, laid out as pairValues: the pairing gain (margin's w × (margin − free)) of each pair
   * value for the query token, then for the list token, both at gainTargets[slot]; after them the
   * query tokens' best and the list token's gain at its best value. margin recomputes them for
   * another target, as the same target comes back for every name of a search.
   */
  private queryGains = new Float64Array(0);
  private candidateGains = new Float64Array(0);
  private gainTargets = new Float64Array(0);
  private listWeights = new Float64Array(0);

  /** Word key ids of list token row r: keyIds[keyStart[r], keyStart[r + 1]), none for other kinds. */
  constructor(
    private readonly list: ShapeTable,
    private readonly keyStart: Int32Array,
    private readonly keyIds: Int32Array,
  ) {
    this.slotOf = new Int32Array(SLOT_FIELDS * list.size);
  }

  /**
   * Starts a search. caps[i] bounds query token i's match value in a pair that was not retrieved
   * (1 for the `skipped` tokens, whose pairs were not looked up), wordCaps[i] in such a pair with
   * a list word; quickMargin tests `target`.
   */
  begin(
    query: ShapeTable,
    caps: Float64Array,
    wordCaps: Float64Array,
    skipped: number,
    target: number,
    lookups: WordLookups,
  ): void {
    this.query = query;
    this.lookups = lookups;
    this.slots = 0;
    this.stamp = (this.stamp + 1) & 0x7fffffff;
    if (this.stamp === 0) {
      this.slotOf.fill(0);
      this.startStamps.fill(0);
      this.stamp = 1;
    }
    this.target = target;
    this.caps = caps;
    this.wordCaps = wordCaps;
    this.lengthBounded = 0;
    for (let i = 0; i < query.size; i++)
      if (query.isWord(i) && !(skipped & (1 << i))) this.lengthBounded |= 1 << i;
    this.significantTokens = 0;
    for (let i = 0; i < query.size; i++) if (query.significant(i)) this.significantTokens |= 1 << i;
    const free = -target * extraCost;
    this.skippedCount = 0;
    this.classCaps.fill(0);
    this.classGainCounts.fill(0);
    for (let i = 0; i < query.size; i++) {
      this.queryWeights[i] = query.weight(i);
      this.queryMargins[i] = query.weight(i) * margin(target, caps[i]);
      if (skipped & (1 << i)) {
        this.skippedClasses[this.skippedCount] = PAIRING_CLASS[query.kind(i)];
        this.skippedPartners[this.skippedCount++] = heaviestPartner(query, i);
        continue;
      }
      for (let c = 0; c < CLASSES; c++) {
        const cap = c === WORD_CLASS ? wordCaps[i] : caps[i];
        if (cap > this.classCaps[c]) this.classCaps[c] = cap;
        const gain = margin(target, cap) - free;
        if (gain > 0) this.classGains[c * maxTokens + this.classGainCounts[c]++] = gain;
      }
    }
    this.baseMargin = 0;
    for (let i = 0; i < query.size; i++) this.baseMargin += this.queryMargins[i];
    for (let c = 0; c < CLASSES; c++) {
      sortDescending(this.classGains, c * maxTokens, c * maxTokens + this.classGainCounts[c]);
      const sums = c * (maxTokens + 1);
      this.gainSums[sums] = 0;
      for (let k = 0; k < maxTokens; k++) {
        const gain = k < this.classGainCounts[c] ? CLASS_WEIGHTS[c] * this.classGains[c * maxTokens + k] : 0;
        this.gainSums[sums + k + 1] = this.gainSums[sums + k] + gain;
      }
    }
    for (let k = 0; k < this.skippedCount; k++) {
      const c = this.skippedClasses[k];
      this.skippedPartnerClasses[k] =
        c === WORD_CLASS || c === INITIAL_CLASS ? (1 << WORD_CLASS) | (1 << INITIAL_CLASS) : 1 << c;
      this.skippedGains[k] = this.skippedPartners[k] * (1 - target - free);
    }
  }

  /**
   * startMargin's key for the name whose tokens have these kind codes: its token count and the
   * classes of its tokens, which is all startMargin needs of it but its weight.
   */
  static startKey(kinds: Uint8Array, from: number, to: number): number {
    let classes = 0;
    for (let j = from; j < to; j++) classes |= 1 << PAIRING_CLASS[kinds[j]];
    return (Math.min(to - from, maxTokens) << CLASSES) | classes;
  }

  /**
   * An upper bound of quickMargin, kept up to date as a name's pairs are retrieved: begin with
   * startMargin(the name's startKey, total weight), then add queryGain and candidateGain for each
   * retrieved value that raises a token's value. It takes as many pairing gains of each class
   * present as the name has tokens, and a full match for each skipped token that can pair with
   * one of them. Few distinct keys occur: each key's share is computed once per search.
   */
  startMargin(key: number, listWeight: number): number {
    if (this.startStamps[key] !== this.stamp) {
      const take = key >>> CLASSES;
      const classes = key & ((1 << CLASSES) - 1);
      let total = this.baseMargin;
      for (let c = 0; c < CLASSES; c++)
        if (classes & (1 << c)) total += this.gainSums[c * (maxTokens + 1) + take];
      for (let k = 0; k < this.skippedCount; k++)
        if (this.skippedPartnerClasses[k] & classes) total += this.skippedGains[k];
      this.startMargins[key] = total;
      this.startStamps[key] = this.stamp;
    }
    return this.startMargins[key] - this.target * extraCost * listWeight;
  }

  /** The rise in quickMargin's sum when query token i's retrieved value rises from `from` to `to`. */
  queryGain(i: number, from: number, to: number): number {
    const cap = this.caps[i];
    if (to <= cap) return 0;
    const target = this.target;
    return this.queryWeights[i] * (margin(target, to) - margin(target, from > cap ? from : cap));
  }

  /** The same for a list token of this kind code, whose retrieved value rises from `from` (0: none). */
  candidateGain(kind: number, from: number, to: number): number {
    const target = this.target;
    const cap = this.classCaps[PAIRING_CLASS[kind]];
    const before = from > 0 ? margin(target, from > cap ? from : cap) : -target * extraCost;
    return KIND_WEIGHTS[kind] * (margin(target, to > cap ? to : cap) - before);
  }

  /**
   * A first, looser test of the target given to begin, from the values of the name's retrieved
   * pairs alone (queryValues from queryAt, candidateValues from candidateAt, 0 where none): each
   * query token at the higher of its retrieved value and its cap; each list token at the higher of
   * its retrieved value and the highest cap for its class, except that unretrieved list tokens
   * pair one to one, the heaviest with the highest caps; and each skipped query token fully
   * matching one more list token (the heaviest it can pair with, to be safe). A query word's caps
   * with this name's words are also held to what their lengths allow (`wordLengths`, from
   * ShapeTable.wordLengths): a long word no lookup found pairs with no short word. Negative: the
   * name cannot reach the target.
   */
  quickMargin(
    kinds: Uint8Array,
    from: number,
    to: number,
    queryValues: Float64Array,
    queryAt: number,
    candidateValues: Float64Array,
    candidateAt: number,
    wordLengths: number,
  ): number {
    const target = this.target;
    const free = -target * extraCost;
    const classWeights = this.classWeights;
    const classWeightCounts = this.classWeightCounts;
    const classHeaviest = this.classHeaviest;
    const shortest = wordLengths & 0xff;
    const longest = (wordLengths >>> 8) & 0xff;
    // A query word's unretrieved pair is with a list word, or with a list initial (at most this).
    const initialPartner = wordLengths & HAS_INITIAL ? INITIAL_MATCH_VALUE : 0;
    const wordGains = this.nameWordGains;
    let wordGainCount = 0;
    let wordClassCap = 0;
    let total = 0;
    for (let i = 0; i < this.query.size; i++) {
      let cap = this.caps[i];
      let capMargin = this.queryMargins[i];
      if (this.lengthBounded & (1 << i)) {
        const wordCap = Math.min(
          this.wordCaps[i],
          longest === 0 ? 0 : lengthValue(this.query, i, shortest, longest),
        );
        if (wordCap > wordClassCap) wordClassCap = wordCap;
        const gain = margin(target, wordCap) - free;
        if (gain > 0) wordGains[wordGainCount++] = gain;
        const nameCap = Math.min(cap, Math.max(wordCap, initialPartner));
        if (nameCap < cap) {
          cap = nameCap;
          capMargin = this.queryWeights[i] * margin(target, cap);
        }
      }
      const value = queryValues[queryAt + i];
      total += value > cap ? this.queryWeights[i] * margin(target, value) : capMargin;
    }
    sortDescending(wordGains, 0, wordGainCount);
    for (let c = 0; c < CLASSES; c++) {
      classWeightCounts[c] = 0;
      classHeaviest[c] = 0;
    }
    for (let j = 0; j < to - from; j++) {
      const kind = kinds[from + j];
      const w = KIND_WEIGHTS[kind];
      const c = PAIRING_CLASS[kind];
      if (w > classHeaviest[c]) classHeaviest[c] = w;
      const value = candidateValues[candidateAt + j];
      if (value > 0) {
        const cap = c === WORD_CLASS ? wordClassCap : this.classCaps[c];
        total += w * margin(target, value > cap ? value : cap);
      } else {
        total += w * free;
        classWeights[c * maxTokens + classWeightCounts[c]++] = w;
      }
    }
    for (let c = 0; c < CLASSES; c++) {
      const count = classWeightCounts[c];
      if (count === 0) continue;
      const start = c * maxTokens;
      sortDescending(classWeights, start, start + count);
      // Words pair with this name's word gains (length-bounded), other classes with the search's.
      const words = c === WORD_CLASS;
      const gains = words ? wordGains : this.classGains;
      const gainsAt = words ? 0 : start;
      const paired = Math.min(count, words ? wordGainCount : this.classGainCounts[c]);
      for (let k = 0; k < paired; k++) total += classWeights[start + k] * gains[gainsAt + k];
    }
    const wordOrInitial = Math.max(this.classHeaviest[WORD_CLASS], this.classHeaviest[INITIAL_CLASS]);
    for (let k = 0; k < this.skippedCount; k++) {
      const c = this.skippedClasses[k];
      const heaviest = c === WORD_CLASS || c === INITIAL_CLASS ? wordOrInitial : this.classHeaviest[c];
      total += Math.min(heaviest, this.skippedPartners[k]) * (1 - target - free);
    }
    return total;
  }

  /**
   * Bounds the match values of the list name whose token rows are `rows[from, to)`; masks say
   * which tokens a joined/split pair matches. Then `margin` answers for any target score.
   */
  load(rows: Int32Array, from: number, to: number, queryMask: number, candidateMask: number): void {
    const n = this.query.size;
    const count = to - from;
    this.count = count;
    this.loadedRows = rows;
    this.loadedFrom = from;
    this.queryMask = queryMask;
    this.candidateMask = candidateMask;
    for (let j = 0; j < count; j++) {
      const slot = this.slotOfRow(rows[from + j]);
      const at = slot * (n + 1);
      this.slotsOf[j] = slot;
      this.pairsAt[j] = at;
      this.candidateBest[j] = candidateMask & (1 << j) ? 1 : this.pairValues[at + n];
    }
  }

  /**
   * The slot of list token `row`: where the match value bounds of its pairs with each query token
   * start in pairValues (at slot × (query size + 1)), their maximum after them. Computed once per
   * search, as list names share most of their tokens.
   */
  private slotOfRow(row: number): number {
    if (this.slotOf[SLOT_FIELDS * row] === this.stamp) return this.slotOf[SLOT_FIELDS * row + 1];
    const stride = this.query.size + 1;
    const slot = this.slots++;
    this.slotOf[SLOT_FIELDS * row] = this.stamp;
    this.slotOf[SLOT_FIELDS * row + 1] = slot;
    const at = slot * stride;
    if (at + stride > this.pairValues.length || slot >= this.listWeights.length) this.grow(slot + 1, stride);
    this.listWeights[slot] = this.list.weight(row);
    // No target has these gains yet.
    this.gainTargets[slot] = NaN;
    const values = this.pairValues;
    const query = this.query;
    const list = this.list;
    const { rowOf, similarities, looked, unfoundValues } = this.lookups;
    const size = query.size;
    const keysFrom = this.keyStart[row];
    const keysTo = this.keyStart[row + 1];
    const isWord = keysFrom < keysTo;
    const found = this.found;
    if (isWord) {
      for (let i = 0; i < size; i++) found[i] = 0;
      for (let k = keysFrom; k < keysTo; k++) {
        const foundRow = rowOf[this.keyIds[k]];
        if (foundRow === 0) continue;
        const base = (foundRow - 1) * size;
        for (let i = 0; i < size; i++)
          if (similarities[base + i] > found[i]) found[i] = similarities[base + i];
      }
    }
    let best = 0;
    let refinable = 0;
    for (let i = 0; i < size; i++) {
      let similarity: number;
      let cap = 1;
      if (isWord && looked & (1 << i)) {
        similarity = found[i];
        if (similarity === 0) {
          similarity = similarityBound(query, i, list, row);
          cap = unfoundValues[i];
          if (similarity >= minSimilarity) refinable |= 1 << i;
        }
      } else {
        similarity = similarityBound(query, i, list, row);
      }
      const value =
        similarity < minSimilarity
          ? 0
          : Math.min((similarity - similarityFloor) / (1 - similarityFloor), cap);
      values[at + i] = value;
      if (value > best) best = value;
    }
    values[at + query.size] = best;
    this.slotOf[SLOT_FIELDS * row + 2] = refinable;
    return slot;
  }

  /**
   * Replaces the loaded name's letter bounds of word pairs below the lookups' level with the
   * pairs' own match values, once per list token and search: a query word that pairs with no word
   * of the name is then left unmatched, at the conflict's cost, which its letters alone would not
   * show (Mohammed, Shami). Costlier than the bounds, so done for the names they let through. True
   * when a value fell: margin must then be asked again.
   */
  refine(): boolean {
    const n = this.query.size;
    const values = this.pairValues;
    const { unfoundValues } = this.lookups;
    let fell = false;
    for (let j = 0; j < this.count; j++) {
      const row = this.loadedRows[this.loadedFrom + j];
      let pending = this.slotOf[SLOT_FIELDS * row + 2];
      if (pending === 0) continue;
      this.slotOf[SLOT_FIELDS * row + 2] = 0;
      const slot = this.slotsOf[j];
      const at = this.pairsAt[j];
      const token = this.list.tokens[row];
      for (; pending !== 0; pending &= pending - 1) {
        const i = 31 - Math.clz32(pending & -pending);
        const similarity = tokenSimilarity(this.query.tokens[i], token);
        const value = Math.min(matchValueOf(similarity), unfoundValues[i]);
        if (value < values[at + i]) {
          values[at + i] = value;
          fell = true;
        }
      }
      let best = 0;
      for (let i = 0; i < n; i++) if (values[at + i] > best) best = values[at + i];
      values[at + n] = best;
      this.gainTargets[slot] = NaN;
    }
    if (fell) {
      for (let j = 0; j < this.count; j++)
        if (!(this.candidateMask & (1 << j))) this.candidateBest[j] = values[this.pairsAt[j] + n];
    }
    return fell;
  }

  /** Makes room for `slots` slots of `stride` values each. */
  private grow(slots: number, stride: number): void {
    if (slots * stride > this.pairValues.length) {
      const size = Math.max(2 * this.pairValues.length, 64 * stride);
      this.pairValues = grown(this.pairValues, size);
      this.queryGains = grown(this.queryGains, size);
      this.candidateGains = grown(this.candidateGains, size);
    }
    if (slots > this.listWeights.length) {
      const size = Math.max(2 * this.listWeights.length, 64);
      this.gainTargets = grown(this.gainTargets, size);
      this.listWeights = grown(this.listWeights, size);
    }
  }

  /** Fills the slot's pairing gains at `target`. */
  private computeGains(slot: number, target: number): void {
    const n = this.query.size;
    const at = slot * (n + 1);
    const values = this.pairValues;
    const queryWeights = this.queryWeights;
    const queryGains = this.queryGains;
    const candidateGains = this.candidateGains;
    const w = this.listWeights[slot];
    const free = -target * extraCost;
    for (let i = 0; i < n; i++) {
      const m = values[at + i];
      const gain = m > 0 ? margin(target, m) - free : 0;
      queryGains[at + i] = queryWeights[i] * gain;
      candidateGains[at + i] = w * gain;
    }
    const best = values[at + n];
    candidateGains[at + n] = best > 0 ? w * (margin(target, best) - free) : 0;
    let bestQuery = 0;
    for (let i = 0; i < n; i++) if (queryGains[at + i] > bestQuery) bestQuery = queryGains[at + i];
    queryGains[at + n] = bestQuery;
    this.gainTargets[slot] = target;
  }

  /**
   * ≥ 0 when the loaded name might score ≥ target; the larger, the likelier. Tokens outside joins
   * pair one to one, so at most as many of them pair as the other side has tokens, and no two
   * with the same partner: their pairing gains count only that many times, and at most once per
   * partner, at its best.
   */
  margin(target: number): number {
    const n = this.query.size;
    const count = this.count;
    const queryMask = this.queryMask;
    const candidateMask = this.candidateMask;
    const values = this.pairValues;
    const queryGains = this.queryGains;
    const candidateGains = this.candidateGains;
    const queryBest = this.queryBest;
    const queryTokenGains = this.queryTokenGains;
    const partnerTokenGains = this.partnerTokenGains;
    const free = -target * extraCost;
    // Pairing gains rise with the match value, so a token's gain at its best value is its best
    // gain. Partner gains: for the query tokens outside joins, the sum over list tokens of the best
    // gain any of them has with it (queryPartners); for the list tokens outside joins, the same
    // over query tokens (partnerTokenGains, summed below).
    let queryPartners = 0;
    for (let i = 0; i < n; i++) {
      queryBest[i] = queryMask & (1 << i) ? 1 : 0;
      queryTokenGains[i] = 0;
      partnerTokenGains[i] = 0;
    }
    for (let j = 0; j < count; j++) {
      const slot = this.slotsOf[j];
      if (this.gainTargets[slot] !== target) this.computeGains(slot, target);
      const at = this.pairsAt[j];
      const joined = candidateMask & (1 << j);
      if (queryMask === 0) {
        queryPartners += queryGains[at + n];
      } else {
        let best = 0;
        for (let i = 0; i < n; i++)
          if (!(queryMask & (1 << i)) && queryGains[at + i] > best) best = queryGains[at + i];
        queryPartners += best;
      }
      for (let i = 0; i < n; i++) {
        if (values[at + i] > queryBest[i]) queryBest[i] = values[at + i];
        if (queryGains[at + i] > queryTokenGains[i]) queryTokenGains[i] = queryGains[at + i];
        if (!joined && candidateGains[at + i] > partnerTokenGains[i])
          partnerTokenGains[i] = candidateGains[at + i];
      }
    }
    let total = 0;
    let freeQ = 0;
    let freeC = 0;
    let significant = false;
    let gainsQ = 0;
    let gainsC = 0;
    for (let i = 0; i < n; i++) {
      const w = this.queryWeights[i];
      const m = queryBest[i];
      if (m <= 0) freeQ += w;
      else if (this.significantTokens & (1 << i)) significant = true;
      if (queryMask & (1 << i)) {
        total += w * margin(target, m);
      } else {
        total += w * free;
        if (m > 0) this.gains[gainsQ++] = queryTokenGains[i];
      }
    }
    total += Math.min(largestSum(this.gains, gainsQ, count), queryPartners);
    for (let j = 0; j < count; j++) {
      const slot = this.slotsOf[j];
      const w = this.listWeights[slot];
      const m = this.candidateBest[j];
      if (m <= 0) freeC += w;
      if (candidateMask & (1 << j)) {
        total += w * margin(target, m);
      } else {
        total += w * free;
        if (m > 0) this.gains[gainsC++] = candidateGains[this.pairsAt[j] + n];
      }
    }
    let candidatePartners = 0;
    for (let i = 0; i < n; i++) candidatePartners += partnerTokenGains[i];
    total += Math.min(largestSum(this.gains, gainsC, n), candidatePartners);
    // Without a significant query token matched the score is scaled down: no target above that.
    if (!significant && target > insignificantFactor) return -1;
    return total - target * conflictCost * Math.min(freeQ, freeC);
  }
}

/** A copy of values, zero-filled to `size`. */
export function grown(values: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const copy = new Float64Array(size);
  copy.set(values);
  return copy;
}

/** Sum of the `take` largest of values[0, count), which it reorders. */
function largestSum(values: Float64Array, count: number, take: number): number {
  let sum = 0;
  if (take >= count) {
    for (let i = 0; i < count; i++) sum += values[i];
    return sum;
  }
  sortDescending(values, 0, count);
  for (let i = 0; i < take; i++) sum += values[i];
  return sum;
}

/** Sorts values[from, to) from largest down, in place: an insertion sort, as names have few tokens. */
function sortDescending(values: Float64Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const value = values[i];
    let at = i;
    for (; at > from && values[at - 1] < value; at--) values[at] = values[at - 1];
    values[at] = value;
  }
}

/** The heaviest list token that row i can pair with. */
function heaviestPartner(table: ShapeTable, i: number): number {
  const kind = table.kind(i);
  return isWordCode(kind) || kind === INITIAL ? SCORING.weights.word : table.weight(i);
}

/**
 * The most that a token of weight w and its partner, of a weight in [lightest, heaviest], add
 * together to unreachedMightMatch's sum when paired at a match value of at most m: each adds its
 * weight × margin's paired term, which rises with the value, and the sum is linear in the
 * partner's weight, so one end of the range gives the most.
 */
function pairedWith(w: number, m: number, lightest: number, heaviest: number, target: number): number {
  if (m <= 0) return -Infinity;
  const paired = pairedTerm(target, m);
  return (w + (paired >= 0 ? heaviest : lightest)) * paired;
}

/**
 * The most an unreached query token (row i) and its partner, if it has one, add to the sum that
 * unreachedMightMatch tests: the token free, or paired with a list token of a kind it can pair
 * with, at most at the value its unretrieved pairs with that kind reach (cap, or wordCap with a
 * list word). An absent or free partner is not counted, as list tokens add nothing but cost.
 */
function unreachedContribution(
  query: ShapeTable,
  i: number,
  cap: number,
  wordCap: number,
  target: number,
): number {
  const w = query.weight(i);
  const free = -target * extraCost * w;
  const word = SCORING.weights.word;
  const generic = SCORING.weights.generic;
  switch (query.kind(i)) {
    case WORD:
    case GENERIC:
      return Math.max(
        free,
        pairedWith(w, Math.min(cap, wordCap), generic, word, target),
        pairedWith(
          w,
          Math.min(cap, INITIAL_MATCH_VALUE),
          SCORING.weights.initial,
          SCORING.weights.initial,
          target,
        ),
      );
    case INITIAL:
      // List initials pair with it exactly, which the index retrieves: only words are left.
      return Math.max(free, pairedWith(w, cap, generic, word, target));
    default:
      // Legal forms pair with legal forms; numbers and particles only exactly (cap 0).
      return Math.max(free, pairedWith(w, cap, w, w, target));
  }
}

/**
 * Whether a list name that the index reaches through no query token but the `skipped` ones (bit
 * mask) might score ≥ target: those may match fully, with their heaviest partner; each other
 * token is free or paired at its cap (wordCaps[i] with a list word), with the partner that helps
 * most (unreachedContribution). Joined/split pairs do not occur: the index never skips their
 * postings.
 */
export function unreachedMightMatch(
  query: ShapeTable,
  skipped: number,
  caps: Float64Array,
  wordCaps: Float64Array,
  target: number,
): boolean {
  let total = 0;
  let significant = false;
  for (let i = 0; i < query.size; i++) {
    const w = query.weight(i);
    if (skipped & (1 << i)) {
      total += (1 - target) * (w + heaviestPartner(query, i));
      significant ||= query.significant(i);
      continue;
    }
    const m = caps[i];
    total += unreachedContribution(query, i, m, wordCaps[i], target);
    significant ||= query.significant(i) && m > 0;
  }
  if (!significant && target > insignificantFactor) return false;
  return total >= 0;
}
