import type { ListStore } from '../store/list-store';
import { observeGauge, type Observation } from './metrics';

/**
 * The age of each screening list's current version (since it was built), read from Redis at each
 * collection: the version every gateway screens with once it has synced, and what an operator
 * alerts on when a daily list import stops arriving. A version's build time never changes, so it
 * is read once per version.
 */
export function observeListAges(
  lists: Pick<ListStore, 'listNames' | 'currentVersion' | 'meta'>,
  now: () => number,
): Observation {
  let builtAtMs = new Map<string, number>();
  return observeGauge(
    'caravan.list.version.age',
    { unit: 's', description: "Age of each screening list's current version (since it was built)" },
    async () => {
      const names = await lists.listNames();
      const versions = await Promise.all(names.map((list) => lists.currentVersion(list)));
      const points = [];
      // Only the current versions' build times are kept.
      const current = new Map<string, number>();
      for (const [i, list] of names.entries()) {
        const version = versions[i];
        if (version === 0) continue;
        const key = `${list}@${version}`;
        let built = builtAtMs.get(key);
        if (built === undefined) {
          const meta = await lists.meta(list, version);
          if (meta === null) continue;
          built = meta.createdAtMs;
        }
        current.set(key, built);
        // One series per list: a version label would leave every earlier version's series exported,
        // frozen at its last age, for the life of the process (an alert that never clears).
        points.push({ value: Math.max(0, now() - built) / 1000, attributes: { 'caravan.list': list } });
      }
      builtAtMs = current;
      return points;
    },
  );
}
