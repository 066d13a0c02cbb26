import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { answers, redisServerInstalled, startPrivateRedis } from '../../src/store/private-redis';

describe('private redis-server for npm start', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'caravan-private-redis-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is installed on this machine (the fallback needs it)', () => {
    assert.equal(redisServerInstalled(), true);
  });

  it('starts on loopback with AOF on, and keeps its data across a restart', async () => {
    const first = await startPrivateRedis(dir);
    const client = new Redis(first.url);
    assert.equal(await client.config('GET', 'appendonly').then((r) => (r as string[])[1]), 'yes');
    await client.set('caravan:probe', 'kept');
    client.disconnect();
    await first.stop();
    assert.equal(await answers('127.0.0.1', Number(new URL(first.url).port)), false);

    const second = await startPrivateRedis(dir);
    const again = new Redis(second.url);
    assert.equal(await again.get('caravan:probe'), 'kept');
    again.disconnect();
    await second.stop();
  });

  it('tells whether a port answers', async () => {
    assert.equal(await answers('127.0.0.1', 6379), true);
    assert.equal(await answers('127.0.0.1', 1), false);
  });
});
