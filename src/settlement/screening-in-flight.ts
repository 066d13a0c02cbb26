/**
 * Decisions taken on a generation of the screening indexes and not yet recorded. A decision is
 * screened synchronously on the indexes of the moment, then written to Redis: if the indexes change
 * in between, the record lands with the old list versions after the change, and a re-screening
 * pass that had already read its partition would never see it. Passes therefore wait for the
 * decisions of older generations to be recorded (or given up) before they read.
 */
export interface ScreeningInFlight {
  /** A decision taken on `generation`; call the answer once it is recorded or given up. */
  begin(generation: number): () => void;
  /** Resolves once no decision taken on a generation older than `generation` is under way. */
  drained(generation: number): Promise<void>;
}

export function createScreeningInFlight(): ScreeningInFlight {
  const underway = new Map<number, number>();
  const waiters: { generation: number; resolve: () => void }[] = [];

  const olderUnderway = (generation: number): boolean => {
    for (const [g, count] of underway) if (g < generation && count > 0) return true;
    return false;
  };

  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (!olderUnderway(waiters[i].generation)) waiters.splice(i, 1)[0].resolve();
    }
  };

  return {
    begin(generation) {
      underway.set(generation, (underway.get(generation) ?? 0) + 1);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        const left = (underway.get(generation) ?? 1) - 1;
        if (left === 0) underway.delete(generation);
        else underway.set(generation, left);
        wake();
      };
    },
    drained(generation) {
      if (!olderUnderway(generation)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ generation, resolve }));
    },
  };
}
