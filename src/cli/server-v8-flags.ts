import { setFlagsFromString } from 'node:v8';

/**
 * No allocation-site pretenuring: having seen the screening index built at start, V8 would
 * allocate what the same code makes for each request (prepared names, tokens) straight into the
 * old generation, where it piles up until a full collection marks the whole index (p99 of 0.5 s at
 * half the closed-loop capacity, against 0.06 s without: README, Benchmarks), and every scavenge
 * meanwhile walks the pointers from those objects into the young generation.
 */
export const SERVER_V8_FLAGS = '--no-allocation-site-pretenuring';

/** For the server commands (bin/caravan) and for benchmarks that measure their code as they run it. */
export function applyServerV8Flags(): void {
  setFlagsFromString(SERVER_V8_FLAGS);
}
