import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { DISPATCH_GROUP, createOutbox, type Outbox } from '../../src/store/outbox';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

describe('store: the outbox after Redis lost its consumer group', () => {
  let redis: Redis;
  let blocking: Redis;
  let prefix: string;
  let keys: KeySpace;
  let outbox: Outbox;

  before(() => {
    redis = testRedis();
    blocking = redis.duplicate();
    prefix = uniquePrefix('outbox-group');
    keys = createKeySpace(prefix, 2);
    outbox = createOutbox(redis, keys);
  });
  after(async () => {
    await deleteUnder(redis, prefix);
    blocking.disconnect();
    redis.disconnect();
  });

  async function groups(partition: number): Promise<number> {
    return ((await redis.xinfo('GROUPS', keys.outbox(partition))) as unknown[]).length;
  }

  it('reads again after the stream and its group are gone, entries written since included', async () => {
    await outbox.ensureGroup(0);
    await redis.xadd(keys.outbox(0), '*', 'uetr', 'before-the-loss', 'traceparent', '');
    assert.equal((await outbox.read(blocking, 0, 'c1', 10, 10)).length, 1);
    // What a Redis restarted without its data holds: no stream, no group.
    await redis.del(keys.outbox(0));

    assert.deepEqual(await outbox.read(blocking, 0, 'c1', 10, 10), []);
    assert.equal(await groups(0), 1, 'the group is created again');
    await redis.xadd(keys.outbox(0), '*', 'uetr', 'after-the-loss', 'traceparent', '');
    const entries = await outbox.read(blocking, 0, 'c1', 10, 10);
    assert.deepEqual(
      entries.map((e) => e.uetr),
      ['after-the-loss'],
    );
  });

  it('claims again after the group alone is gone, from the stream start', async () => {
    await outbox.ensureGroup(1);
    await redis.xadd(keys.outbox(1), '*', 'uetr', 'written-while-group-missing', 'traceparent', '');
    await redis.xgroup('DESTROY', keys.outbox(1), DISPATCH_GROUP);

    assert.deepEqual(await outbox.claimIdle(1, 'c2', 0, '0-0', 10), { cursor: '0-0', entries: [] });
    assert.equal(await groups(1), 1);
    const entries = await outbox.read(blocking, 1, 'c2', 10, 10);
    assert.deepEqual(
      entries.map((e) => e.uetr),
      ['written-while-group-missing'],
      'an entry written before the group came back is still delivered',
    );
  });

  it('still reports errors that are not a lost group', async () => {
    await redis.set(`${prefix}:not-a-stream`, 'x');
    const wrongType = createOutbox(redis, { ...keys, outbox: () => `${prefix}:not-a-stream` });
    await assert.rejects(wrongType.read(blocking, 0, 'c3', 1, 10), /WRONGTYPE/);
  });
});
