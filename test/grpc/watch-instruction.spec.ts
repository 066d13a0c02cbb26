import { strict as assert } from 'node:assert';
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import type { InstructionEvent } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import type { State } from '../../src/store/instruction-record';
import { createKeySpace } from '../../src/store/keys';
import { createEventFeed } from '../../src/store/event-feed';
import { createRedisClient, duplicateForBlocking, waitUntilReady } from '../../src/store/redis-client';
import { createInstructionReader } from '../../src/settlement/read-instruction';
import { isSettlementError } from '../../src/settlement/errors';
import { moveDirectly, recordDirectly } from '../support/records';
import { startRedisProcess, type RedisProcess } from '../support/redis-process';
import { validInstruction } from '../support/instructions';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const HALYK = asParticipant('HSBKKZKX');

/** Collects a watch stream's events until it ends, with how it ended. */
function collect(stream: ClientReadableStream<InstructionEvent>) {
  const events: InstructionEvent[] = [];
  const waiters: (() => void)[] = [];
  stream.on('data', (e: InstructionEvent) => {
    events.push(e);
    waiters.splice(0).forEach((w) => w());
  });
  const ended = new Promise<{ code: number }>((resolve) => {
    stream.on('status', (s: { code: number }) => resolve({ code: s.code }));
    stream.on('error', () => undefined);
  });
  const count = async (n: number) => {
    while (events.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return { events, ended, count };
}

const states = (events: InstructionEvent[]) => events.map((e) => InstructionState[e.event!.state]);

describe('WatchInstruction', function () {
  const prefix = uniquePrefix('watch');
  let redis: Redis;
  let a: TestGateway;
  let b: TestGateway;
  let store: InstructionStore;

  before(async () => {
    redis = testRedis();
    // Two gateway replicas on the same Redis, as two pods would be; the poll interval is long so
    // the test shows changes arriving through Redis notifications, not polling.
    a = await startTestGateway(prefix, { env: { CARAVAN_WATCH_POLL_MS: '60000' } });
    b = await startTestGateway(prefix, { env: { CARAVAN_WATCH_POLL_MS: '60000' } });
    store = createInstructionStore(redis, createKeySpace(prefix, 16));
  });

  after(async () => {
    await a.gateway.stop();
    await b.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  const move = (uetr: string, from: State[], to: State, code = '') =>
    store.transition({
      uetr,
      from,
      to,
      reason: { code, description: code === '' ? '' : 'test' },
      traceId: '',
      traceparent: '',
      nowMs: Date.now(),
    });

  it('streams history, then changes written by another replica, and ends at a terminal state', async () => {
    const instruction = validInstruction();
    const clientB = devClient(b.address);
    const clientA = devClient(a.address);
    await submit(clientB, instruction, HALYK);

    const watch = collect(clientA.watchInstruction({ uetr: instruction.uetr }, HALYK));
    await watch.count(2);
    assert.deepEqual(states(watch.events), ['INSTRUCTION_STATE_RECEIVED', 'INSTRUCTION_STATE_ACCEPTED']);
    assert.ok(watch.events.every((e) => !e.terminal));

    assert.deepEqual(await move(instruction.uetr, ['ACCEPTED'], 'DELIVERED'), { kind: 'ok', sequence: 3 });
    assert.equal((await watch.ended).code, status.OK);
    assert.deepEqual(states(watch.events).slice(2), ['INSTRUCTION_STATE_DELIVERED']);
    assert.equal(watch.events[2].terminal, true);
    assert.equal(watch.events[2].event!.sequence, '3');
    clientA.close();
    clientB.close();
  });

  it('ends at once for an instruction already in a terminal state', async () => {
    const instruction = validInstruction();
    const client = devClient(a.address);
    await submit(client, instruction, HALYK);
    await move(instruction.uetr, ['ACCEPTED'], 'FAILED', 'AB05');
    const watch = collect(client.watchInstruction({ uetr: instruction.uetr }, HALYK));
    assert.equal((await watch.ended).code, status.OK);
    assert.deepEqual(states(watch.events).at(-1), 'INSTRUCTION_STATE_FAILED');
    assert.equal(watch.events.at(-1)!.event!.reason!.code, 'AB05');
    client.close();
  });

  it('follows a replayed delivery past its first FAILED to the final state', async () => {
    const instruction = validInstruction();
    const client = devClient(a.address);
    await submit(client, instruction, HALYK);
    await move(instruction.uetr, ['ACCEPTED'], 'FAILED', 'AB06');
    await move(instruction.uetr, ['FAILED'], 'ACCEPTED');
    const watch = collect(client.watchInstruction({ uetr: instruction.uetr }, HALYK));
    await watch.count(4);
    assert.deepEqual(states(watch.events).slice(2), [
      'INSTRUCTION_STATE_FAILED',
      'INSTRUCTION_STATE_ACCEPTED',
    ]);
    assert.equal(watch.events[2].terminal, false, 'the FAILED event was left again');
    await move(instruction.uetr, ['ACCEPTED'], 'DELIVERED');
    assert.equal((await watch.ended).code, status.OK);
    assert.deepEqual(states(watch.events).slice(4), ['INSTRUCTION_STATE_DELIVERED']);
    assert.equal(watch.events[4].terminal, true);
    client.close();
  });

  it('does not let two deciders both move the same instruction', async () => {
    const instruction = validInstruction();
    const client = devClient(a.address);
    await submit(client, instruction, HALYK);
    const results = await Promise.all([
      move(instruction.uetr, ['ACCEPTED'], 'DELIVERED'),
      move(instruction.uetr, ['ACCEPTED'], 'FAILED', 'AB06'),
    ]);
    assert.deepEqual(results.map((r) => r.kind).sort(), ['ok', 'stale']);
    assert.equal(await redis.xlen(createKeySpace(prefix, 16).instruction(instruction.uetr).events), 3);
    client.close();
  });

  it('answers NOT_FOUND for an unknown UETR or another participant’s instruction', async () => {
    const instruction = validInstruction();
    const client = devClient(a.address);
    await submit(client, instruction, HALYK);
    for (const [uetr, who] of [
      [validInstruction().uetr, HALYK],
      [instruction.uetr, asParticipant('SABRRUMM')],
    ] as const) {
      const watch = collect(client.watchInstruction({ uetr }, who));
      assert.equal((await watch.ended).code, status.NOT_FOUND);
      assert.equal(watch.events.length, 0);
    }
    client.close();
  });

  it('releases the watch when the client cancels', async () => {
    const instruction = validInstruction();
    const client = devClient(a.address);
    await submit(client, instruction, HALYK);
    const stream = client.watchInstruction({ uetr: instruction.uetr }, HALYK);
    const watch = collect(stream);
    await watch.count(2);
    stream.cancel();
    assert.equal((await watch.ended).code, status.CANCELLED);
    // A later change is not delivered to the cancelled stream, and the server stays healthy.
    await move(instruction.uetr, ['ACCEPTED'], 'DELIVERED');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(watch.events.length, 2);
    assert.ok((await submit(client, validInstruction(), HALYK)).uetr);
    client.close();
  });
});

describe('WatchInstruction across a Redis restart', function () {
  this.timeout(60_000);
  let rp: RedisProcess;

  before(async function () {
    try {
      rp = await startRedisProcess(['--appendonly', 'yes', '--appendfsync', 'always']);
    } catch {
      this.skip();
    }
  });
  after(async () => rp?.stop());

  it('keeps a watch open while Redis restarts, and delivers the change made after it', async () => {
    const prefix = uniquePrefix('watch-restart');
    const gw = await startTestGateway(prefix, { env: { REDIS_URL: rp.url, CARAVAN_WATCH_POLL_MS: '200' } });
    const client = devClient(gw.address);
    const redis = createRedisClient(rp.url, { commandTimeoutMs: 5_000 });
    redis.on('error', () => undefined);
    try {
      const instruction = validInstruction();
      await submit(client, instruction, HALYK);
      const watch = collect(client.watchInstruction({ uetr: instruction.uetr }, HALYK));
      await watch.count(2);
      await rp.kill();
      // Several polls fail while nothing listens.
      await new Promise((r) => setTimeout(r, 2_000));
      await rp.restart();
      await waitUntilReady(redis, rp.url, 10_000);
      const store = createInstructionStore(redis, createKeySpace(prefix, 16));
      const moved = await moveDirectly(store, instruction.uetr, 'ACCEPTED', 'DELIVERED');
      assert.equal(moved.kind, 'ok');
      assert.equal((await watch.ended).code, status.OK);
      assert.deepEqual(states(watch.events), [
        'INSTRUCTION_STATE_RECEIVED',
        'INSTRUCTION_STATE_ACCEPTED',
        'INSTRUCTION_STATE_DELIVERED',
      ]);
    } finally {
      redis.disconnect();
      client.close();
      await gw.gateway.stop();
    }
  });

  it('ends a watch with UNAVAILABLE once Redis has not answered for its bound', async () => {
    const prefix = uniquePrefix('watch-outage');
    const keys = createKeySpace(prefix, 16);
    const redis = createRedisClient(rp.url, { commandTimeoutMs: 500 });
    const subscriber = duplicateForBlocking(redis);
    for (const c of [redis, subscriber]) c.on('error', () => undefined);
    await waitUntilReady(redis, rp.url, 10_000);
    await waitUntilReady(subscriber, rp.url, 10_000);
    const store = createInstructionStore(redis, keys);
    const instruction = validInstruction();
    await recordDirectly(store, instruction);
    const feed = await createEventFeed(subscriber, keys);
    const reader = createInstructionReader({ store, feed, pollMs: 100, outageBoundMs: 1_000, now: Date.now });
    const abort = new AbortController();
    try {
      const watch = await reader.watch({ participant: 'HSBKKZKX', signal: abort.signal }, instruction.uetr);
      assert.ok(!isSettlementError(watch));
      const seen: string[] = [];
      const startedAt = Date.now();
      await rp.kill();
      for await (const item of watch) {
        if (isSettlementError(item)) {
          assert.equal(item.kind, 'unavailable');
          assert.match(item.message, /watch again/);
          break;
        }
        seen.push(item.state);
      }
      assert.deepEqual(seen, ['RECEIVED', 'ACCEPTED']);
      assert.ok(Date.now() - startedAt >= 1_000);
    } finally {
      abort.abort();
      await feed.close();
      redis.disconnect();
      subscriber.disconnect();
      await rp.restart();
    }
  });
});
