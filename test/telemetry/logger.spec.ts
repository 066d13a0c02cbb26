import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createLogger } from '../../src/telemetry/logger';
import { TEST_REDIS_URL, deleteUnder, uniquePrefix } from '../support/redis';

describe('logs: errors', () => {
  it('log a Redis error by its message, never the command arguments ioredis attaches', async () => {
    const prefix = uniquePrefix('logger');
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    try {
      await redis.set(`${prefix}:record`, 'a string');
      // A hash command on a string: WRONGTYPE, with the command's arguments on the error.
      const err = await redis
        .hset(`${prefix}:record`, 'instruction', '{"debtor":{"name":"Ivan Secretname Petrov"}}')
        .catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.match(JSON.stringify((err as { command?: unknown }).command), /Secretname/);
      log.error({ method: 'SubmitInstruction', err }, 'unexpected failure');
      assert.equal(lines.length, 1);
      assert.doesNotMatch(lines[0], /Secretname/);
      const logged = (JSON.parse(lines[0]) as { err: Record<string, unknown> }).err;
      assert.equal(logged.type, 'ReplyError');
      assert.match(String(logged.message), /WRONGTYPE/);
      log.error({ err: 'not an Error' }, 'odd');
      assert.equal((JSON.parse(lines[1]) as { err: { message: string } }).err.message, 'not an Error');
    } finally {
      await deleteUnder(redis, prefix);
      redis.disconnect();
    }
  });
});
