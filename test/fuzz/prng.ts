import { randomBytes } from 'node:crypto';

/** 32-bit mixing (murmur3's finaliser), to spread a seed and a case number over the state. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A small seeded PRNG (sfc32). Every fuzz case draws from its own generator, seeded by the run's
 * seed and the case number, so a case can be generated again from those two numbers alone,
 * whatever the order in which concurrent calls were scheduled.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(seed + Math.imul(stream, 0x632be5ab));
    this.c = mix32(stream ^ 0x7f4a7c15);
    this.d = mix32(seed ^ stream ^ 0x1b873593) | 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)];
  }

  /** One of the values, each drawn in proportion to its weight. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((sum, [w]) => sum + w, 0);
    let roll = this.float() * total;
    for (const [w, value] of entries) {
      roll -= w;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1][1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A random 64-bit unsigned value. */
  uint64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A lower-case UUID v4 drawn from this generator (so it is reproducible, unlike randomUUID). */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** FUZZ_SEED (a 32-bit integer) or a fresh random seed; the run prints it either way. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`FUZZ_SEED must be an integer from 0 to 4294967295, got ${given}`);
    }
    return n;
  }
  return randomBytes(4).readUInt32BE(0);
}

/** FUZZ_SECONDS (per server), or the default that keeps `npm test` short. */
export function fuzzSeconds(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const given = env.FUZZ_SECONDS;
  if (given === undefined || given === '') return fallback;
  const n = Number(given);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`FUZZ_SECONDS must be a positive number, got ${given}`);
  return n;
}
