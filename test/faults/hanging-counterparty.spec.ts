import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { InstructionProblem } from '../../src/gen/caravan/operations/v1/operations';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createReceiverLog } from '../../src/receiver';
import type { RouteRule } from '../../src/routing/route-rule';
import type { InstructionRecord } from '../../src/store/instruction-record';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { asOfficer, ROLE_TOKENS_ENV } from '../support/compliance';
import { counterparty, operationsClient, ops, route, startTestReceiver } from '../support/delivery';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { startBlackHole, startHangingReceiver } from '../support/silent-counterparties';

const HALYK = asParticipant('HSBKKZKX');
const OLGA = asOfficer('olga');
/** Submissions in flight at once, as a bank's integration would send them. */
const SUBMITTERS = 16;

/** An instruction to the bank with this BIC, which the route table sends by creditor agent. */
const to = (bic: string): SettlementInstruction =>
  validInstruction({ creditorAgent: { bic }, instructedAgent: { bic } });

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)];
};

/** Milliseconds from the instruction's acceptance to its final state, from its own history. */
const settleMs = (record: InstructionRecord): number => {
  const accepted = record.history.find((e) => e.state === 'ACCEPTED');
  const final = record.history[record.history.length - 1];
  return accepted === undefined ? NaN : final.occurredAtMs - accepted.occurredAtMs;
};

/**
 * The fault tests of a counterparty that takes the connection and never answers: a gRPC server
 * whose handler never calls back, and a TCP listener that accepts and stays silent (no HTTP/2
 * handshake). Each case runs its own in-process gateway with its dispatcher, against real
 * servers on loopback, and counts outcomes from the instruction records and the receivers' logs.
 */
