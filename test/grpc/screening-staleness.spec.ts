import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { decodeStatusDetails } from '../../src/grpc/status';
import { startPrivateRedis, type PrivateRedis } from '../../src/store/private-redis';
import {
  asParticipant,
  devClient,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { validInstruction } from '../support/instructions';

describe('screening fails closed when the lists cannot be confirmed', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'caravan-stale-'));
  let redis: PrivateRedis;
  let gw: TestGateway;

  before(async () => {
    // A Redis of this test's own, since the test stops it.
    redis = await startPrivateRedis(dir);
    gw = await startTestGateway('stale', {
      env: {
        REDIS_URL: redis.url,
        CARAVAN_LIST_STALENESS_MS: '1000',
        CARAVAN_LIST_POLL_MS: '200',
        CARAVAN_REDIS_TIMEOUT_MS: '300',
        CARAVAN_SHUTDOWN_GRACE_MS: '1000',
      },
    });
  });

  after(async () => {
    await gw.gateway.stop().catch(() => undefined);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers UNAVAILABLE with retry info once Redis has been gone longer than the staleness bound', async () => {
    const client = devClient(gw.address);
    const halyk = asParticipant('HSBKKZKX');
    assert.ok((await submit(client, validInstruction(), halyk)).uetr);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    const started = Date.now();
    const err = await grpcError(submit(client, validInstruction(), halyk));
    assert.equal(err.code, status.UNAVAILABLE, err.message);
    assert.match(err.details, /could not be confirmed current/);
    assert.ok(Date.now() - started < 1_000, 'refused at once, not after a Redis timeout');
    const { retryInfo } = decodeStatusDetails(err.metadata);
    assert.ok(retryInfo?.retryDelay !== undefined);
    client.close();
  });
});
