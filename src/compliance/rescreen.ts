import { setTimeout as delay } from 'node:timers/promises';
import {
  screenInstruction,
  type ListIndex,
  type ScreeningHit,
  type ScreeningOptions,
} from '../screening/screen-instruction';
import type { ScreeningInFlight } from '../settlement/screening-in-flight';
import { parseEvidence, type ScreeningEvidence } from '../settlement/screening-step';
import type { InstructionRecord, Reason } from '../store/instruction-record';
import type { InstructionStore } from '../store/instruction-store';
import type { Logger } from '../telemetry/logger';

export interface RescreenDeps {
  store: InstructionStore;
  partitions: number;
  log: Logger;
  now: () => number;
  options: ScreeningOptions;
  /** This process's screening decisions not yet recorded: a pass waits for the older ones. */
  inFlight: ScreeningInFlight;
  /** Pause before a failed pass is tried again. */
  retryMs: number;
  /** Longest wait for the decisions on older lists to be recorded (see drainedOrLate). */
  drainBoundMs: number;
}

export interface RescreenReport {
  checked: number;
  held: number;
  rejected: number;
}

type ListVersions = { list: string; version: number }[];

const hitKey = (h: ScreeningHit) => `${h.list}|${h.entryId}|${h.field}`;

/** How often one instruction is looked at again when its state changed under a pass (a release). */
const STALE_RETRIES = 5;

/**
 * After a list version changes, every open instruction (held, or accepted and not yet delivered) is
 * screened again. Only hits it did not have before count — an officer's release of a name match is
 * not undone by an unrelated list change — and a new hit stops delivery: an identifier hit rejects
 * it, a name hit holds it for review (a held one is held again, with the new hits as evidence and
 * its releases so far void).
 *
 * Every gateway process runs its own passes, after its own indexes changed and once the decisions
 * it took on the older ones are recorded: an instruction that a process screened on the old lists
 * is then always recorded before that process's pass reads its partition, wherever the other
 * processes' passes stood. Passes run one at a time; a change during a pass asks for one more,
 * against the newest lists, and a pass that fails is run again until it succeeds or a newer one
 * takes its place.
 */
export interface Rescreen {
  /** Asks for a pass against `lists`, generation `generation` of this process's indexes. */
  changed(changed: ListVersions, lists: readonly ListIndex[], generation: number): void;
  /** Resolves once no pass is running or asked for. */
  settled(): Promise<void>;
  /** Stops asking for passes and abandons a pending retry. */
  close(): Promise<void>;
}

/** Whether the evidence was decided on exactly these list versions: nothing to screen again. */
function screenedOn(evidence: ScreeningEvidence, lists: readonly ListIndex[]): boolean {
  if (!evidence.screened || evidence.versions.length !== lists.length) return false;
  const versions = new Map(evidence.versions.map((v) => [v.list, v.version]));
  return lists.every((l) => versions.get(l.list) === l.version);
}

/** What screening an open instruction again decides, when it finds hits its evidence lacks. */
export interface NewHits {
  to: 'REJECTED' | 'HELD_FOR_REVIEW';
  reason: Reason;
  /** The stored hits and the new ones, with the versions screened now (JSON). */
  evidence: string;
  /** The first new hit that blocks, if any. */
  block: ScreeningHit | undefined;
}

/**
 * Screens an open instruction again on `lists`; null when it was decided on exactly these versions
 * or nothing new matches. A new identifier hit rejects it, a new name hit holds it (again).
 */
export function newHits(
  record: InstructionRecord,
  lists: readonly ListIndex[],
  options: ScreeningOptions,
): NewHits | null {
  const before = parseEvidence(record.screening);
  if (screenedOn(before, lists)) return null;
  const known = new Set(before.hits.map(hitKey));
  const result = screenInstruction(record.instruction, lists, options);
  const fresh = result.hits.filter((h) => !known.has(hitKey(h)));
  if (fresh.length === 0) return null;
  const block = fresh.find((h) => h.effect === 'block');
  const evidence: ScreeningEvidence = {
    screened: true,
    versions: result.versions,
    hits: [...before.hits, ...fresh],
  };
  const reason = block
    ? {
        code: block.kind === 'card-scheme' ? 'AG01' : 'RR04',
        description: `re-screened: ${block.field} is listed on ${block.list} (ref ${block.ref})`,
      }
    : {
        code: '',
        description:
          record.state === 'HELD_FOR_REVIEW'
            ? 're-screened: new hits, held for compliance review again'
            : 're-screened: held for compliance review',
      };
  return { to: block ? 'REJECTED' : 'HELD_FOR_REVIEW', reason, evidence: JSON.stringify(evidence), block };
}

