import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createHoldReview, type HoldReview, type HoldReviewDeps } from '../../src/compliance/hold-review';
import { createRescreen, type Rescreen } from '../../src/compliance/rescreen';
import { indexLists } from '../../src/screening/list-index';
import type { ListEntry } from '../../src/screening/list-entry';
import type { ListIndex } from '../../src/screening/screen-instruction';
import { createScreeningInFlight, type ScreeningInFlight } from '../../src/settlement/screening-in-flight';
import { createScreeningStep, parseEvidence } from '../../src/settlement/screening-step';
import type { IntakeDecision } from '../../src/settlement/screening-seam';
import { createAuditLog } from '../../src/store/audit-log';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { createLogger } from '../../src/telemetry/logger';
import { validInstruction } from '../support/instructions';
import { moveDirectly, recordDirectly } from '../support/records';
import type { Reason } from '../../src/store/instruction-record';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const OPTIONS = { reviewThreshold: 0.77 };
const NO_REASON = { code: '', description: '' };

const bicEntry = (id: string, bic: string): ListEntry => ({
  kind: 'bic',
  id,
  ref: id,
  subject: '',
  programs: [],
  bic,
});
const nameEntry = (id: string, name: string): ListEntry => ({
  kind: 'name',
  id,
  ref: id,
  subject: '',
  programs: [],
  name,
  aliases: [],
  type: 'entity',
  countries: [],
});

/** The indexes of these list versions, as a gateway's screening sync builds them. */
const indexesOf = (versions: { list: string; version: number; entries: ListEntry[] }[]) =>
  indexLists(versions);

