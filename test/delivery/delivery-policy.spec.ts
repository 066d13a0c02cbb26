import assert from 'node:assert/strict';
import { context } from '@opentelemetry/api';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { createBreakerRegistry, createCircuitBreaker } from '../../src/delivery/circuit-breaker';
import { deliverInstruction, type DeliveryDeps } from '../../src/delivery/deliver-instruction';
import { createReceiverClients } from '../../src/delivery/receiver-clients';
import { backoffMs, exhaustedReason, isRetryable } from '../../src/delivery/retry-policy';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { counterparty, route, startTestReceiver } from '../support/delivery';
import { validInstruction } from '../support/instructions';
import { recordDirectly } from '../support/records';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { startHangingReceiver } from '../support/silent-counterparties';

describe('delivery policy', () => {
  describe('circuit breaker', () => {
    it('opens after the threshold of consecutive failures, lets one trial through after the open time, and closes on its success', () => {
      let t = 0;
      const breaker = createCircuitBreaker({ failureThreshold: 3, openMs: 1000 }, () => t);
      for (let i = 0; i < 2; i++) {
        assert.equal(breaker.tryAcquire(), true);
        breaker.failed();
      }
      assert.equal(breaker.state(), 'closed');
      breaker.tryAcquire();
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      assert.equal(breaker.tryAcquire(), false);
      t = 999;
      assert.equal(breaker.tryAcquire(), false);
      t = 1000;
      assert.equal(breaker.state(), 'half-open');
      assert.equal(breaker.tryAcquire(), true, 'the trial call');
      assert.equal(breaker.tryAcquire(), false, 'only one trial at a time');
      breaker.succeeded();
      assert.equal(breaker.state(), 'closed');
      assert.equal(breaker.tryAcquire(), true);
    });

    it('reopens when the trial call fails, and a success resets the failure count', () => {
      let t = 0;
      const breaker = createCircuitBreaker({ failureThreshold: 2, openMs: 100 }, () => t);
      breaker.failed();
      breaker.succeeded();
      breaker.failed();
      assert.equal(breaker.state(), 'closed', 'the success in between reset the count');
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      t = 100;
      assert.equal(breaker.tryAcquire(), true);
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      t = 150;
      assert.equal(breaker.tryAcquire(), false);
      t = 200;
      assert.equal(breaker.tryAcquire(), true);
      breaker.release();
      assert.equal(breaker.tryAcquire(), true, 'a released trial may be taken again');
    });
  });

  describe('retries', () => {
    it('retries only the transport failures after which the transfer may not have arrived', () => {
      for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]) {
        assert.equal(isRetryable(code), true, status[code]);
      }
      for (const code of [
        status.INVALID_ARGUMENT,
        status.UNIMPLEMENTED,
        status.PERMISSION_DENIED,
        status.UNAUTHENTICATED,
        status.INTERNAL,
      ]) {
        assert.equal(isRetryable(code), false, status[code]);
      }
    });

    it('backs off exponentially with jitter between half and all of the capped delay', () => {
      const settings = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
      assert.equal(
        backoffMs(settings, 2, () => 0),
        50,
      );
      assert.equal(
        backoffMs(settings, 2, () => 1),
        100,
      );
      assert.equal(
        backoffMs(settings, 3, () => 1),
        200,
      );
      assert.equal(
        backoffMs(settings, 5, () => 1),
        800,
      );
      assert.equal(
        backoffMs(settings, 9, () => 1),
        1000,
      );
      assert.equal(
        backoffMs(settings, 9, () => 0),
        500,
      );
    });

    it('gives a timeout AB05, an unreachable counterparty AB06, and other errors AB09', () => {
      assert.equal(exhaustedReason(status.DEADLINE_EXCEEDED, true).code, 'AB05');
      assert.equal(exhaustedReason(status.UNAVAILABLE, false).code, 'AB06');
      assert.equal(exhaustedReason('circuit-open', false).code, 'AB06');
      assert.equal(exhaustedReason(status.UNIMPLEMENTED, false).code, 'AB09');
      assert.match(exhaustedReason(status.UNIMPLEMENTED, false).description, /UNIMPLEMENTED/);
    });

    it('gives AB05 once any attempt timed out, whatever the last one ran into', () => {
      for (const last of [status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.UNIMPLEMENTED] as const) {
        const reason = exhaustedReason(last, true);
        assert.equal(reason.code, 'AB05', status[last]);
        assert.match(reason.description, /may have received the transfer/);
        assert.ok(reason.description.endsWith(`(the last: ${status[last]})`), reason.description);
      }
    });
  });
});

