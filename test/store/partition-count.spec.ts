import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { startDispatcherProcess } from '../../src/dispatcher-process';
import { PartitionCountMismatch } from '../../src/store/partition-count';
import { createLogger } from '../../src/telemetry/logger';
import { startTestGateway } from '../support/gateway';
import { deleteUnder, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';

describe('store: the partition count is fixed with the data', function () {
  this.timeout(60_000);
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = testRedis();
    prefix = uniquePrefix('partitions');
  });
  afterEach(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('refuses a gateway or dispatcher partitioning the data under its prefix another way', async () => {
    const first = await startTestGateway(prefix);
    try {
      assert.equal(await redis.get(`${prefix}:partitions`), '16');
      await assert.rejects(
        startTestGateway(prefix, { env: { CARAVAN_PARTITIONS: '64' } }),
        (err: unknown) =>
          err instanceof PartitionCountMismatch &&
          err.configured === 64 &&
          err.stored === 16 &&
          /CARAVAN_PARTITIONS=16/.test(err.message),
      );
      const config = loadConfig({
        REDIS_URL: TEST_REDIS_URL,
        CARAVAN_REDIS_PREFIX: prefix,
        CARAVAN_PARTITIONS: '12',
        CARAVAN_DEV_INSECURE: 'true',
      });
      await assert.rejects(startDispatcherProcess(config, createLogger('silent')), PartitionCountMismatch);
      // The same count starts as before.
      const second = await startTestGateway(prefix);
      await second.gateway.stop();
    } finally {
      await first.gateway.stop();
    }
  });
});