describe('re-screening open instructions after a list change', function () {
  this.timeout(30_000);
  let redis: Redis;
  let prefix: string;
  let store: InstructionStore;
  let inFlight: ScreeningInFlight;
  let passes: Rescreen;
  const log = createLogger('silent');

  beforeEach(() => {
    redis = testRedis();
    prefix = uniquePrefix('rescreen');
    store = createInstructionStore(redis, createKeySpace(prefix, 4));
    inFlight = createScreeningInFlight();
  });
  afterEach(async () => {
    await passes.close();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  const start = (over: Partial<Parameters<typeof createRescreen>[0]> = {}) => {
    passes = createRescreen({
      store,
      partitions: 4,
      log,
      now: Date.now,
      options: OPTIONS,
      inFlight,
      retryMs: 20,
      drainBoundMs: 10_000,
      ...over,
    });
    return passes;
  };

  /** Screens and records as intake does, on `lists` (generation `generation`). */
  async function submitOn(
    lists: readonly ListIndex[],
    generation: number,
    creditorBic = 'KSNVKZKA',
    recordedAfter?: Promise<void>,
  ): Promise<string> {
    const instruction = validInstruction({
      creditorAgent: { bic: creditorBic },
      instructedAgent: { bic: creditorBic },
    });
    const screen = createScreeningStep(() => ({ kind: 'current', lists, generation }), OPTIONS, inFlight);
    const decision = (await screen(instruction)) as IntakeDecision;
    try {
      await recordedAfter;
      await recordDirectly(store, instruction, {
        state: decision.state,
        reason: decision.reason,
        screening: decision.evidence,
      });
    } finally {
      decision.settled?.();
    }
    return instruction.uetr;
  }

  const stateOf = async (uetr: string) => (await store.get(uetr))?.state;

  it('re-screens after a rollback to a version it screened against before', async () => {
    const v1 = indexesOf([{ list: 'internal', version: 1, entries: [bicEntry('b1', 'KSNVKZKA')] }]);
    const v2 = indexesOf([{ list: 'internal', version: 2, entries: [] }]);
    start();
    passes.changed([{ list: 'internal', version: 1 }], v1, 1);
    await passes.settled();
    passes.changed([{ list: 'internal', version: 2 }], v2, 2);
    await passes.settled();
    const uetr = await submitOn(v2, 2);
    assert.equal(await stateOf(uetr), 'ACCEPTED');
    // The rollback makes version 1 current again: the same version number as the first pass's.
    const back = indexesOf([{ list: 'internal', version: 1, entries: [bicEntry('b1', 'KSNVKZKA')] }]);
    passes.changed([{ list: 'internal', version: 1 }], back, 3);
    await passes.settled();
    assert.equal(await stateOf(uetr), 'REJECTED');
  });

  it('waits for a decision taken on the old lists and recorded after the change', async () => {
    const before = indexesOf([{ list: 'internal', version: 1, entries: [] }]);
    const after = indexesOf([{ list: 'internal', version: 2, entries: [bicEntry('b1', 'KSNVKZKA')] }]);
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Screened on generation 1; its record is written only once the pass for generation 2 began.
    const submitted = submitOn(before, 1, 'KSNVKZKA', gate);
    start();
    passes.changed([{ list: 'internal', version: 2 }], after, 2);
    let passDone = false;
    const done = passes.settled().then(() => (passDone = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(passDone, false, 'the pass waits for the decision under way');
    release();
    const uetr = await submitted;
    await done;
    assert.equal(await stateOf(uetr), 'REJECTED');
  });

  it('holds a held instruction again on a new name hit, voiding the releases so far', async () => {
    const name = (id: string, n: string) => ({ list: id, version: 1, entries: [nameEntry(`${id}-1`, n)] });
    const first = indexesOf([name('list-a', 'OOO Volga Test Supplies')]);
    const uetr = await submitOn(first, 1);
    assert.equal(await stateOf(uetr), 'HELD_FOR_REVIEW');
    await store.addRelease(uetr, 'alice', (await store.get(uetr))!.screening);
    assert.deepEqual(await store.releasesOf(uetr), ['alice']);
    start();
    const second = indexesOf([
      name('list-a', 'OOO Volga Test Supplies'),
      name('list-b', 'Caravan Test Trading'),
    ]);
    passes.changed([{ list: 'list-b', version: 1 }], second, 2);
    await passes.settled();
    const record = await store.get(uetr);
    assert.ok(record !== null);
    assert.equal(record.state, 'HELD_FOR_REVIEW');
    assert.deepEqual(
      parseEvidence(record.screening)
        .hits.map((h) => h.list)
        .sort(),
      ['list-a', 'list-b'],
    );
    assert.deepEqual(await store.releasesOf(uetr), []);
    const held = (await store.eventsAfter(uetr, '0')).filter((e) => e.state === 'HELD_FOR_REVIEW');
    assert.equal(held.length, 2);
  });

  it('stops an instruction released while the pass decided it', async () => {
    const name = { list: 'list-a', version: 1, entries: [nameEntry('n1', 'OOO Volga Test Supplies')] };
    const uetr = await submitOn(indexesOf([name]), 1);
    assert.equal(await stateOf(uetr), 'HELD_FOR_REVIEW');
    let released = false;
    // The officers' release commits just before the pass's own change: the pass must look again.
    const racing: InstructionStore = {
      ...store,
      transition: async (input) => {
        if (!released && input.uetr === uetr) {
          released = true;
          await store.transition({
            uetr,
            from: ['HELD_FOR_REVIEW'],
            to: 'ACCEPTED',
            reason: NO_REASON,
            traceId: 't',
            traceparent: '',
            nowMs: Date.now(),
          });
        }
        return store.transition(input);
      },
    };
    start({ store: racing });
    const blocked = { list: 'internal', version: 1, entries: [bicEntry('b1', 'KSNVKZKA')] };
    passes.changed([{ list: 'internal', version: 1 }], indexesOf([name, blocked]), 2);
    await passes.settled();
    assert.equal(released, true);
    assert.equal(await stateOf(uetr), 'REJECTED');
  });

  it('goes ahead after its bound when a decision on the old lists is never settled', async () => {
    const before = indexesOf([{ list: 'internal', version: 1, entries: [] }]);
    const lost = inFlight.begin(1);
    const uetr = await submitOn(before, 1);
    start({ drainBoundMs: 100 });
    passes.changed(
      [{ list: 'internal', version: 2 }],
      indexesOf([{ list: 'internal', version: 2, entries: [bicEntry('b1', 'KSNVKZKA')] }]),
      2,
    );
    await passes.settled();
    assert.equal(await stateOf(uetr), 'REJECTED');
    lost();
  });

  /**
   * The next pass finds a new BIC hit on an instruction a delivery attempt of which has started:
   * it stays ACCEPTED, and the next attempt is refused with RR04.
   */
  async function stoppedByNewHit(uetr: string): Promise<{ reason: Reason }> {
    start();
    const after = indexesOf([{ list: 'internal', version: 2, entries: [bicEntry('b1', 'KSNVKZKA')] }]);
    passes.changed([{ list: 'internal', version: 2 }], after, 2);
    await passes.settled();
    assert.equal(await stateOf(uetr), 'ACCEPTED', 'the counterparty may hold it: not overturned');
    const next = await store.startAttempt(uetr, 'primary', Date.now());
    assert.ok(next.kind === 'stopped', next.kind);
    assert.equal(next.reason.code, 'RR04');
    return next;
  }

  it('asks for no further delivery attempt of an instruction already in delivery', async () => {
    const uetr = await submitOn(indexesOf([{ list: 'internal', version: 1, entries: [] }]), 1);
    assert.equal((await store.startAttempt(uetr, 'primary', Date.now())).kind, 'ok');
    await stoppedByNewHit(uetr);
  });

  it('asks for no further attempt of a replayed instruction, whose earlier attempt may have reached the counterparty', async () => {
    const uetr = await submitOn(indexesOf([{ list: 'internal', version: 1, entries: [] }]), 1);
    // Its attempt timed out and the attempts ran out; an operator replayed it.
    assert.equal((await store.startAttempt(uetr, 'primary', Date.now())).kind, 'ok');
    assert.equal((await moveDirectly(store, uetr, 'ACCEPTED', 'FAILED')).kind, 'ok');
    assert.equal((await moveDirectly(store, uetr, 'FAILED', 'ACCEPTED')).kind, 'ok');
    const next = await stoppedByNewHit(uetr);
    assert.match(next.reason.description, /may have reached the counterparty/);
  });

  it('runs a failed pass again', async () => {
    const uetr = await submitOn(indexesOf([{ list: 'internal', version: 1, entries: [] }]), 1);
    let failures = 0;
    const flaky: InstructionStore = {
      ...store,
      openPage: (partition, cursor, count) => {
        if (failures++ === 0) return Promise.reject(new Error('Connection is closed.'));
        return store.openPage(partition, cursor, count);
      },
    };
    start({ store: flaky });
    const after = indexesOf([{ list: 'internal', version: 2, entries: [bicEntry('b1', 'KSNVKZKA')] }]);
    passes.changed([{ list: 'internal', version: 2 }], after, 2);
    await passes.settled();
    assert.ok(failures > 1);
    assert.equal(await stateOf(uetr), 'REJECTED');
  });

  describe('a release, screened on the current lists first', () => {
    const listA = { list: 'list-a', version: 1, entries: [nameEntry('n1', 'OOO Volga Test Supplies')] };
    const release = (holds: HoldReview, uetr: string, officer: string) =>
      holds.decide({
        uetr,
        evidence: '',
        decision: 'release',
        reasonCode: '',
        comment: 'checked',
        officer,
        traceId: 't',
        traceparent: '',
      });
    const reviewOn = (lists: readonly ListIndex[], generation: number, over: Partial<HoldReviewDeps> = {}) =>
      createHoldReview({
        store,
        audit: createAuditLog(redis, createKeySpace(prefix, 4)),
        now: Date.now,
        releasesRequired: 2,
        ...over,
        screening: {
          snapshot: () => ({ kind: 'current', lists, generation }),
          options: OPTIONS,
          inFlight,
        },
      });

    beforeEach(() => start());

    it('goes through on the lists it was held on', async () => {
      const lists = indexesOf([listA]);
      const uetr = await submitOn(lists, 1);
      const holds = reviewOn(lists, 1);
      await release(holds, uetr, 'alice');
      assert.deepEqual(await release(holds, uetr, 'bob'), {
        state: 'ACCEPTED',
        releasedBy: ['alice', 'bob'],
        releasesNeeded: 0,
      });
      assert.equal(await stateOf(uetr), 'ACCEPTED');
    });

    /** Held on list-a; released by alice, then by bob once `added` is current too. */
    async function releasedAfter(added: { list: string; version: number; entries: ListEntry[] }) {
      const uetr = await submitOn(indexesOf([listA]), 1);
      const holds = reviewOn(indexesOf([listA, added]), 2);
      await release(holds, uetr, 'alice');
      const answer = await release(holds, uetr, 'bob');
      return { uetr, refused: 'kind' in answer && answer.kind };
    }

    it('is refused, and the instruction held again, on a new name hit', async () => {
      const { uetr, refused } = await releasedAfter({
        list: 'list-b',
        version: 1,
        entries: [nameEntry('n2', 'Caravan Test Trading')],
      });
      assert.equal(refused, 'failed-precondition');
      assert.equal(await stateOf(uetr), 'HELD_FOR_REVIEW');
      assert.deepEqual(await store.releasesOf(uetr), []);
      assert.equal(parseEvidence((await store.get(uetr))!.screening).hits.length, 2);
    });

    /** Another replica's pass holding the instruction again, on new evidence. */
    const heldAgain = (uetr: string) =>
      store.transition({
        uetr,
        from: ['HELD_FOR_REVIEW'],
        to: 'HELD_FOR_REVIEW',
        reason: NO_REASON,
        traceId: 't',
        traceparent: '',
        nowMs: Date.now(),
        screening: JSON.stringify({ screened: true, versions: [], hits: [] }),
      });

    it('is refused when re-screening replaced the evidence it was decided on', async () => {
      const lists = indexesOf([listA]);
      const uetr = await submitOn(lists, 1);
      // Another replica's pass holds it again, with a new hit, between the officer's read and release.
      const racing: InstructionStore = {
        ...store,
        addRelease: async (id, officer, ifScreening, audit) => {
          const approval = await store.addRelease(id, officer, ifScreening, audit);
          await heldAgain(id);
          return approval;
        },
      };
      const holds = reviewOn(lists, 1, { store: racing, releasesRequired: 1 });
      const answer = await release(holds, uetr, 'alice');
      assert.equal('kind' in answer && answer.kind, 'failed-precondition');
      assert.equal(await stateOf(uetr), 'HELD_FOR_REVIEW');
    });

    it('does not count an approval given on evidence re-screening replaced before it landed', async () => {
      const lists = indexesOf([listA]);
      const uetr = await submitOn(lists, 1);
      // Another replica's pass holds it again between the officer's read and the approval's write.
      const racing: InstructionStore = {
        ...store,
        addRelease: async (id, officer, ifScreening, audit) => {
          await heldAgain(id);
          return store.addRelease(id, officer, ifScreening, audit);
        },
      };
      const holds = reviewOn(lists, 1, { store: racing, releasesRequired: 2 });
      const answer = await release(holds, uetr, 'alice');
      assert.equal('kind' in answer && answer.kind, 'failed-precondition');
      assert.match('message' in answer ? answer.message : '', /held on new evidence/);
      assert.deepEqual(await store.releasesOf(uetr), []);
      // A release of an instruction no longer held records nothing either.
      await store.transition({
        uetr,
        from: ['HELD_FOR_REVIEW'],
        to: 'REJECTED',
        reason: { code: 'RR04', description: 'rejected' },
        traceId: 't',
        traceparent: '',
        nowMs: Date.now(),
      });
      const record = (await store.get(uetr))!;
      assert.deepEqual(await store.addRelease(uetr, 'bob', record.screening), {
        kind: 'stale',
        state: 'REJECTED',
      });
      assert.deepEqual(await store.releasesOf(uetr), []);
    });

    it('is refused, and the instruction rejected, on a new identifier hit', async () => {
      const { uetr, refused } = await releasedAfter({
        list: 'internal',
        version: 1,
        entries: [bicEntry('b1', 'KSNVKZKA')],
      });
      assert.equal(refused, 'failed-precondition');
      assert.equal(await stateOf(uetr), 'REJECTED');
    });
  });

  it('leaves alone what was screened on the same versions, and what has no new hit', async () => {
    const lists = indexesOf([{ list: 'internal', version: 1, entries: [bicEntry('b1', 'ABCDKZKA')] }]);
    const uetr = await submitOn(lists, 1);
    const recorded = (await store.eventsAfter(uetr, '0')).length;
    start();
    passes.changed([{ list: 'internal', version: 1 }], lists, 1);
    await passes.settled();
    const newer = indexesOf([{ list: 'internal', version: 2, entries: [bicEntry('b2', 'EFGHKZKA')] }]);
    passes.changed([{ list: 'internal', version: 2 }], newer, 2);
    await passes.settled();
    assert.equal(await stateOf(uetr), 'ACCEPTED');
    assert.equal((await store.eventsAfter(uetr, '0')).length, recorded);
  });
});

describe('screening decisions under way', () => {
  it('resolves drained once the older generations are settled, whatever newer ones do', async () => {
    const inFlight = createScreeningInFlight();
    const old = inFlight.begin(1);
    const current = inFlight.begin(2);
    let drained = false;
    const waiting = inFlight.drained(2).then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false);
    old();
    old();
    await waiting;
    assert.equal(drained, true);
    // Decisions on the generation itself, or newer, never hold it up.
    const more = inFlight.begin(3);
    await inFlight.drained(2);
    current();
    more();
    await inFlight.drained(4);
  });
});