describe('delivery policy: one instruction delivered against a real counterparty', function () {
  this.timeout(30_000);
  let redis: Redis;
  let prefix: string;
  let store: InstructionStore;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(() => {
    redis = testRedis();
  });
  beforeEach(() => {
    prefix = uniquePrefix('delivery-policy');
    store = createInstructionStore(redis, createKeySpace(prefix, 4));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await deleteUnder(redis, prefix);
  });
  after(() => redis.disconnect());

  async function accepted(): Promise<SettlementInstruction> {
    const instruction = validInstruction();
    await recordDirectly(store, instruction);
    return instruction;
  }

  it("gives a half-open circuit's trial back when Redis fails before the call, so the counterparty is tried again", async () => {
    const hung = await startHangingReceiver();
    const clients = createReceiverClients(null);
    cleanups.push(
      () => hung.stop(),
      () => clients.close(),
    );
    const clock = { now: 0 };
    const breakers = createBreakerRegistry({ failureThreshold: 1, openMs: 1_000 }, () => clock.now);
    const rule = route('ru', [counterparty('bank', hung.address, 100)]);
    const deliver = (deliveryStore: DeliveryDeps['store'], instruction: SettlementInstruction) =>
      deliverInstruction(
        {
          clients,
          breakers,
          store: deliveryStore,
          retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
          defaultDeadlineMs: 100,
          now: () => clock.now,
          random: () => 0,
          sleep: () => Promise.resolve(true),
        },
        {
          uetr: instruction.uetr,
          instruction,
          rule,
          traceId: '',
          parent: context.active(),
          signal: new AbortController().signal,
        },
      );
    const circuit = () => breakers.states().map((b) => b.state);

    assert.equal((await deliver(store, await accepted())).kind, 'exhausted', 'the call timed out');
    assert.deepEqual(circuit(), ['open']);

    // The counterparty is back and the circuit lets one trial call through, but Redis fails as the
    // attempt starts: the dispatcher leaves the entry pending and takes it again later.
    hung.recover();
    clock.now = 1_000;
    let blips = 1;
    const blipping: DeliveryDeps['store'] = {
      startAttempt: (...args) =>
        blips-- > 0 ? Promise.reject(new Error('Command timed out')) : store.startAttempt(...args),
      recordAttempt: (...args) => store.recordAttempt(...args),
    };
    const second = await accepted();
    await assert.rejects(deliver(blipping, second), /Command timed out/);
    assert.deepEqual(circuit(), ['half-open']);

    assert.deepEqual(await deliver(blipping, second), {
      kind: 'delivered',
      counterparty: 'bank',
      attempt: 1,
    });
    assert.deepEqual(circuit(), ['closed']);
    assert.equal(hung.answered.get(second.uetr), 1);
  });

  it('says a refusal followed an attempt that timed out elsewhere, which may hold the transfer', async () => {
    const hung = await startHangingReceiver();
    const picky = await startTestReceiver(prefix, 'picky', { rejectShare: 1 });
    const clients = createReceiverClients(null);
    cleanups.push(
      () => hung.stop(),
      () => picky.running.stop(),
      () => clients.close(),
    );
    const instruction = await accepted();
    const outcome = await deliverInstruction(
      {
        clients,
        breakers: createBreakerRegistry({ failureThreshold: 5, openMs: 1_000 }, Date.now),
        store,
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
        defaultDeadlineMs: 100,
        now: Date.now,
        random: () => 0,
        sleep: () => Promise.resolve(true),
      },
      {
        uetr: instruction.uetr,
        instruction,
        rule: route('ru', [
          counterparty('primary', hung.address, 100),
          counterparty('backup', picky.address),
        ]),
        traceId: '',
        parent: context.active(),
        signal: new AbortController().signal,
      },
    );
    assert.equal(outcome.kind, 'failed');
    assert.ok(outcome.kind === 'failed');
    assert.match(
      outcome.reason.description,
      /an earlier attempt on primary timed out and may have reached it$/,
    );
  });
});
