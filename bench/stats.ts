/** Latency percentiles of one run, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Every latency sample of a run, kept exactly: runs are bounded in count, so a sorted array is
 * affordable and avoids the bucketing error of a histogram. Float64Array keeps 100k samples at
 * 800 kB with nothing for the garbage collector to trace while the run is timed.
 */
export class LatencySamples {
  private values: Float64Array;
  private length = 0;

  constructor(initialCapacity = 16_384) {
    this.values = new Float64Array(Math.max(16, initialCapacity));
  }

  get count(): number {
    return this.length;
  }

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  summary(): LatencySummary {
    const n = this.length;
    if (n === 0) return { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
    // TypedArray sort is numeric (not lexicographic like Array#sort without a comparator).
    const sorted = this.values.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    return {
      count: n,
      min: sorted[0],
      mean: sum / n,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted[n - 1],
    };
  }
}

/**
 * Nearest-rank percentile: the smallest sample such that at least p% of samples are ≤ it. It is
 * always an observed value, so p99 of 100 samples is the 99th, never an interpolation.
 */
export function percentile(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/** The middle of the values (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
