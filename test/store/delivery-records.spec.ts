import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { DISPATCH_GROUP, createOutbox } from '../../src/store/outbox';
import { validInstruction } from '../support/instructions';
import { recordDirectly } from '../support/records';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

describe('store: delivery attempts, dead letters and the outbox queue', () => {
  let redis: Redis;
  let prefix: string;
  let keys: KeySpace;
  let store: InstructionStore;

  before(() => {
    redis = testRedis();
    prefix = uniquePrefix('delivery-store');
    keys = createKeySpace(prefix, 4);
    store = createInstructionStore(redis, keys);
  });
  after(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  async function accepted(): Promise<string> {
    const instruction = validInstruction();
    await recordDirectly(store, instruction, { nowMs: 1_000, screening: '{}' });
    return instruction.uetr;
  }
  const move = (
    uetr: string,
    from: 'ACCEPTED' | 'FAILED',
    to: 'FAILED' | 'ACCEPTED' | 'REJECTED',
    unlessDelivering = false,
  ) =>
    store.transition({
      uetr,
      from: [from],
      to,
      reason: { code: to === 'FAILED' ? 'AB06' : '', description: '' },
      traceId: 't',
      traceparent: '',
      nowMs: 2_000,
      unlessDelivering,
    });

  it('numbers attempts without repeats, and re-screening cannot overturn an instruction in delivery', async () => {
    const uetr = await accepted();
    assert.deepEqual(await store.startAttempt(uetr, 'primary', 1_500), { kind: 'ok', attempt: 1 });
    assert.deepEqual(await store.startAttempt(uetr, 'backup', 1_600), { kind: 'ok', attempt: 2 });
    assert.deepEqual(await move(uetr, 'ACCEPTED', 'REJECTED', true), { kind: 'in-delivery' });
    const record = await store.get(uetr);
    assert.equal(record?.attempts, 2);
    assert.equal(record?.counterparty, 'backup');
    assert.equal(record?.state, 'ACCEPTED');
  });

  it('dead-letters a FAILED instruction, and a replay takes it out, still not to be overturned by re-screening', async () => {
    const uetr = await accepted();
    await store.startAttempt(uetr, 'primary', 1_500);
    assert.equal((await move(uetr, 'ACCEPTED', 'FAILED')).kind, 'ok');
    const p = keys.partitionOf(uetr);
    assert.deepEqual(await store.indexed('dead', p, 10), [{ uetr, sinceMs: 2_000 }]);
    assert.deepEqual(await store.startAttempt(uetr, 'primary', 2_500), { kind: 'stale', state: 'FAILED' });
    assert.equal((await move(uetr, 'FAILED', 'ACCEPTED')).kind, 'ok');
    assert.deepEqual(await store.indexed('dead', p, 10), []);
    assert.deepEqual(
      await move(uetr, 'ACCEPTED', 'REJECTED', true),
      { kind: 'in-delivery' },
      'no attempt under way since the replay, but the one before it may have reached the counterparty',
    );
    assert.equal((await store.get(uetr))?.state, 'ACCEPTED');
  });

  it('lets re-screening overturn an accepted instruction no attempt has started for', async () => {
    const uetr = await accepted();
    assert.equal((await move(uetr, 'ACCEPTED', 'REJECTED', true)).kind, 'ok');
  });

  it('settles a delivery whose attempts ran out with the reason of a stop requested meanwhile', async () => {
    const exhausted = (uetr: string) =>
      store.transition({
        uetr,
        from: ['ACCEPTED'],
        to: 'FAILED',
        reason: { code: 'AB05', description: 'timed out' },
        traceId: 't',
        traceparent: '',
        nowMs: 2_000,
        preferStopReason: true,
      });
    const stopped = await accepted();
    await store.startAttempt(stopped, 'primary', 1_500);
    const reason = { code: 'RR04', description: 're-screened during delivery' };
    assert.equal(await store.requestDeliveryStop(stopped, reason), true, 'asked during the last attempt');
    assert.deepEqual(await exhausted(stopped), { kind: 'ok', sequence: 3, stopReason: reason });
    const record = await store.get(stopped);
    assert.deepEqual(record?.reason, reason);
    assert.deepEqual(record?.history.at(-1)?.reason, reason);

    const unstopped = await accepted();
    await store.startAttempt(unstopped, 'primary', 1_500);
    assert.deepEqual(await exhausted(unstopped), { kind: 'ok', sequence: 3 });
    assert.deepEqual((await store.get(unstopped))?.reason, { code: 'AB05', description: 'timed out' });
  });

  it('makes no further attempt once re-screening asks it to stop, until a state change clears the request', async () => {
    const uetr = await accepted();
    await store.startAttempt(uetr, 'primary', 1_500);
    const reason = { code: 'RR04', description: 're-screened during delivery' };
    assert.equal(await store.requestDeliveryStop(uetr, reason), true);
    assert.deepEqual(await store.startAttempt(uetr, 'primary', 1_600), { kind: 'stopped', reason });
    assert.equal((await move(uetr, 'ACCEPTED', 'FAILED')).kind, 'ok');
    assert.equal(await store.requestDeliveryStop(uetr, reason), false, 'no longer accepted');
    assert.equal((await move(uetr, 'FAILED', 'ACCEPTED')).kind, 'ok');
    assert.equal((await store.startAttempt(uetr, 'primary', 2_500)).kind, 'ok');
  });

  it('keeps each attempt for operators', async () => {
    const uetr = await accepted();
    await store.recordAttempt(uetr, {
      attempt: 1,
      counterparty: 'primary',
      outcome: 'UNAVAILABLE',
      reasonCode: '',
      detail: 'connection refused',
      startedAtMs: 1_500,
      durationMs: 3,
      traceId: 'abc',
    });
    assert.deepEqual(await store.attemptsOf(uetr), [
      {
        attempt: 1,
        counterparty: 'primary',
        outcome: 'UNAVAILABLE',
        reasonCode: '',
        detail: 'connection refused',
        startedAtMs: 1_500,
        durationMs: 3,
        traceId: 'abc',
      },
    ]);
  });

  it('trims only outbox entries every consumer is done with', async () => {
    // A key space of its own: the instructions above put entries on their partitions' outboxes.
    const queueKeys = createKeySpace(`${prefix}:queue`, 4);
    const outbox = createOutbox(redis, queueKeys);
    const key = queueKeys.outbox(3);
    await outbox.ensureGroup(3);
    await outbox.ensureGroup(3);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(String(await redis.xadd(key, '*', 'uetr', `u${i}`, 'traceparent', '')));
    const blocking = redis.duplicate();
    const read = await outbox.read(blocking, 3, 'c1', 3, 100);
    blocking.disconnect();
    assert.deepEqual(
      read.map((e) => e.uetr),
      ['u0', 'u1', 'u2'],
    );
    await outbox.ack(3, [ids[0], ids[2]]);
    assert.equal(await outbox.trim(3), 1, 'u0 is done; u1 is pending and u3 unread');
    assert.deepEqual(
      (await redis.xrange(key, '-', '+')).map(([, f]) => f[1]),
      ['u1', 'u2', 'u3'],
    );
    assert.deepEqual(await outbox.backlog(3), { pending: 1, unread: 1 });
    const claimed = await outbox.claimIdle(3, 'c2', 0, '0-0', 10);
    assert.deepEqual(
      claimed.entries.map((e) => e.uetr),
      ['u1'],
    );
    const [pending] = (await redis.xpending(key, DISPATCH_GROUP, '-', '+', 10)) as [string, string][];
    assert.equal(pending[1], 'c2');
  });

  it('removes consumers that are gone and hold nothing, never one holding entries', async () => {
    const queueKeys = createKeySpace(`${prefix}:consumers`, 4);
    const outbox = createOutbox(redis, queueKeys);
    const key = queueKeys.outbox(1);
    await outbox.ensureGroup(1);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(String(await redis.xadd(key, '*', 'uetr', `u${i}`, 'traceparent', '')));
    const blocking = redis.duplicate();
    await outbox.read(blocking, 1, 'dead-done', 1, 100);
    await outbox.read(blocking, 1, 'dead-holding', 1, 100);
    await outbox.read(blocking, 1, 'me', 1, 100);
    blocking.disconnect();
    await outbox.ack(1, [ids[0]]);
    const names = async () =>
      ((await redis.xinfo('CONSUMERS', key, DISPATCH_GROUP)) as string[][]).map((c) => c[1]).sort();
    assert.deepEqual(await names(), ['dead-done', 'dead-holding', 'me']);
    // Not idle long enough: nobody goes.
    assert.equal(await outbox.pruneConsumers(1, 'me', 60_000), 0);
    assert.equal(await outbox.pruneConsumers(1, 'me', 0), 1);
    assert.deepEqual(await names(), ['dead-holding', 'me'], 'the consumer holding u1 stays for takeover');
    const [pending] = (await redis.xpending(key, DISPATCH_GROUP, '-', '+', 10)) as [string, string][];
    assert.deepEqual(pending.slice(0, 2), [ids[1], 'dead-holding']);
  });
});
