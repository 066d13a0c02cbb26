/**
 * Finds every indexed key whose similarity (name-similarity.ts) to a probe reaches a given level,
 * without comparing the probe with every key. Two strings within d edits share a string obtained
 * by at most d deletions from each (symmetric deletion neighbourhoods), and similarity s over a
 * longer length M allows d ≤ (1 − s)·M edits, of which each side needs at most (1 − s)·(its own
 * length) deletions. So each key is stored under its deletion variants up to that depth, and a
 * probe looks up its own variants. Depth is capped to keep memory linear; the few pairs long
 * enough to need more are found by scanning the keys of those lengths.
 */
import { keySet, similarityCeiling, stringSimilarity, type KeySet } from './name-similarity';

/** Deletions stored per key at most; and generated per probe at most (more: scan instead). */
const MAX_DEPTH = 3;
const MAX_PROBE_DEPTH = 2;

/** Deletions a string of this length may need at this similarity (uncapped). */
function deletionsNeeded(length: number, similarity: number): number {
  return Math.floor((1 - similarity) * length + 1e-9);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a hashes of the key with up to `depth` (≤ 2) characters deleted, computed without building
 * the strings. Equal strings reached by different deletions give equal hashes, so duplicates are
 * harmless: lookups skip keys already seen.
 */
function variantHashes(key: string, depth: number, out: number[]): void {
  const n = key.length;
  const hashWithout = (skipA: number, skipB: number) => {
    let h = FNV_OFFSET;
    for (let i = 0; i < n; i++) {
      if (i === skipA || i === skipB) continue;
      h ^= key.charCodeAt(i);
      h = Math.imul(h, FNV_PRIME);
    }
    return h >>> 0;
  };
  out.push(hashWithout(-1, -1));
  if (depth < 1) return;
  for (let a = 0; a < n; a++) {
    // Deleting either letter of a repeated pair gives the same string: keep one.
    if (a > 0 && key[a] === key[a - 1]) continue;
    out.push(hashWithout(a, -1));
    if (depth < 2) continue;
    for (let b = a + 1; b < n; b++) {
      if (b > a + 1 && key[b] === key[b - 1]) continue;
      out.push(hashWithout(a, b));
    }
  }
}

/** Key ids below 2^21 fit beside a 32-bit hash in one float64, so one numeric sort orders both. */
const ID_LIMIT = 2 ** 21;

export class FuzzyKeyIndex {
  /** Key ids grouped by variant hash (sorted by hash), with the hashes alongside. */
  private readonly sortedHashes: Uint32Array;
  private readonly sortedIds: Int32Array;
  /** Open addressing over distinct hashes: slot → hash and start of its group; −1 marks empty. */
  private readonly slotHashes: Uint32Array;
  private readonly slotStarts: Int32Array;
  private readonly slotMask: number;
  private readonly idsByLength: Int32Array[];
  private readonly letters: KeySet[];
  private readonly seen: Uint32Array;
  private stamp = 0;

  /** `minSimilarity` is the lowest level `search` will be asked for; it sets the stored depth. */
  constructor(
    readonly keys: readonly string[],
    readonly minSimilarity: number,
  ) {
    if (keys.length >= ID_LIMIT) throw new Error(`FuzzyKeyIndex: ${keys.length} keys, at most ${ID_LIMIT - 1}`);
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
    let distinct = 0;
    for (let i = 0; i < sorted.length; i++) {
      this.sortedHashes[i] = Math.floor(sorted[i] / ID_LIMIT);
      this.sortedIds[i] = sorted[i] % ID_LIMIT;
      if (i === 0 || this.sortedHashes[i] !== this.sortedHashes[i - 1]) distinct++;
    }
    // At most half full, so that probe runs stay short.
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, distinct * 2)));
    this.slotHashes = new Uint32Array(capacity);
    this.slotStarts = new Int32Array(capacity).fill(-1);
    this.slotMask = capacity - 1;
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && this.sortedHashes[i] === this.sortedHashes[i - 1]) continue;
      let slot = this.sortedHashes[i] & this.slotMask;
      while (this.slotStarts[slot] !== -1) slot = (slot + 1) & this.slotMask;
      this.slotHashes[slot] = this.sortedHashes[i];
      this.slotStarts[slot] = i;
    }
    const byLength: number[][] = [];
    keys.forEach((key, id) => (byLength[key.length] ??= []).push(id));
    this.idsByLength = Array.from(byLength, (ids) => Int32Array.from(ids ?? []));
    this.letters = keys.map((key) => keySet([key]));
    this.seen = new Uint32Array(keys.length);
  }

  /** Stored variant entries, for memory accounting. */
  get size(): number {
    return this.sortedIds.length;
  }

  /** Calls visit once for every key with stringSimilarity(probe, key) ≥ similarity. */
  search(probe: string, similarity: number, visit: (id: number, similarity: number) => void): void {
    if (similarity < this.minSimilarity - 1e-9) {
      throw new Error(`FuzzyKeyIndex: asked for ${similarity}, built for ≥ ${this.minSimilarity}`);
    }
    const stamp = this.nextStamp();
    const letters = keySet([probe]);
    const check = (id: number) => {
      if (this.seen[id] === stamp) return;
      this.seen[id] = stamp;
      // Short deletion variants collide with many keys: most fail on their letters alone.
      if (similarityCeiling(letters, this.letters[id]) < similarity) return;
      const value = stringSimilarity(probe, this.keys[id], similarity);
      if (value >= similarity) visit(id, value);
    };
    const shortest = Math.max(1, Math.ceil(probe.length * similarity - 1e-9));
    const longest = Math.min(this.idsByLength.length - 1, Math.floor(probe.length / similarity + 1e-9));
    const depth = deletionsNeeded(probe.length, similarity);
    if (depth > MAX_PROBE_DEPTH) {
      // A long probe far from its keys has too many deletion variants: scan its length range.
      for (let length = shortest; length <= longest; length++) for (const id of this.idsByLength[length] ?? []) check(id);
      return;
    }
    const hashes: number[] = [];
    variantHashes(probe, depth, hashes);
    for (const h of hashes) {
      let slot = h & this.slotMask;
      while (this.slotStarts[slot] !== -1 && this.slotHashes[slot] !== h) slot = (slot + 1) & this.slotMask;
      const start = this.slotStarts[slot];
      if (start === -1) continue;
      for (let i = start; i < this.sortedHashes.length && this.sortedHashes[i] === h; i++) check(this.sortedIds[i]);
    }
    // Keys whose pairing with the probe needs more than MAX_DEPTH deletions are not stored deep
    // enough: scan those lengths.
    for (let length = shortest; length <= longest; length++) {
      if (deletionsNeeded(Math.max(length, probe.length), similarity) <= MAX_DEPTH) continue;
      for (const id of this.idsByLength[length] ?? []) check(id);
    }
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