export function createRescreen(deps: RescreenDeps): Rescreen {
  const { store, log } = deps;

  /** Decides one instruction again; 'changed' when its state changed under the pass. */
  async function rescreenRecord(
    record: InstructionRecord,
    lists: readonly ListIndex[],
    report: RescreenReport,
  ): Promise<'done' | 'changed'> {
    const found = newHits(record, lists, deps.options);
    if (found === null) return 'done';
    const { to, reason, block } = found;
    const moved = await store.transition({
      uetr: record.uetr,
      from: [record.state],
      to,
      reason,
      traceId: record.traceId,
      traceparent: '',
      nowMs: deps.now(),
      screening: found.evidence,
      ifScreening: record.screening,
      unlessDelivering: true,
    });
    switch (moved.kind) {
      case 'stale':
        return 'changed';
      case 'in-delivery': {
        // An attempt has started: the counterparty may already hold the transfer, so it cannot be
        // stopped outright. It is not sent again: the dispatcher's next attempt fails it instead,
        // for operators to settle with the counterparty. Compliance learns of the hit from the log.
        const stopped = await store.requestDeliveryStop(record.uetr, {
          code: block ? reason.code : 'RR04',
          description: `re-screened during delivery: ${block ? reason.description : 'new name hits'}; not sent again, and an earlier attempt may have reached the counterparty`,
        });
        log.error(
          {
            uetr: record.uetr,
            participant: record.participant,
            reason: block ? reason.code : 'review',
            stopped,
          },
          're-screening found a new hit on an instruction already in delivery: no further attempt',
        );
        return 'done';
      }
      case 'ok':
        if (to === 'REJECTED') report.rejected++;
        else report.held++;
        log.warn(
          { uetr: record.uetr, participant: record.participant, state: to, reason: reason.code },
          'instruction stopped by re-screening',
        );
        return 'done';
      case 'missing':
        return 'done';
    }
  }

  async function rescreenOne(uetr: string, lists: readonly ListIndex[], report: RescreenReport) {
    for (let attempt = 0; attempt <= STALE_RETRIES; attempt++) {
      const record = await store.get(uetr);
      if (record === null || (record.state !== 'ACCEPTED' && record.state !== 'HELD_FOR_REVIEW')) return;
      if (attempt === 0) report.checked++;
      if ((await rescreenRecord(record, lists, report)) === 'done') return;
    }
    throw new Error(`instruction ${uetr} kept changing state while it was re-screened`);
  }

  async function pass(lists: readonly ListIndex[]): Promise<RescreenReport> {
    const report: RescreenReport = { checked: 0, held: 0, rejected: 0 };
    for (let p = 0; p < deps.partitions; p++) {
      let cursor = '0';
      do {
        // A stopping process leaves the rest to the next start, whose first pass covers every list.
        if (stop.signal.aborted) return report;
        const page = await store.openPage(p, cursor, 500);
        cursor = page.cursor;
        for (const uetr of page.uetrs) await rescreenOne(uetr, lists, report);
      } while (cursor !== '0');
    }
    return report;
  }

  type Job = { lists: readonly ListIndex[]; generation: number; changed: Map<string, number> };
  let wanted: Job | null = null;
  let running: Promise<void> | null = null;
  const stop = new AbortController();

  /** `job`'s changes under the newer job, if one is asked for, so none is left out of the log. */
  const merged = (job: Job, newer: Job | null): Job =>
    newer === null ? job : { ...newer, changed: new Map([...job.changed, ...newer.changed]) };

  /**
   * Waits for the decisions taken on older lists to be recorded. Each is bounded by the record
   * step's timeouts, so a wait beyond DRAIN_BOUND_MS means one was never settled (a bug): the pass
   * then goes ahead rather than never run, and says so.
   */
  async function drainedOrLate(generation: number, lists: ListVersions): Promise<void> {
    const late = Symbol('late');
    const waiting = new AbortController();
    const waited = await Promise.race([
      deps.inFlight.drained(generation),
      delay(deps.drainBoundMs, late, { signal: AbortSignal.any([stop.signal, waiting.signal]) }).catch(
        () => undefined,
      ),
    ]).finally(() => waiting.abort());
    if (waited === late) {
      log.error(
        { lists, waitedMs: deps.drainBoundMs },
        're-screening: decisions taken on the older lists are still unrecorded; screening without waiting for them',
      );
    }
  }

  async function work(): Promise<void> {
    while (wanted !== null && !stop.signal.aborted) {
      const job = wanted;
      wanted = null;
      const lists = [...job.changed].map(([list, version]) => ({ list, version }));
      try {
        await drainedOrLate(job.generation, lists);
        const report = await pass(job.lists);
        log.info(
          { ...report, lists },
          stop.signal.aborted
            ? 're-screening stopped with the process: its next start re-screens every open instruction'
            : 're-screening after a list change done',
        );
      } catch (err) {
        log.error(
          { err: err instanceof Error ? err.message : String(err), lists, retryMs: deps.retryMs },
          're-screening failed: it runs again',
        );
        wanted = merged(job, wanted);
        await delay(deps.retryMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
  }

  /** Starts work unless it runs; asked again when it ends, for a job that came as it finished. */
  function kick(): void {
    if (running !== null || wanted === null || stop.signal.aborted) return;
    running = work().finally(() => {
      running = null;
      kick();
    });
  }

  return {
    changed(changed, lists, generation) {
      if (stop.signal.aborted) return;
      const job: Job = {
        lists,
        generation,
        changed: new Map(changed.map((c) => [c.list, c.version])),
      };
      wanted = wanted === null ? job : merged(wanted, job);
      kick();
    },
    async settled() {
      while (running !== null) await running;
    },
    async close() {
      stop.abort();
      await running;
    },
  };
}
