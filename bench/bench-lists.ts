import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { importList } from '../src/compliance/importers';
import { createKeySpace } from '../src/store/keys';
import { createListStore } from '../src/store/list-store';
import { CASES, openFile } from './import-bench';

/** The lists a "full pipeline" run screens against: the newest OFAC SDN set, consolidated and UN. */
const FULL = CASES.filter((c) => !c.name.includes('2021-07-07'));
const LIST_NAMES = ['ofac-sdn', 'ofac-consolidated', 'un-consolidated'];

/**
 * Writes the real lists under a bench prefix as current versions, the way an import through the
 * Compliance service would, so a gateway started on that prefix screens against all of them.
 */
export async function loadBenchLists(
  redis: Redis | Cluster,
  prefix: string,
): Promise<{ list: string; entries: number }[]> {
  const store = createListStore(redis, createKeySpace(prefix, 16));
  const loaded: { list: string; entries: number }[] = [];
  for (const [i, benchCase] of FULL.entries()) {
    const result = await importList(benchCase.format, benchCase.files.map(openFile));
    const list = LIST_NAMES[i];
    const meta = await store.createVersion(list, result.entries, {
      createdBy: 'bench',
      origin: benchCase.name,
      note: '',
      nowMs: Date.now(),
    });
    const activated = await store.activate(list, meta.version, 0);
    if (activated.kind !== 'ok') throw new Error(`could not activate ${list}: ${activated.kind}`);
    loaded.push({ list, entries: meta.entryCount });
  }
  return loaded;
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}
