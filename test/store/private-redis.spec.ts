import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { answers, redisServerInstalled, startPrivateRedis } from '../../src/store/private-redis';
import { ROOT } from '../support/cli';

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

  it('stops when the process that started it is killed with SIGKILL', async () => {
    // A gateway stand-in: starts its private Redis, prints the URL, then waits to be killed.
    const script = `
      const { startPrivateRedis } = require(${JSON.stringify(path.join(ROOT, 'dist', 'store', 'private-redis.js'))});
      startPrivateRedis(${JSON.stringify(path.join(dir, 'killed'))}).then((r) => console.log(r.url));
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve) =>
      child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(line.trim())),
    );
    const port = Number(new URL(url).port);
    assert.equal(await answers('127.0.0.1', port), true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while ((await answers('127.0.0.1', port)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await answers('127.0.0.1', port), false, 'the private redis-server outlived its parent');
  });

  it('tells whether a port answers', async () => {
    assert.equal(await answers('127.0.0.1', 6379), true);
    assert.equal(await answers('127.0.0.1', 1), false);
  });
});
