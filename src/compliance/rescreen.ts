import type { Redis, Cluster } from 'ioredis';
import {
  screenInstruction,
  type ListIndex,
  type ScreeningHit,
  type ScreeningOptions,
} from '../screening/screen-instruction';
import { parseEvidence, type ScreeningEvidence } from '../settlement/screening-step';
import type { InstructionStore } from '../store/instruction-store';
import type { KeySpace } from '../store/keys';
import type { Logger } from '../telemetry/logger';

export interface RescreenDeps {
  redis: Redis | Cluster;
  keys: KeySpace;
  store: InstructionStore;
  log: Logger;
  now: () => number;
  options: ScreeningOptions;
}

export interface RescreenReport {
  checked: number;
  held: number;
  rejected: number;
}

const hitKey = (h: ScreeningHit) => `${h.list}|${h.entryId}|${h.field}`;

/**
 * After a list version changes, every open instruction (held, or accepted and not yet delivered) is
 * screened again. Only hits it did not have before count — an officer's release of a name match is
 * not undone by an unrelated list change — and a new hit stops delivery: an identifier hit rejects
 * it, a name hit holds it for review. One replica does the work per list version (a Redis lock).
 */
export interface Rescreen {
  /** Re-screens every open instruction; null when another replica has this list change. */
  run(
    changed: { list: string; version: number }[],
    lists: readonly ListIndex[],
  ): Promise<RescreenReport | null>;
}

export function createRescreen(deps: RescreenDeps): Rescreen {
  const { store, log } = deps;

  async function rescreenOne(
    uetr: string,
    lists: readonly ListIndex[],
    report: RescreenReport,
  ): Promise<void> {
    const record = await store.get(uetr);
    if (record === null || (record.state !== 'ACCEPTED' && record.state !== 'HELD_FOR_REVIEW')) return;
    report.checked++;
    const before = parseEvidence(record.screening);
    const known = new Set(before.hits.map(hitKey));
    const result = screenInstruction(record.instruction, lists, deps.options);
    const fresh = result.hits.filter((h) => !known.has(hitKey(h)));
    if (fresh.length === 0) return;
    const block = fresh.find((h) => h.effect === 'block');
    if (!block && record.state === 'HELD_FOR_REVIEW') return;
    const evidence: ScreeningEvidence = {
      screened: true,
      versions: result.versions,
      hits: [...before.hits, ...fresh],
    };
    const to = block ? 'REJECTED' : 'HELD_FOR_REVIEW';
    const reason = block
      ? {
          code: block.kind === 'card-scheme' ? 'AG01' : 'RR04',
          description: `re-screened: ${block.field} is listed on ${block.list} (ref ${block.ref})`,
        }
      : { code: '', description: 're-screened: held for compliance review' };
    const moved = await store.transition({
      uetr,
      from: [record.state],
      to,
      reason,
      traceId: record.traceId,
      traceparent: '',
      nowMs: deps.now(),
      screening: JSON.stringify(evidence),
      unlessDelivering: true,
    });
    if (moved.kind === 'in-delivery') {
      // The counterparty may already hold the transfer: compliance learns of the hit from the
      // log and the stored evidence is left as it was decided.
      log.error(
        { uetr, participant: record.participant, reason: block ? 'RR04' : 'review' },
        're-screening found a new hit on an instruction already in delivery',
      );
    }
    if (moved.kind === 'ok') {
      if (to === 'REJECTED') report.rejected++;
      else report.held++;
      log.warn(
        { uetr, participant: record.participant, state: to, reason: reason.code },
        'instruction stopped by re-screening',
      );
    }
  }

  /** Re-screens every open instruction against `lists` once per changed list version. */
  async function run(
    changed: { list: string; version: number }[],
    lists: readonly ListIndex[],
  ): Promise<RescreenReport | null> {
    const report: RescreenReport = { checked: 0, held: 0, rejected: 0 };
    const locks = await Promise.all(
      changed.map((c) =>
        deps.redis.set(deps.keys.rescreenLock(c.list, c.version), '1', 'PX', 3_600_000, 'NX'),
      ),
    );
    if (!locks.some((l) => l === 'OK')) return null;
    for (let p = 0; p < deps.keys.partitions; p++) {
      let cursor = '0';
      do {
        const page = await store.openPage(p, cursor, 500);
        cursor = page.cursor;
        for (const uetr of page.uetrs) await rescreenOne(uetr, lists, report);
      } while (cursor !== '0');
    }
    log.info({ ...report, lists: changed }, 're-screening after a list change done');
    return report;
  }

  return { run };
}
