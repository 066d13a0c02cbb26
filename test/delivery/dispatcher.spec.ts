import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { InstructionProblem, type OperationsClient } from '../../src/gen/caravan/operations/v1/operations';
import { createReceiverLog } from '../../src/receiver';
import type { RouteRule } from '../../src/routing/route-rule';
import { createInstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { DISPATCH_GROUP } from '../../src/store/outbox';
import { asOfficer, ROLE_TOKENS_ENV } from '../support/compliance';
import {
  closedPort,
  counterparty,
  operationsClient,
  ops,
  route,
  startTestReceiver,
  waitForState,
  type TestReceiver,
} from '../support/delivery';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { rawUnary } from '../support/raw-grpc';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { startHangingReceiver } from '../support/silent-counterparties';

const HALYK = asParticipant('HSBKKZKX');
const FAST_DELIVERY = {
  CARAVAN_DISPATCHER: 'on',
  CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
  CARAVAN_DELIVERY_ATTEMPTS: '4',
  CARAVAN_DELIVERY_DEADLINE_MS: '400',
  CARAVAN_RETRY_BASE_MS: '20',
  CARAVAN_RETRY_MAX_MS: '80',
  CARAVAN_CLAIM_IDLE_MS: '1000',
  CARAVAN_BREAKER_FAILURES: '2',
  CARAVAN_BREAKER_OPEN_MS: '60000',
  CARAVAN_ROUTES_POLL_MS: '200',
};

describe('delivery: dispatcher, routes and replay', function () {
  this.timeout(60_000);
  let redis: Redis;
  const cleanups: (() => Promise<void>)[] = [];

  before(() => {
    redis = testRedis();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(() => redis.disconnect());

  async function setup(
    name: string,
    routes: (receivers: Record<string, TestReceiver>) => RouteRule[],
    receivers: Record<string, Parameters<typeof startTestReceiver>[2]> = { primary: {} },
    env: Record<string, string> = {},
  ) {
    const prefix = uniquePrefix(name);
    const started: Record<string, TestReceiver> = {};
    for (const [receiverName, behaviour] of Object.entries(receivers)) {
      started[receiverName] = await startTestReceiver(prefix, receiverName, behaviour);
    }
    const gw: TestGateway = await startTestGateway(prefix, {
      routes: routes(started),
      env: { ...FAST_DELIVERY, ...env },
    });
    const client = devClient(gw.address);
    const operations = operationsClient(gw.address);
    cleanups.push(async () => {
      client.close();
      operations.close();
      await gw.gateway.stop();
      for (const r of Object.values(started)) await r.running.stop();
      await deleteUnder(redis, prefix);
    });
    const log = (receiver: string) => createReceiverLog(redis, prefix, receiver);
    const keys = createKeySpace(prefix, gw.config.partitions);
    return { prefix, gw, client, operations, receivers: started, log, keys };
  }

  async function attemptsOf(keys: ReturnType<typeof createKeySpace>, uetr: string) {
    const entries = await redis.xrange(keys.instruction(uetr).attempts, '-', '+');
    return entries.map(([, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i], f[i + 1]);
      return { n: Number(m.get('n')), cp: m.get('cp'), outcome: m.get('outcome'), code: m.get('code') };
    });
  }

  async function pendingOutbox(keys: ReturnType<typeof createKeySpace>, partitions: number): Promise<number> {
    let pending = 0;
    for (let p = 0; p < partitions; p++) {
      const summary = (await redis.xpending(keys.outbox(p), DISPATCH_GROUP)) as [number];
      pending += Number(summary[0]);
    }
    return pending;
  }

  it('delivers an accepted instruction once, records DELIVERED and acknowledges the outbox entry', async () => {
    const t = await setup('deliver', (r) => [route('ru', [counterparty('primary', r.primary.address)])]);
    const instruction = validInstruction();
    const answer = await submit(t.client, instruction, HALYK);
    assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    const record = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_DELIVERED,
    );
    assert.deepEqual(
      record.history.map((e) => InstructionState[e.state]),
      ['INSTRUCTION_STATE_RECEIVED', 'INSTRUCTION_STATE_ACCEPTED', 'INSTRUCTION_STATE_DELIVERED'],
    );
    assert.match(record.history[2].reason?.description ?? '', /delivered to primary \(attempt 1\)/);
    const received = await t.log('primary').received();
    assert.deepEqual(
      received.map((r) => [r.uetr, r.attempt, r.accepted]),
      [[instruction.uetr, 1, true]],
    );
    assert.equal(await pendingOutbox(t.keys, t.gw.config.partitions), 0);
    assert.deepEqual(await attemptsOf(t.keys, instruction.uetr), [
      { n: 1, cp: 'primary', outcome: 'accepted', code: '' },
    ]);
  });

  it('fails over to the next counterparty when the first is down, and opens its circuit', async () => {
    const down = await closedPort();
    const t = await setup(
      'failover',
      (r) => [
        route('ru', [counterparty('dead', `127.0.0.1:${down}`), counterparty('backup', r.backup.address)]),
      ],
      { backup: {} },
    );
    const instructions = [validInstruction(), validInstruction(), validInstruction()];
    for (const ins of instructions) {
      await submit(t.client, ins, HALYK);
      await waitForState(t.client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    }
    const first = await attemptsOf(t.keys, instructions[0].uetr);
    assert.deepEqual(first, [
      { n: 1, cp: 'dead', outcome: 'UNAVAILABLE', code: '' },
      { n: 2, cp: 'backup', outcome: 'accepted', code: '' },
    ]);
    // Two failures open the circuit (CARAVAN_BREAKER_FAILURES=2): the third goes straight to backup.
    const third = await attemptsOf(t.keys, instructions[2].uetr);
    assert.deepEqual(third, [{ n: 1, cp: 'backup', outcome: 'accepted', code: '' }]);
    const dead = t.gw.gateway.dispatcher!.breakers().find((b) => b.key.startsWith('dead|'));
    assert.equal(dead?.state, 'open');
    assert.equal((await t.log('backup').counts()).received, 3);
  });

  it('lets one trial call through a half-open circuit and closes it when the counterparty is back', async () => {
    const port = await closedPort();
    const t = await setup(
      'half-open',
      (r) => [
        route('ru', [counterparty('flaky', `127.0.0.1:${port}`), counterparty('backup', r.backup.address)]),
      ],
      { backup: {} },
      { CARAVAN_BREAKER_OPEN_MS: '600' },
    );
    for (let i = 0; i < 2; i++) {
      const ins = validInstruction();
      await submit(t.client, ins, HALYK);
      await waitForState(t.client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    }
    const breaker = () => t.gw.gateway.dispatcher!.breakers().find((b) => b.key.startsWith('flaky|'))?.state;
    assert.equal(breaker(), 'open');
    const flaky = await startTestReceiver(t.prefix, 'flaky', { listen: `127.0.0.1:${port}` });
    cleanups.push(() => flaky.running.stop());
    await new Promise((r) => setTimeout(r, 650));
    assert.equal(breaker(), 'half-open');
    const ins = validInstruction();
    await submit(t.client, ins, HALYK);
    await waitForState(t.client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    assert.deepEqual(await attemptsOf(t.keys, ins.uetr), [
      { n: 1, cp: 'flaky', outcome: 'accepted', code: '' },
    ]);
    assert.equal(breaker(), 'closed');
  });

  it('fails an instruction that re-screening stopped while it waited out a backoff, without sending it again', async () => {
    const down = await closedPort();
    const t = await setup(
      'stopped',
      () => [route('ru', [counterparty('dead', `127.0.0.1:${down}`)])],
      undefined,
      {
        CARAVAN_DELIVERY_ATTEMPTS: '8',
        CARAVAN_RETRY_BASE_MS: '300',
        CARAVAN_RETRY_MAX_MS: '300',
        CARAVAN_BREAKER_FAILURES: '100',
      },
    );
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    const store = createInstructionStore(redis, t.keys);
    for (let i = 0; i < 100 && (await attemptsOf(t.keys, instruction.uetr)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(
      await store.requestDeliveryStop(instruction.uetr, {
        code: 'RR04',
        description: 're-screened during delivery',
      }),
      true,
    );
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.equal(failed.reason?.code, 'RR04');
    assert.ok((await attemptsOf(t.keys, instruction.uetr)).length < 8);
  });

  it('fails with the stop reason an instruction that re-screening stopped during its last attempt', async () => {
    const hung = await startHangingReceiver();
    cleanups.push(() => hung.stop());
    const t = await setup(
      'stopped-last',
      () => [route('ru', [counterparty('hung', hung.address, 1_000)])],
      {},
      {
        CARAVAN_DELIVERY_ATTEMPTS: '1',
      },
    );
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    for (let i = 0; i < 200 && !hung.hungCalls.has(instruction.uetr); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(hung.hungCalls.has(instruction.uetr), 'the only attempt is under way');
    const reason = {
      code: 'RR04',
      description: 're-screened during delivery: creditor is listed; an earlier attempt may have reached it',
    };
    const store = createInstructionStore(redis, t.keys);
    assert.equal(await store.requestDeliveryStop(instruction.uetr, reason), true);
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.deepEqual(failed.reason, reason, 'not AB05: the stop is what operators must settle');
    assert.deepEqual(failed.history.at(-1)?.reason, reason);
    assert.deepEqual(await attemptsOf(t.keys, instruction.uetr), [
      { n: 1, cp: 'hung', outcome: 'DEADLINE_EXCEEDED', code: '' },
    ]);
  });

  it('fails with AB05 when a counterparty timed out, though the last attempt found the next one down', async () => {
    const hung = await startHangingReceiver();
    cleanups.push(() => hung.stop());
    const down = await closedPort();
    const t = await setup(
      'timeout-then-down',
      () => [
        route('ru', [counterparty('hung', hung.address, 200), counterparty('dead', `127.0.0.1:${down}`)]),
      ],
      {},
      { CARAVAN_DELIVERY_ATTEMPTS: '2' },
    );
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.equal(failed.reason?.code, 'AB05', failed.reason?.description);
    assert.match(failed.reason?.description ?? '', /may have received the transfer/);
    assert.deepEqual(await attemptsOf(t.keys, instruction.uetr), [
      { n: 1, cp: 'hung', outcome: 'DEADLINE_EXCEEDED', code: '' },
      { n: 2, cp: 'dead', outcome: 'UNAVAILABLE', code: '' },
    ]);
    assert.equal(hung.hungCalls.get(instruction.uetr), 1, 'the counterparty that timed out did receive it');
  });

  it('retries with backoff, then fails with AB06, dead-letters it, and an operator replays it after fixing the route', async () => {
    const down = await closedPort();
    const t = await setup('fail-replay', () => [route('ru', [counterparty('dead', `127.0.0.1:${down}`)])]);
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.equal(failed.reason?.code, 'AB06');
    // Two calls open the circuit; the rounds after that make no call but still count.
    const attempts = await attemptsOf(t.keys, instruction.uetr);
    assert.deepEqual(
      attempts.map((a) => a.outcome),
      ['UNAVAILABLE', 'UNAVAILABLE'],
    );
    assert.equal(await pendingOutbox(t.keys, t.gw.config.partitions), 0);

    const olga = asOfficer('olga');
    const listed = await ops(
      t.operations,
      'listInstructions',
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_FAILED],
        stuckAfterMs: '0',
        participant: '',
        limit: 0,
      },
      olga,
    );
    assert.deepEqual(
      listed.instructions.map((i) => [i.uetr, i.reason?.code, i.attempts, i.counterparty, i.traceId]),
      [[instruction.uetr, 'AB06', 2, 'dead', failed.traceId]],
    );

    const err = await ops(
      t.operations,
      'replayInstruction',
      { uetr: instruction.uetr, comment: '' },
      olga,
    ).catch((e: { code: number }) => e);
    assert.equal((err as { code: number }).code, status.INVALID_ARGUMENT, 'a replay needs a comment');

    const receiver = await startTestReceiver(t.prefix, 'primary');
    cleanups.push(() => receiver.running.stop());
    await ops(
      t.operations,
      'putRoute',
      {
        route: {
          id: 'ru',
          match: undefined,
          priority: 10,
          counterparties: [
            {
              name: 'primary',
              address: receiver.address,
              transport: 2,
              serverName: '',
              caPem: '',
              deadlineMs: 0,
            },
          ],
          updatedBy: '',
          updateTime: undefined,
        },
      },
      olga,
    );
    const replayed = await ops(
      t.operations,
      'replayInstruction',
      { uetr: instruction.uetr, comment: 'INC-4711 counterparty moved' },
      olga,
    );
    assert.equal(replayed.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    await waitForState(t.client, instruction.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    const received = await t.log('primary').received();
    assert.deepEqual(
      received.map((r) => [r.uetr, r.attempt]),
      [[instruction.uetr, 3]],
      'attempt numbers keep counting',
    );

    const again = await ops(
      t.operations,
      'replayInstruction',
      { uetr: instruction.uetr, comment: 'twice' },
      olga,
    ).catch((e: { code: number }) => e);
    assert.equal(
      (again as { code: number }).code,
      status.FAILED_PRECONDITION,
      'only FAILED instructions replay',
    );
    const audit = await redis.xrange(`${t.prefix}:{audit}:log`, '-', '+');
    const actions = audit.map(([, f]) => f[f.indexOf('action') + 1]);
    assert.ok(actions.includes('route.replace'), actions.join());
    assert.ok(actions.includes('instruction.replay'), actions.join());
    // A route's audit entry names everything that decides where a transfer goes, the CA included.
    const [, replaced] = audit.find(([, f]) => f[f.indexOf('action') + 1] === 'route.replace')!;
    const details = JSON.parse(replaced[replaced.indexOf('details') + 1]) as {
      counterparties: Record<string, unknown>[];
    };
    assert.deepEqual(Object.keys(details.counterparties[0]).sort(), [
      'address',
      'caSha256',
      'deadlineMs',
      'name',
      'serverName',
      'transport',
    ]);
  });

  it("ends in FAILED with the receiver's own reason when it refuses, without retrying", async () => {
    const t = await setup('refused', (r) => [route('ru', [counterparty('picky', r.picky.address)])], {
      picky: { rejectShare: 1 },
    });
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.equal(failed.reason?.code, 'AC04');
    assert.deepEqual(await attemptsOf(t.keys, instruction.uetr), [
      { n: 1, cp: 'picky', outcome: 'rejected', code: 'AC04' },
    ]);
  });

  it('a receiver that answers after the deadline still receives the instruction once', async () => {
    const t = await setup('slow', (r) => [route('ru', [counterparty('slow', r.slow.address, 200)])], {
      slow: { delayMs: 600 },
    });
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    await waitForState(t.client, instruction.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    const attempts = await attemptsOf(t.keys, instruction.uetr);
    assert.equal(attempts[0].outcome, 'DEADLINE_EXCEEDED');
    assert.equal(attempts.at(-1)?.outcome, 'accepted');
    const log = t.log('slow');
    assert.equal((await log.received()).length, 1);
    assert.ok((await log.deliveries(instruction.uetr)) >= 2);
  });

  it('takes over the outbox entries of a dispatcher that died holding them', async () => {
    const t = await setup(
      'takeover',
      (r) => [route('ru', [counterparty('primary', r.primary.address)])],
      { primary: {} },
      {
        CARAVAN_DISPATCHER: 'off',
      },
    );
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    const p = t.keys.partitionOf(instruction.uetr);
    await redis.xgroup('CREATE', t.keys.outbox(p), DISPATCH_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const read = await redis.xreadgroup(
      'GROUP',
      DISPATCH_GROUP,
      'ghost',
      'COUNT',
      10,
      'STREAMS',
      t.keys.outbox(p),
      '>',
    );
    assert.ok(read, 'the ghost consumer took the entry and will never process it');
    const second = await startTestGateway(t.prefix, {
      routes: [route('ru', [counterparty('primary', t.receivers.primary.address)])],
      env: { ...FAST_DELIVERY },
    });
    cleanups.push(() => second.gateway.stop());
    await waitForState(t.client, instruction.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    assert.equal((await t.log('primary').received()).length, 1);
  });

  it('fails a delivery with CNOR when its route was removed after acceptance', async () => {
    const t = await setup(
      'route-gone',
      (r) => [route('ru', [counterparty('primary', r.primary.address)])],
      { primary: {} },
      {
        CARAVAN_DISPATCHER: 'off',
      },
    );
    const instruction = validInstruction();
    await submit(t.client, instruction, HALYK);
    await ops(t.operations, 'removeRoute', { id: 'ru' }, asOfficer('olga'));
    const second = await startTestGateway(t.prefix, { routes: [], env: { ...FAST_DELIVERY } });
    cleanups.push(() => second.gateway.stop());
    const failed = await waitForState(
      t.client,
      instruction.uetr,
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    assert.equal(failed.reason?.code, 'CNOR');
  });
});

describe('routing at intake and the Operations service', function () {
  this.timeout(30_000);
  let redis: Redis;
  let prefix: string;
  let gw: TestGateway;
  let client: SettlementGatewayClient;
  let operations: OperationsClient;
  const olga = () => asOfficer('olga');

  before(async () => {
    redis = testRedis();
    prefix = uniquePrefix('ops');
    gw = await startTestGateway(prefix, {
      routes: [route('ge', [counterparty('tbc', '127.0.0.1:1')], { creditorAgent: 'GE' })],
      env: { CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV },
    });
    client = devClient(gw.address);
    operations = operationsClient(gw.address);
  });
  after(async () => {
    client.close();
    operations.close();
    await gw.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('rejects an instruction no route takes with CNOR, before acknowledging it', async () => {
    const instruction = validInstruction();
    const answer = await submit(client, instruction, HALYK);
    assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_REJECTED);
    assert.equal(answer.reason?.code, 'CNOR');
    assert.match(answer.reason?.description ?? '', /RZBMRUMM.*KZT/);
    const keys = createKeySpace(prefix, gw.config.partitions);
    const outbox = await redis.xrange(keys.outbox(keys.partitionOf(instruction.uetr)), '-', '+');
    assert.equal(outbox.filter(([, f]) => f.includes(instruction.uetr)).length, 0);
  });

  it('accepts it once an operator puts a route, seen by intake at once', async () => {
    const put = await ops(
      operations,
      'putRoute',
      {
        route: {
          id: 'ru-raiffeisen',
          match: { creditorAgent: 'RZBMRUMM', currency: 'KZT', minAmount: '', maxAmount: '' },
          priority: 5,
          counterparties: [
            { name: 'rzbm', address: '127.0.0.1:1', transport: 2, serverName: '', caPem: '', deadlineMs: 0 },
          ],
          updatedBy: 'forged',
          updateTime: undefined,
        },
      },
      olga(),
    );
    assert.equal(put.replaced, false);
    assert.equal(put.route?.updatedBy, 'olga', 'the operator is taken from the credentials, not the request');
    const answer = await submit(client, validInstruction(), HALYK);
    assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    const listed = await ops(operations, 'listRoutes', {}, olga());
    assert.deepEqual(
      listed.routes.map((r) => r.id),
      ['ru-raiffeisen', 'ge'],
    );
    assert.equal(listed.version, put.version);
  });

  it('refuses a bad route with every field violation, and stores nothing', async () => {
    const before = await ops(operations, 'listRoutes', {}, olga());
    const badRoute = (transport: number) =>
      ops(
        operations,
        'putRoute',
        {
          route: {
            id: 'BAD ID',
            match: { creditorAgent: 'XX', currency: 'ZZZ', minAmount: '5', maxAmount: '1' },
            priority: 1,
            counterparties: [
              { name: 'x', address: 'nowhere', transport, serverName: '', caPem: '', deadlineMs: 0 },
            ],
            updatedBy: '',
            updateTime: undefined,
          },
        },
        olga(),
      ).catch((e: { code: number; details: string }) => e);
    // The transport enum is checked at the edge, before the rule reaches the domain's checks.
    const err = await badRoute(0);
    assert.equal((err as { code: number }).code, status.INVALID_ARGUMENT);
    assert.match((err as { details: string }).details, /transport/);
    const fixedTransport = await badRoute(2);
    assert.match((fixedTransport as { details: string }).details, /^route\.id: .*\(and 4 more violations\)/);
    const after = await ops(operations, 'listRoutes', {}, olga());
    assert.equal(after.version, before.version);
  });

  it('needs the operations role, and answers NOT_FOUND for an unknown route', async () => {
    const none = await ops(operations, 'listRoutes', {}, HALYK).catch((e: { code: number }) => e);
    assert.equal((none as { code: number }).code, status.UNAUTHENTICATED);
    const compliance = await ops(operations, 'removeRoute', { id: 'ge' }, asOfficer('alice')).catch(
      (e: { code: number }) => e,
    );
    assert.equal((compliance as { code: number }).code, status.PERMISSION_DENIED);
    const missing = await ops(operations, 'removeRoute', { id: 'no-such' }, olga()).catch(
      (e: { code: number }) => e,
    );
    assert.equal((missing as { code: number }).code, status.NOT_FOUND);
  });

  it('lists accepted instructions as stuck once they wait longer than the bound', async () => {
    const instruction = validInstruction({ creditorAgent: { bic: 'TBCBGE22' } });
    await submit(client, instruction, HALYK);
    const fresh = await ops(
      operations,
      'listInstructions',
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_STUCK],
        stuckAfterMs: '60000',
        participant: '',
        limit: 0,
      },
      olga(),
    );
    assert.equal(fresh.instructions.filter((i) => i.uetr === instruction.uetr).length, 0);
    await new Promise((r) => setTimeout(r, 30));
    const stuck = await ops(
      operations,
      'listInstructions',
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_STUCK],
        stuckAfterMs: '10',
        participant: 'HSBKKZKX',
        limit: 0,
      },
      olga(),
    );
    const found = stuck.instructions.find((i) => i.uetr === instruction.uetr);
    assert.equal(found?.creditorAgent, 'TBCBGE22');
    assert.equal(found?.problem, InstructionProblem.INSTRUCTION_PROBLEM_STUCK);
    const other = await ops(
      operations,
      'listInstructions',
      {
        problems: [InstructionProblem.INSTRUCTION_PROBLEM_STUCK],
        stuckAfterMs: '10',
        participant: 'KCJBKZKX',
        limit: 0,
      },
      olga(),
    );
    assert.equal(other.instructions.length, 0);
  });

  it('answers malformed and hostile Operations requests with INVALID_ARGUMENT', async () => {
    for (const method of ['ListRoutes', 'PutRoute', 'RemoveRoute', 'ListInstructions', 'ReplayInstruction']) {
      const err = await rawUnary(
        gw.address,
        `/caravan.operations.v1.Operations/${method}`,
        Buffer.from([0x0a, 0xff, 0xff, 0xff]),
        olga(),
      ).catch((e: { code: number }) => e);
      assert.equal((err as { code: number }).code, status.INVALID_ARGUMENT, method);
    }
    const badUetr = await ops(
      operations,
      'replayInstruction',
      { uetr: 'not-a-uuid', comment: 'x' },
      olga(),
    ).catch((e: { code: number }) => e);
    assert.equal((badUetr as { code: number }).code, status.INVALID_ARGUMENT);
    const badList = await ops(
      operations,
      'listInstructions',
      {
        problems: [99 as InstructionProblem],
        stuckAfterMs: '99999999999999999',
        participant: 'lower',
        limit: 5000,
      },
      olga(),
    ).catch((e: { code: number; details: string }) => e);
    assert.equal((badList as { code: number }).code, status.INVALID_ARGUMENT);
    assert.match((badList as { details: string }).details, /and 3 more violations/);
  });
});
