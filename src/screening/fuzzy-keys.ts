/**
 * Finds every indexed key whose similarity (name-similarity.ts) to a probe reaches a given level,
 * without comparing the probe with every key. Two strings within d edits share a string obtained
 * by at most d deletions from each (symmetric deletion neighbourhoods), and similarity s over a
 * longer length M allows d ≤ (1 − s)·M edits, of which each side needs at most (1 − s)·(its own
 * length) deletions. So each key is stored under its deletion variants up to that depth, and a
 * probe looks up its own variants. Depth is capped to keep memory linear; the few pairs long
 * enough to need more are found by scanning the keys of those lengths.
 */
import { stringSimilarity } from './name-similarity';

const MAX_DEPTH = 2;

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

/** Ids below 2^21 fit beside a 32-bit hash in one float64, so one numeric sort orders both. */
const ID_BITS = 2 ** 21;

export class FuzzyKeyIndex {
  private readonly hashes: Uint32Array;
  private readonly ids: Int32Array;
  private readonly idsByLength: Int32Array[];
  private readonly seen: Uint32Array;
  private stamp = 0;

  /** `minSimilarity` is the lowest level `search` will be asked for; it sets the stored depth. */
  constructor(
    readonly keys: readonly string[],
    readonly minSimilarity: number,
  ) {
    if (keys.length >= ID_BITS) throw new Error(`FuzzyKeyIndex: ${keys.length} keys, at most ${ID_BITS - 1}`);
    const packed: number[] = [];
    const byLength: number[][] = [];
    const hashes: number[] = [];
    keys.forEach((key, id) => {
      (byLength[key.length] ??= []).push(id);
      hashes.length = 0;
      variantHashes(key, Math.min(MAX_DEPTH, deletionsNeeded(key.length, minSimilarity)), hashes);
      for (const h of hashes) packed.push(h * ID_BITS + id);
    });
    const sorted = Float64Array.from(packed).sort();
    this.hashes = new Uint32Array(sorted.length);
    this.ids = new Int32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      this.hashes[i] = Math.floor(sorted[i] / ID_BITS);
      this.ids[i] = sorted[i] % ID_BITS;
    }
    this.idsByLength = Array.from(byLength, (ids) => Int32Array.from(ids ?? []));
    this.seen = new Uint32Array(keys.length);
  }

  /** Stored entries, for memory accounting. */
  get size(): number {
    return this.hashes.length;
  }

  /** Calls visit once for every key with stringSimilarity(probe, key) ≥ similarity. */
  search(probe: string, similarity: number, visit: (id: number, similarity: number) => void): void {
    if (similarity < this.minSimilarity - 1e-9) {
      throw new Error(`FuzzyKeyIndex: asked for ${similarity}, built for ≥ ${this.minSimilarity}`);
    }
    const stamp = this.nextStamp();
    const check = (id: number) => {
      if (this.seen[id] === stamp) return;
      this.seen[id] = stamp;
      const value = stringSimilarity(probe, this.keys[id]);
      if (value >= similarity) visit(id, value);
    };
    const hashes: number[] = [];
    variantHashes(probe, Math.min(MAX_DEPTH, deletionsNeeded(probe.length, similarity)), hashes);
    for (const h of hashes) {
      for (let i = this.lowerBound(h); i < this.hashes.length && this.hashes[i] === h; i++)
        check(this.ids[i]);
    }
    // Pairs whose longer string needs more than MAX_DEPTH deletions are not in the table.
    const shortest = Math.ceil(probe.length * similarity - 1e-9);
    const longest = Math.min(this.idsByLength.length - 1, Math.floor(probe.length / similarity + 1e-9));
    for (let length = Math.max(1, shortest); length <= longest; length++) {
      if (deletionsNeeded(Math.max(length, probe.length), similarity) <= MAX_DEPTH) continue;
      for (const id of this.idsByLength[length] ?? []) check(id);
    }
  }

  private lowerBound(h: number): number {
    let low = 0;
    let high = this.hashes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.hashes[mid] < h) low = mid + 1;
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
