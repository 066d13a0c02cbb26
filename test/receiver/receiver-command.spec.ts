import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import {
  SettlementReceiverClient,
  type DeliverInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/receiver';
import { createReceiverLog } from '../../src/receiver';
import { ROOT, startCaravan, type Env } from '../support/cli';
import { validInstruction } from '../support/instructions';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

interface ReceiverProcess {
  /** Resolves with the bound port once the receiver logs that it listens. */
  listening: Promise<number>;
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>;
}

/**
 * `caravan receiver` as a real, long-running process; test/support/cli.ts runs commands that end
 * by themselves, this one ends on a signal. The environment is scrubbed the same way.
 */
function spawnReceiver(args: string[], env: Env): ReceiverProcess {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('CARAVAN_') && !key.startsWith('REDIS_')),
  );
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'caravan'), 'receiver', ...args], {
    cwd: ROOT,
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the receiver did not start:\n${stdout}\n${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /"port":(\d+).*"msg":"caravan receiver listening"/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the receiver exited before listening:\n${stdout}\n${stderr}`));
    });
  });
  return {
    listening,
    async stop(signal) {
      child.kill(signal);
      return { code: await exited, stderr };
    },
  };
}

describe('caravan receiver (the CLI process)', function () {
  const prefix = uniquePrefix('receiver-cli');
  let redis: Redis;

  before(function () {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first (npm test does)');
    redis = testRedis();
  });

  after(async function () {
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  it('listens, answers from Redis under its BIC, and stops cleanly on SIGTERM', async function () {
    const receiver = spawnReceiver(
      ['--bic', 'RZBMRUMM', '--listen', '127.0.0.1:0', '--prefix', prefix, '--reject-code', 'AM04'],
      { CARAVAN_DEV_INSECURE: 'true', REDIS_URL: TEST_REDIS_URL, CARAVAN_RECEIVER_REJECT_SHARE: '1' },
    );
    const port = await receiver.listening;
    const client = new SettlementReceiverClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const instruction = validInstruction();

    const answer = await new Promise<DeliverInstructionResponse>((resolve, reject) =>
      client.deliverInstruction(
        { instruction, attempt: 1 },
        new Metadata(),
        { deadline: Date.now() + 5_000 },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    client.close();

    assert.equal(answer.accepted, false);
    assert.equal(answer.reason?.code, 'AM04');
    const receipts = await createReceiverLog(redis, prefix, 'RZBMRUMM').received();
    assert.deepEqual(
      receipts.map((r) => [r.uetr, r.code]),
      [[instruction.uetr, 'AM04']],
    );
    const { code, stderr } = await receiver.stop('SIGTERM');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /DEVELOPMENT MODE/);
  });

  it('exits 78 naming every bad setting', async function () {
    const result = await startCaravan(['receiver', '--reject-share', '2', '--listen', 'nowhere'], {
      CARAVAN_DEV_INSECURE: 'true',
    }).done;
    assert.equal(result.code, 78, result.stderr);
    assert.match(
      result.stderr,
      /--reject-share \(CARAVAN_RECEIVER_REJECT_SHARE\): must be a number from 0 to 1/,
    );
    assert.match(result.stderr, /--listen \(CARAVAN_RECEIVER_LISTEN\): must be host:port/);
    assert.match(result.stderr, /--name \(CARAVAN_RECEIVER_NAME\) or --bic/);
  });

  it('exits 78 without mTLS files unless in development mode', async function () {
    const result = await startCaravan(['receiver', '--bic', 'RZBMRUMM'], {}).done;
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /CARAVAN_TLS_CERT.*the receiver needs/);
  });
});
