import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import {
  SettlementReceiverClient,
  type DeliverInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/receiver';
import { createReceiverLog } from '../../src/receiver';
import { ROOT, startCaravan } from '../support/cli';
import { spawnCaravan } from '../support/processes';
import { validInstruction } from '../support/instructions';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const RECEIVER_LISTENING = /"port":(\d+).*"msg":"caravan receiver listening"/;

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
    const receiver = spawnCaravan(
      [
        'receiver',
        '--bic',
        'RZBMRUMM',
        '--listen',
        '127.0.0.1:0',
        '--prefix',
        prefix,
        '--reject-code',
        'AM04',
      ],
      { CARAVAN_DEV_INSECURE: 'true', REDIS_URL: TEST_REDIS_URL, CARAVAN_RECEIVER_REJECT_SHARE: '1' },
      RECEIVER_LISTENING,
    );
    const port = Number((await receiver.ready)[1]);
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