describe('fault: a counterparty that accepts the connection and never answers', function () {
  this.timeout(120_000);
  let redis: Redis;
  const cleanups: (() => Promise<void>)[] = [];

  before(() => {
    redis = testRedis();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(() => redis.disconnect());

  /** A key prefix of its own for one case, deleted after it. */
  function newPrefix(name: string): string {
    const prefix = uniquePrefix(name);
    cleanups.push(() => deleteUnder(redis, prefix));
    return prefix;
  }

  async function startGateway(prefix: string, routes: RouteRule[], env: Record<string, string>) {
    const gw: TestGateway = await startTestGateway(prefix, {
      routes,
      env: { CARAVAN_DISPATCHER: 'on', CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV, ...env },
    });
    const client = devClient(gw.address);
    cleanups.push(async () => {
      client.close();
      await gw.gateway.stop();
    });
    const store = createInstructionStore(redis, createKeySpace(prefix, gw.config.partitions));
    return { gw, client, store };
  }

  /** A reference receiver under `prefix`, stopped after the case. */
  async function receiver(prefix: string, name: string) {
    const r = await startTestReceiver(prefix, name);
    cleanups.push(() => r.running.stop());
    return { address: r.address, log: createReceiverLog(redis, prefix, name) };
  }

  /** Submits every instruction (SUBMITTERS at a time); each must be ACCEPTED. */
  async function submitAll(
    client: ReturnType<typeof devClient>,
    instructions: SettlementInstruction[],
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < instructions.length) {
        const instruction = instructions[next++];
        const answer = await submit(client, instruction, HALYK);
        assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED, answer.reason?.description);
      }
    };
    await Promise.all(Array.from({ length: SUBMITTERS }, worker));
  }

  /** Waits until none of the instructions is ACCEPTED any more (or the time is up); their records. */
  async function settled(
    store: InstructionStore,
    uetrs: string[],
    timeoutMs: number,
  ): Promise<InstructionRecord[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const records = await Promise.all(uetrs.map((u) => store.get(u)));
      const open = records.filter((r) => r === null || r.state === 'ACCEPTED').length;
      if (open === 0 || Date.now() >= until) return records.filter((r): r is InstructionRecord => r !== null);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const tally = (records: InstructionRecord[]) => {
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    return counts;
  };

  it('fails over from a hung gRPC counterparty and from a TCP black hole: every instruction DELIVERED once via the second, and both circuits open', async () => {
    const PER_ROUTE = 100;
    const SECOND_WAVE = 20;
    const DEADLINE_MS = 1000;
    const prefix = newPrefix('fault-hang-failover');
    const hung = await startHangingReceiver();
    const hole = await startBlackHole();
    cleanups.push(
      () => hung.stop(),
      () => hole.stop(),
    );
    const rzbm = await receiver(prefix, 'rzbm-backup');
    const tbcb = await receiver(prefix, 'tbcb-backup');
    const { gw, client, store } = await startGateway(
      prefix,
      [
        route('ru', [counterparty('rzbm-hung', hung.address), counterparty('rzbm-backup', rzbm.address)], {
          creditorAgent: 'RZBMRUMM',
        }),
        route(
          'ge',
          [counterparty('tbcb-blackhole', hole.address), counterparty('tbcb-backup', tbcb.address)],
          { creditorAgent: 'TBCBGE22' },
        ),
      ],
      {
        CARAVAN_DELIVERY_DEADLINE_MS: String(DEADLINE_MS),
        CARAVAN_DELIVERY_ATTEMPTS: '3',
        CARAVAN_RETRY_BASE_MS: '50',
        CARAVAN_RETRY_MAX_MS: '200',
        CARAVAN_BREAKER_FAILURES: '5',
        // Long enough that no half-open trial happens during the case: "open" stays observable.
        CARAVAN_BREAKER_OPEN_MS: '120000',
        CARAVAN_SHUTDOWN_GRACE_MS: '500',
      },
    );

    const ru = Array.from({ length: PER_ROUTE }, () => to('RZBMRUMM'));
    const ge = Array.from({ length: PER_ROUTE }, () => to('TBCBGE22'));
    const firstWave = [...ru, ...ge];
    const started = Date.now();
    await submitAll(client, firstWave);
    const records = await settled(
      store,
      firstWave.map((i) => i.uetr),
      30_000,
    );
    const firstWaveMs = Date.now() - started;

    // Once the circuits are open, later instructions go straight to the backups without waiting.
    const secondWave = [
      ...Array.from({ length: SECOND_WAVE / 2 }, () => to('RZBMRUMM')),
      ...Array.from({ length: SECOND_WAVE / 2 }, () => to('TBCBGE22')),
    ];
    await submitAll(client, secondWave);
    const later = await settled(
      store,
      secondWave.map((i) => i.uetr),
      30_000,
    );

    const attempts = await Promise.all(
      [...firstWave, ...secondWave].map(async (i) => ({
        uetr: i.uetr,
        attempts: await store.attemptsOf(i.uetr),
      })),
    );
    const firstHop = (cp: string) =>
      attempts.filter(
        (a) => a.attempts[0]?.counterparty === cp && a.attempts[0]?.outcome === 'DEADLINE_EXCEEDED',
      ).length;
    const breakers = new Map(
      gw.gateway.dispatcher!.breakers().map((b) => [b.key.split('|')[0], b.state] as const),
    );
    const receipts = {
      ru: await rzbm.log.received(),
      ge: await tbcb.log.received(),
    };
    const totals = { ru: await rzbm.log.counts(), ge: await tbcb.log.counts() };
    const firstCounts = tally(records);
    const secondCounts = tally(later);
    const firstLatency = records.map(settleMs);
    const secondLatency = later.map(settleMs);
    console.log(
      `      counts: first wave ${firstWave.length} submitted, delivered ${firstCounts.get('DELIVERED') ?? 0}, ` +
        `failed ${firstCounts.get('FAILED') ?? 0}, still accepted ${firstCounts.get('ACCEPTED') ?? 0} in ${firstWaveMs} ms ` +
        `(accept→delivered p50 ${percentile(firstLatency, 0.5)} ms, max ${Math.max(...firstLatency)} ms; ` +
        `timed out first on rzbm-hung ${firstHop('rzbm-hung')}, on tbcb-blackhole ${firstHop('tbcb-blackhole')}); ` +
        `second wave ${secondWave.length}, delivered ${secondCounts.get('DELIVERED') ?? 0} in max ${Math.max(...secondLatency)} ms ` +
        `with ${later.filter((r) => r.attempts === 1).length} on the first attempt; ` +
        `hung gRPC calls ${[...hung.hungCalls.values()].reduce((a, b) => a + b, 0)} ` +
        `(${hung.hungCalls.size} UETRs), black-hole TCP connections ${hole.connections()}; ` +
        `backups received ${receipts.ru.length}+${receipts.ge.length} distinct in ${totals.ru.deliveries}+${totals.ge.deliveries} deliveries; ` +
        `circuits rzbm-hung ${breakers.get('rzbm-hung')}, tbcb-blackhole ${breakers.get('tbcb-blackhole')}, ` +
        `rzbm-backup ${breakers.get('rzbm-backup')}, tbcb-backup ${breakers.get('tbcb-backup')}`,
    );

    assert.equal(firstCounts.get('DELIVERED'), firstWave.length, JSON.stringify([...firstCounts]));
    assert.equal(secondCounts.get('DELIVERED'), secondWave.length, JSON.stringify([...secondCounts]));
    const timedOutFirst = new Set(
      attempts.filter((a) => a.attempts[0]?.outcome === 'DEADLINE_EXCEEDED').map((a) => a.uetr),
    );
    for (const r of records) {
      const backup = r.instruction.creditorAgent?.bic === 'RZBMRUMM' ? 'rzbm-backup' : 'tbcb-backup';
      assert.match(r.reason.description, new RegExp(`^delivered to ${backup} `), r.uetr);
      // A delivery that waited for a silent call took its deadline, and not much more.
      if (timedOutFirst.has(r.uetr))
        assert.ok(settleMs(r) >= DEADLINE_MS - 50, `${r.uetr} took ${settleMs(r)} ms`);
      assert.ok(settleMs(r) < 2 * DEADLINE_MS + 3_000, `${r.uetr} took ${settleMs(r)} ms`);
    }
    // Both kinds of silence cost each early instruction one deadline, then opened the circuit.
    assert.ok(firstHop('rzbm-hung') >= 5, 'the hung counterparty was called and timed out');
    assert.ok(firstHop('tbcb-blackhole') >= 5, 'the black hole was called and timed out');
    assert.equal(breakers.get('rzbm-hung'), 'open');
    assert.equal(breakers.get('tbcb-blackhole'), 'open');
    assert.equal(breakers.get('rzbm-backup'), 'closed');
    assert.equal(breakers.get('tbcb-backup'), 'closed');
    for (const r of later) {
      assert.deepEqual(
        (await store.attemptsOf(r.uetr)).map((a) => [a.counterparty, a.outcome]),
        [[r.instruction.creditorAgent?.bic === 'RZBMRUMM' ? 'rzbm-backup' : 'tbcb-backup', 'accepted']],
        'an open circuit is skipped without a call',
      );
      assert.ok(settleMs(r) < DEADLINE_MS, `${r.uetr} waited ${settleMs(r)} ms behind an open circuit`);
    }
    // Each instruction reached its backup exactly once, and nothing else did.
    for (const [bank, sent] of [
      ['ru', [...ru, ...secondWave.slice(0, SECOND_WAVE / 2)]],
      ['ge', [...ge, ...secondWave.slice(SECOND_WAVE / 2)]],
    ] as const) {
      const got = receipts[bank];
      assert.equal(got.length, sent.length, `${bank} backup received ${got.length}`);
      assert.equal(totals[bank].deliveries, sent.length, `${bank} backup was not sent anything twice`);
      assert.deepEqual(new Set(got.map((g) => g.uetr)), new Set(sent.map((i) => i.uetr)));
    }
  });

  it('fails instructions routed only to a hung counterparty with AB05 after the configured attempts, and replays them once it answers again', async () => {
    const INSTRUCTIONS = 20;
    const ATTEMPTS = 3;
    const DEADLINE_MS = 600;
    const prefix = newPrefix('fault-hang-only');
    const hung = await startHangingReceiver();
    cleanups.push(() => hung.stop());
    const { gw, client, store } = await startGateway(
      prefix,
      [route('am', [counterparty('ameria-hung', hung.address)], { creditorAgent: 'ARMIAM22' })],
      {
        CARAVAN_DELIVERY_DEADLINE_MS: String(DEADLINE_MS),
        CARAVAN_DELIVERY_ATTEMPTS: String(ATTEMPTS),
        CARAVAN_RETRY_BASE_MS: '50',
        CARAVAN_RETRY_MAX_MS: '200',
        // The circuit stays closed here so that every configured attempt is a real call that hangs.
        CARAVAN_BREAKER_FAILURES: '1000',
        CARAVAN_SHUTDOWN_GRACE_MS: '500',
      },
    );
    const operations = operationsClient(gw.address);
    cleanups.push(() => Promise.resolve(operations.close()));

    const instructions = Array.from({ length: INSTRUCTIONS }, () => to('ARMIAM22'));
    const uetrs = instructions.map((i) => i.uetr);
    const started = Date.now();
    await submitAll(client, instructions);
    const failed = await settled(store, uetrs, 20_000);
    const failedMs = Date.now() - started;
    const attempts = await Promise.all(uetrs.map((u) => store.attemptsOf(u)));
    const counts = tally(failed);
    const reasons = new Map<string, number>();
    for (const r of failed) reasons.set(r.reason.code, (reasons.get(r.reason.code) ?? 0) + 1);
    const hungCalls = [...hung.hungCalls.values()].reduce((a, b) => a + b, 0);
    const listed = await ops(
      operations,
      'listInstructions',
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_FAILED],
        stuckAfterMs: '0',
        participant: '',
        limit: 1000,
      },
      OLGA,
    );

    // The counterparty's operator restarts its stuck workers; Caravan's operator replays.
    hung.recover();
    const replayStarted = Date.now();
    for (const uetr of uetrs) {
      const replayed = await ops(
        operations,
        'replayInstruction',
        { uetr, comment: 'INC-0606 ameria-hung answers again' },
        OLGA,
      );
      assert.equal(replayed.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    }
    const replayed = await settled(store, uetrs, 20_000);
    const replayMs = Date.now() - replayStarted;
    const replayCounts = tally(replayed);
    console.log(
      `      counts: ${INSTRUCTIONS} instructions to a hung counterparty (deadline ${DEADLINE_MS} ms, ${ATTEMPTS} attempts): ` +
        `failed ${counts.get('FAILED') ?? 0} (${[...reasons].map(([c, n]) => `${c} ${n}`).join(', ')}), ` +
        `delivered ${counts.get('DELIVERED') ?? 0}, still accepted ${counts.get('ACCEPTED') ?? 0} after ${failedMs} ms; ` +
        `attempts per instruction ${[...new Set(attempts.map((a) => a.length))].join('/')}, ` +
        `all DEADLINE_EXCEEDED: ${attempts.every((a) => a.every((x) => x.outcome === 'DEADLINE_EXCEEDED'))}; ` +
        `hung calls ${hungCalls}; listed as FAILED ${listed.instructions.length}; ` +
        `replayed ${INSTRUCTIONS}: delivered ${replayCounts.get('DELIVERED') ?? 0} in ${replayMs} ms, ` +
        `answered once each ${[...hung.answered.values()].filter((n) => n === 1).length}`,
    );

    assert.equal(counts.get('FAILED'), INSTRUCTIONS, JSON.stringify([...counts]));
    assert.deepEqual([...reasons], [['AB05', INSTRUCTIONS]]);
    for (const r of failed) {
      assert.equal(
        r.reason.description,
        'the counterparty did not answer within the deadline on any attempt',
      );
      // Every attempt waited out its deadline; the backoffs between them are at most 200 ms each.
      assert.ok(settleMs(r) >= ATTEMPTS * DEADLINE_MS - 50, `${r.uetr} failed after ${settleMs(r)} ms`);
    }
    for (const a of attempts) {
      assert.deepEqual(
        a.map((x) => [x.attempt, x.counterparty, x.outcome]),
        Array.from({ length: ATTEMPTS }, (_, n) => [n + 1, 'ameria-hung', 'DEADLINE_EXCEEDED']),
      );
    }
    assert.equal(hungCalls, INSTRUCTIONS * ATTEMPTS);
    assert.deepEqual(new Set(hung.hungCalls.keys()), new Set(uetrs));
    assert.deepEqual(
      new Set(listed.instructions.map((i) => i.uetr)),
      new Set(uetrs),
      'every failed instruction is on the operators’ list',
    );
    assert.equal(replayCounts.get('DELIVERED'), INSTRUCTIONS, JSON.stringify([...replayCounts]));
    for (const r of replayed) {
      assert.equal(r.reason.description, `delivered to ameria-hung (attempt ${ATTEMPTS + 1})`);
    }
    assert.deepEqual(new Set(hung.answered.keys()), new Set(uetrs));
    for (const n of hung.answered.values()) assert.equal(n, 1, 'each replay answered with one call');
  });

  it('keeps delivering to a healthy counterparty on another route while hung calls are in flight', async () => {
    const HEALTHY = 50;
    const HUNG = 48;
    const CONCURRENCY = 64;
    const DEADLINE_MS = 4000;
    const prefix = newPrefix('fault-hang-isolation');
    const hung = await startHangingReceiver();
    cleanups.push(() => hung.stop());
    const tbcb = await receiver(prefix, 'tbcb');
    const { gw, client, store } = await startGateway(
      prefix,
      [
        route('ru', [counterparty('rzbm-hung', hung.address)], { creditorAgent: 'RZBMRUMM' }),
        route('ge', [counterparty('tbcb', tbcb.address)], { creditorAgent: 'TBCBGE22' }),
      ],
      {
        CARAVAN_DISPATCH_CONCURRENCY: String(CONCURRENCY),
        CARAVAN_DELIVERY_DEADLINE_MS: String(DEADLINE_MS),
        CARAVAN_DELIVERY_ATTEMPTS: '1',
        CARAVAN_BREAKER_FAILURES: '1000',
        CARAVAN_SHUTDOWN_GRACE_MS: '500',
      },
    );
    const dispatcher = gw.gateway.dispatcher!;

    /** Submits HEALTHY instructions to the healthy bank; wall time until all are DELIVERED. */
    const healthyRun = async () => {
      const batch = Array.from({ length: HEALTHY }, () => to('TBCBGE22'));
      const started = Date.now();
      await submitAll(client, batch);
      const records = await settled(
        store,
        batch.map((i) => i.uetr),
        30_000,
      );
      return { ms: Date.now() - started, records, latency: records.map(settleMs) };
    };

    const baseline = await healthyRun();
    const stuck = Array.from({ length: HUNG }, () => to('RZBMRUMM'));
    await submitAll(client, stuck);
    const until = Date.now() + DEADLINE_MS;
    while (hung.held() < HUNG && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const heldBefore = hung.held();
    const inFlightBefore = dispatcher.inFlight();
    const during = await healthyRun();
    const heldAfter = hung.held();
    const stuckRecords = await settled(
      store,
      stuck.map((i) => i.uetr),
      DEADLINE_MS + 20_000,
    );
    const stuckCounts = tally(stuckRecords);
    console.log(
      `      counts: ${HEALTHY} instructions to a healthy bank, alone: delivered ` +
        `${tally(baseline.records).get('DELIVERED') ?? 0} in ${baseline.ms} ms (accept→delivered p50 ` +
        `${percentile(baseline.latency, 0.5)} ms, max ${Math.max(...baseline.latency)} ms); beside ${heldBefore} hung calls ` +
        `(dispatcher ${inFlightBefore}/${CONCURRENCY} in flight, deadline ${DEADLINE_MS} ms): delivered ` +
        `${tally(during.records).get('DELIVERED') ?? 0} in ${during.ms} ms (p50 ${percentile(during.latency, 0.5)} ms, ` +
        `max ${Math.max(...during.latency)} ms), hung calls still open after ${heldAfter}; the ${HUNG} hung ones ended ` +
        `FAILED ${stuckCounts.get('FAILED') ?? 0} (${[...new Set(stuckRecords.map((r) => r.reason.code))].join()})`,
    );

    assert.equal(tally(baseline.records).get('DELIVERED'), HEALTHY);
    assert.equal(tally(during.records).get('DELIVERED'), HEALTHY);
    assert.equal(heldBefore, HUNG, 'every hung instruction had its call open before the healthy run');
    assert.ok(inFlightBefore >= HUNG, `dispatcher in flight ${inFlightBefore}`);
    // The healthy bank's instructions all settled while every hung call was still open: none of
    // them waited for a hung call's deadline or for a dispatcher slot a hung call held.
    assert.equal(heldAfter, HUNG, 'the hung calls outlasted the healthy run');
    assert.ok(Math.max(...during.latency) < DEADLINE_MS, `max ${Math.max(...during.latency)} ms`);
    assert.equal(stuckCounts.get('FAILED'), HUNG);
    assert.equal((await tbcb.log.counts()).deliveries, 2 * HEALTHY);
  });

  it('keeps delivering to a healthy counterparty when a hung one has more instructions queued than the dispatcher has slots', async () => {
    const HEALTHY = 50;
    const HUNG = 200;
    const CONCURRENCY = 32;
    const DEADLINE_MS = 1000;
    const prefix = newPrefix('fault-hang-backlog');
    const hung = await startHangingReceiver();
    cleanups.push(() => hung.stop());
    const tbcb = await receiver(prefix, 'tbcb');
    const { client, store } = await startGateway(
      prefix,
      [
        route('ru', [counterparty('rzbm-hung', hung.address)], { creditorAgent: 'RZBMRUMM' }),
        route('ge', [counterparty('tbcb', tbcb.address)], { creditorAgent: 'TBCBGE22' }),
      ],
      {
        CARAVAN_DISPATCH_CONCURRENCY: String(CONCURRENCY),
        CARAVAN_DELIVERY_DEADLINE_MS: String(DEADLINE_MS),
        // Long retries: the hung instructions are still being retried when the healthy ones are done.
        CARAVAN_DELIVERY_ATTEMPTS: '8',
        CARAVAN_RETRY_BASE_MS: '1000',
        CARAVAN_RETRY_MAX_MS: '5000',
        CARAVAN_SHUTDOWN_GRACE_MS: '500',
      },
    );
    const stuck = Array.from({ length: HUNG }, () => to('RZBMRUMM'));
    await submitAll(client, stuck);
    // Every slot is taken by a hung call before the healthy instructions arrive.
    const until = Date.now() + DEADLINE_MS;
    while (hung.held() < CONCURRENCY && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const heldBefore = hung.held();
    const healthy = Array.from({ length: HEALTHY }, () => to('TBCBGE22'));
    const started = Date.now();
    await submitAll(client, healthy);
    const records = await settled(
      store,
      healthy.map((i) => i.uetr),
      30_000,
    );
    const ms = Date.now() - started;
    const stuckNow = tally(
      (await Promise.all(stuck.map((i) => store.get(i.uetr)))).filter(
        (r): r is InstructionRecord => r !== null,
      ),
    );
    console.log(
      `      counts: ${HUNG} instructions queued for a hung counterparty (${heldBefore} calls open, dispatcher ` +
        `concurrency ${CONCURRENCY}, deadline ${DEADLINE_MS} ms), then ${HEALTHY} for a healthy bank: delivered ` +
        `${tally(records).get('DELIVERED') ?? 0} in ${ms} ms (accept→delivered max ${Math.max(...records.map(settleMs))} ms); ` +
        `the hung ones meanwhile: still ACCEPTED ${stuckNow.get('ACCEPTED') ?? 0}, FAILED ${stuckNow.get('FAILED') ?? 0}`,
    );
    assert.ok(heldBefore >= CONCURRENCY, `the hung counterparty held every slot (${heldBefore} calls open)`);
    assert.equal(tally(records).get('DELIVERED'), HEALTHY);
    // Delivered while the hung instructions were all still between retries: the healthy ones did
    // not wait for a hung one to give up its slot by failing.
    assert.equal(stuckNow.get('ACCEPTED'), HUNG);
    assert.equal((await tbcb.log.counts()).deliveries, HEALTHY);
  });
});
