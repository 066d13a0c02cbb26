import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createInstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { StoreDataError } from '../../src/store/store-data';
import { validInstruction } from '../support/instructions';
import { recordDirectly } from '../support/records';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

describe('store: corrupted values', () => {
  let redis: Redis;
  const prefix = uniquePrefix('store-data');
  const keys = createKeySpace(prefix, 4);

  before(() => {
    redis = testRedis();
  });
  after(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('reports a body that is not JSON by what it is, without quoting it', async () => {
    const store = createInstructionStore(redis, keys);
    const instruction = validInstruction();
    await recordDirectly(store, instruction);
    await redis.hset(keys.instruction(instruction.uetr).record, 'body', '{"debtor":{"name":"Ivan Secretname');
    const err = await store.get(instruction.uetr).catch((e: unknown) => e);
    assert.ok(err instanceof StoreDataError);
    assert.equal(err.message, 'an instruction body in Redis is not valid JSON');
  });
});
