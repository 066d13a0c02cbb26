/**
 * Finds every indexed key whose similarity (name-similarity.ts) to a probe reaches a given level,
 * without comparing the probe with every key. Two strings within d edits share a string obtained
 * by at most d deletions from each (symmetric deletion neighbourhoods), and similarity s over a
 * longer length M allows d ≤ (1 − s)·M edits, of which each side needs at most (1 − s)·(its own
 * length) deletions. So each key is stored under its deletion variants up to that depth, and a
 * probe looks up its own variants. Depth is capped to keep memory linear; the few pairs long
 * enough to need more are found by scanning the keys of those lengths. Probes that are keys
 * themselves read the neighbours found for each key at build time instead.
 */
import { PatternSimilarity, bitCount, letterMask, repeatedLetterMask, unitCost } from './name-similarity';

/** Deletions stored per key, and generated per probe, at most: pairs that need more are scanned. */
export const MAX_DEPTH = 3;

/**
 * Deletions a string of this length may need at this similarity (uncapped): a probe needing more
 * than MAX_DEPTH is looked up by scanning its length range, and its lookup cost grows with the
 * number of its deletion variants, so callers look up that deep only when it pays.
 */
export function deletionsNeeded(length: number, similarity: number): number {
  return Math.floor((1 - similarity) * length + 1e-9);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a hashes of the key with up to `depth` characters deleted, computed without building the
 * strings. Equal strings reached by different deletions give equal hashes, so duplicates are
 * harmless: lookups skip keys already seen.
 */
function variantHashes(key: string, depth: number, out: number[]): void {
  const n = key.length;
  const skipped = [-1, -1, -1, -1].slice(0, Math.max(depth, 0));
  const hashWithout = () => {
    let h = FNV_OFFSET;
    for (let i = 0; i < n; i++) {
      if (skipped.includes(i)) continue;
      h ^= key.charCodeAt(i);
      h = Math.imul(h, FNV_PRIME);
    }
    return h >>> 0;
  };
  const deleteFrom = (from: number, level: number) => {
    for (let at = from; at < n; at++) {
      // Deleting any letters of a run gives the same string as deleting as many from its start:
      // within a run, only the letter right after the previous deletion is deleted.
      if (at > from && key[at] === key[at - 1]) continue;
      skipped[level] = at;
      out.push(hashWithout());
      if (level + 1 < depth) deleteFrom(at + 1, level + 1);
    }
    skipped[level] = -1;
  };
  out.push(hashWithout());
  if (depth >= 1) deleteFrom(0, 0);
}

/** Deletion variants of a string of this length, with up to `depth` deletions (ignoring repeats). */
function variantCount(length: number, depth: number): number {
  let count = 1;
  let choices = 1;
  for (let k = 1; k <= depth; k++) {
    choices = (choices * (length - k + 1)) / k;
    count += choices;
  }
  return count;
}

/**
 * Keys checked by a scan for the cost of one deletion variant looked up (hashed letter by letter,
 * binary searched, its keys checked): with repeated letters in the quick test, most scanned keys
 * fail on their letter masks alone, and 4 measured best on the benchmark's per-list indexes (1 and
 * 8 cost more).
 */
const SCAN_PER_VARIANT = 4;

/** The edits two strings need at least, from their letter masks and the difference of their lengths. */
function editsAtLeast(
  letters: number,
  repeated: number,
  otherLetters: number,
  otherRepeated: number,
  lengthDifference: number,
): number {
  return Math.max(
    bitCount(letters & ~otherLetters) + bitCount(repeated & ~otherRepeated),
    bitCount(otherLetters & ~letters) + bitCount(otherRepeated & ~repeated),
    lengthDifference,
  );
}

const BUCKET_SHIFT = 16;
const BUCKETS = 2 ** (32 - BUCKET_SHIFT);

/** Key ids below 2^21 fit beside a 32-bit hash in one float64, so one numeric sort orders both. */
const ID_LIMIT = 2 ** 21;

export class FuzzyKeyIndex {
  /**
   * Key ids by variant hash: sorted by hash, with the hashes alongside. `buckets[b]` is where
   * hashes with top 16 bits b start, so a lookup searches only a few entries.
   */
  private readonly sortedHashes: Uint32Array;
  private readonly sortedIds: Int32Array;
  private readonly buckets = new Int32Array(BUCKETS + 1);
  private readonly idsByLength: Int32Array[];
  /**
   * Letters of each key, and those it holds twice or more (name-similarity.ts letterMask and
   * repeatedLetterMask), to rule out most candidates cheaply; and its length, so that a key's
   * string is read only for those that pass.
   */
  private readonly letters: Int32Array;
  private readonly repeated: Int32Array;
  private readonly lengths: Uint16Array;
  /**
   * The same masks beside idsByLength: a scan reads them in order, where reading them by id would
   * miss the processor's caches once per key (scans run over tens of thousands of keys).
   */
  private readonly lettersByLength: Int32Array[];
  private readonly repeatedByLength: Int32Array[];
  /** Per key, whether its edits all cost 1 (name-similarity.ts unitCost). */
  private readonly unitCosts: Uint8Array;
  private readonly seen: Uint32Array;
  private stamp = 0;
  /**
   * Each key's neighbours (other keys at least neighbourSimilarity similar), with their
   * similarities: key i's at [neighbourStart[i], neighbourStart[i + 1]). A probe that is itself a
   * key (most query words are list words) is then looked up without a distance computed.
   */
  private readonly neighbourStart: Int32Array;
  private readonly neighbourIds: Int32Array;
  private readonly neighbourSimilarities: Float64Array;

  /**
   * `minSimilarity` is the lowest level `search` will be asked for; it sets the stored depth.
   * Neighbours are stored down to `neighbourSimilarity` (at least minSimilarity): lower levels
   * store more of them.
   */
  constructor(
    readonly keys: readonly string[],
    readonly minSimilarity: number,
    readonly neighbourSimilarity: number = minSimilarity,
  ) {
    if (keys.length >= ID_LIMIT)
      throw new Error(`FuzzyKeyIndex: ${keys.length} keys, at most ${ID_LIMIT - 1}`);
    const packed: number[] = [];
    const hashes: number[] = [];
    keys.forEach((key, id) => {
      hashes.length = 0;
      variantHashes(key, Math.min(MAX_DEPTH, deletionsNeeded(key.length, minSimilarity)), hashes);
      for (const h of hashes) packed.push(h * ID_LIMIT + id);
    });
    const sorted = Float64Array.from(packed).sort();
    this.sortedHashes = new Uint32Array(sorted.length);
    this.sortedIds = new Int32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      this.sortedHashes[i] = Math.floor(sorted[i] / ID_LIMIT);
      this.sortedIds[i] = sorted[i] % ID_LIMIT;
      this.buckets[(this.sortedHashes[i] >>> BUCKET_SHIFT) + 1]++;
    }
    for (let b = 0; b < BUCKETS; b++) this.buckets[b + 1] += this.buckets[b];
    const byLength: number[][] = [];
    keys.forEach((key, id) => (byLength[key.length] ??= []).push(id));
    this.idsByLength = Array.from(byLength, (ids) => Int32Array.from(ids ?? []));
    this.letters = Int32Array.from(keys, letterMask);
    this.repeated = Int32Array.from(keys, repeatedLetterMask);
    this.lengths = Uint16Array.from(keys, (key) => key.length);
    this.lettersByLength = this.idsByLength.map((ids) => ids.map((id) => this.letters[id]));
    this.repeatedByLength = this.idsByLength.map((ids) => ids.map((id) => this.repeated[id]));
    this.unitCosts = Uint8Array.from(keys, (key) => (unitCost(key) ? 1 : 0));
    this.seen = new Uint32Array(keys.length);
    if (neighbourSimilarity < minSimilarity)
      throw new Error('FuzzyKeyIndex: neighbours below the stored depth');
    // Each pair is found once, from its lower id, and stored both ways.
    const pairs: number[] = [];
    const counts = new Int32Array(keys.length + 1);
    keys.forEach((key, id) =>
      this.find(key, neighbourSimilarity, id, (other, similarity) => {
        pairs.push(id, other, similarity);
        counts[id + 1]++;
        counts[other + 1]++;
      }),
    );
    for (let id = 0; id < keys.length; id++) counts[id + 1] += counts[id];
    this.neighbourStart = counts.slice();
    this.neighbourIds = new Int32Array(counts[keys.length]);
    this.neighbourSimilarities = new Float64Array(counts[keys.length]);
    for (let p = 0; p < pairs.length; p += 3) {
      const a = pairs[p];
      const b = pairs[p + 1];
      this.neighbourIds[counts[a]] = b;
      this.neighbourSimilarities[counts[a]++] = pairs[p + 2];
      this.neighbourIds[counts[b]] = a;
      this.neighbourSimilarities[counts[b]++] = pairs[p + 2];
    }
  }

  /** Stored variant entries and neighbours, for memory accounting. */
  get size(): number {
    return this.sortedIds.length + this.neighbourIds.length;
  }

  /** Calls visit once for every key with stringSimilarity(probe, key) ≥ similarity. */
  search(probe: string, similarity: number, visit: (id: number, similarity: number) => void): void {
    if (similarity < this.minSimilarity - 1e-9) {
      throw new Error(`FuzzyKeyIndex: asked for ${similarity}, built for ≥ ${this.minSimilarity}`);
    }
    this.find(probe, similarity, -1, visit);
  }

  /** The same as search(keys[id], …), from the stored neighbours when they go down to `similarity`. */
  searchKey(id: number, similarity: number, visit: (id: number, similarity: number) => void): void {
    if (similarity < this.neighbourSimilarity - 1e-9) {
      this.search(this.keys[id], similarity, visit);
      return;
    }
    visit(id, 1);
    for (let at = this.neighbourStart[id]; at < this.neighbourStart[id + 1]; at++) {
      if (this.neighbourSimilarities[at] >= similarity)
        visit(this.neighbourIds[at], this.neighbourSimilarities[at]);
    }
  }

  /** search, over the keys with ids above `above` only. */
  private find(
    probe: string,
    similarity: number,
    above: number,
    visit: (id: number, similarity: number) => void,
  ): void {
    const stamp = this.nextStamp();
    const letters = letterMask(probe);
    const repeated = repeatedLetterMask(probe);
    const pattern = new PatternSimilarity(probe);
    // Short deletion variants collide with many keys, and scans read every key of a length: most
    // fail on their letters alone (see name-similarity.ts similarityCeiling).
    const mightReach = (length: number, keyLetters: number, keyRepeated: number) =>
      1 -
        editsAtLeast(letters, repeated, keyLetters, keyRepeated, Math.abs(length - probe.length)) /
          Math.max(length, probe.length) >=
      similarity;
    const compare = (id: number) => {
      const value = pattern.similarity(this.keys[id], this.unitCosts[id] === 1, similarity);
      if (value >= similarity) visit(id, value);
    };
    const check = (id: number) => {
      if (id <= above || this.seen[id] === stamp) return;
      this.seen[id] = stamp;
      if (mightReach(this.lengths[id], this.letters[id], this.repeated[id])) compare(id);
    };
    const scan = (length: number) => {
      const ids = this.idsByLength[length];
      if (ids === undefined) return;
      const keyLetters = this.lettersByLength[length];
      const keyRepeated = this.repeatedByLength[length];
      for (let k = 0; k < ids.length; k++) {
        if (!mightReach(length, keyLetters[k], keyRepeated[k])) continue;
        const id = ids[k];
        if (id <= above || this.seen[id] === stamp) continue;
        this.seen[id] = stamp;
        compare(id);
      }
    };
    const { shortest, longest } = this.lengthRange(probe.length, similarity);
    const depth = deletionsNeeded(probe.length, similarity);
    if (
      depth > MAX_DEPTH ||
      this.keysInRange(shortest, longest) <= SCAN_PER_VARIANT * variantCount(probe.length, depth)
    ) {
      // A long probe far from its keys has too many deletion variants, and few keys are long:
      // scan its length range.
      for (let length = shortest; length <= longest; length++) scan(length);
      return;
    }
    const hashes: number[] = [];
    variantHashes(probe, depth, hashes);
    for (const h of hashes) {
      for (let i = this.lowerBound(h); i < this.sortedHashes.length && this.sortedHashes[i] === h; i++) {
        check(this.sortedIds[i]);
      }
    }
    // Keys whose pairing with the probe needs more than MAX_DEPTH deletions are not stored deep
    // enough: scan those lengths.
    for (let length = shortest; length <= longest; length++) {
      if (deletionsNeeded(Math.max(length, probe.length), similarity) <= MAX_DEPTH) continue;
      scan(length);
    }
  }

  /**
   * What looking up a probe of this length at this similarity costs, in keys checked: lookups
   * scan or probe variants, whichever costs less, so long probes are cheap too (few keys are long).
   */
  lookupCost(length: number, similarity: number): number {
    const { shortest, longest } = this.lengthRange(length, similarity);
    const scan = this.keysInRange(shortest, longest);
    const depth = deletionsNeeded(length, similarity);
    return depth > MAX_DEPTH ? scan : Math.min(scan, SCAN_PER_VARIANT * variantCount(length, depth));
  }

  /** Lengths of the keys that can be this similar to a probe of this length. */
  private lengthRange(length: number, similarity: number): { shortest: number; longest: number } {
    return {
      shortest: Math.max(1, Math.ceil(length * similarity - 1e-9)),
      longest: Math.min(this.idsByLength.length - 1, Math.floor(length / similarity + 1e-9)),
    };
  }

  private keysInRange(shortest: number, longest: number): number {
    let count = 0;
    for (let length = shortest; length <= longest; length++) count += this.idsByLength[length]?.length ?? 0;
    return count;
  }

  private lowerBound(h: number): number {
    let low = this.buckets[h >>> BUCKET_SHIFT];
    let high = this.buckets[(h >>> BUCKET_SHIFT) + 1];
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.sortedHashes[mid] < h) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private nextStamp(): number {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }
}
