import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { DISPATCHER_HEALTH, startDispatcherProcess } from '../../src/dispatcher-process';
import { HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health';
import { createLogger } from '../../src/telemetry/logger';
import { createTestPki, type TestPki } from '../support/certificates';
import { startTestGateway } from '../support/gateway';
import { healthCheck } from '../support/health';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const SERVING = HealthCheckResponse_ServingStatus.SERVING;

describe('plaintext health port (CARAVAN_HEALTH_LISTEN) for probes when mTLS is on', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let redis: Redis;
  const prefix = uniquePrefix('health-port');

  before(() => {
    pki = createTestPki();
    redis = testRedis();
  });
  after(async () => {
    pki.cleanup();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('answers a probe without a client certificate while the mTLS port refuses one', async () => {
    const gw = await startTestGateway(prefix, {
      env: {
        CARAVAN_DEV_INSECURE: 'false',
        CARAVAN_TLS_CERT: pki.serverCertFile,
        CARAVAN_TLS_KEY: pki.serverKeyFile,
        CARAVAN_TLS_CA: pki.caFile,
        CARAVAN_HEALTH_LISTEN: '127.0.0.1:0',
      },
    });
    try {
      const probe = `127.0.0.1:${gw.gateway.healthPort}`;
      assert.equal(await healthCheck(probe), SERVING);
      assert.equal(await healthCheck(probe, 'caravan.settlement.v1.SettlementGateway'), SERVING);
      const refused = await healthCheck(gw.address).catch((err: { code: number }) => err);
      assert.equal((refused as { code: number }).code, status.UNAVAILABLE, 'the main port needs TLS');
    } finally {
      await gw.gateway.stop();
    }
    const after = await healthCheck(`127.0.0.1:${gw.gateway.healthPort}`).catch(
      (err: { code: number }) => err,
    );
    assert.equal(
      (after as { code: number }).code,
      status.UNAVAILABLE,
      'the probe port closes with the gateway',
    );
  });

  it('gives a dispatcher process a health port of its own', async () => {
    const config = loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      CARAVAN_REDIS_PREFIX: prefix,
      CARAVAN_DEV_INSECURE: 'true',
      CARAVAN_HEALTH_LISTEN: '127.0.0.1:0',
    });
    const running = await startDispatcherProcess(config, createLogger('silent'));
    try {
      assert.equal(await healthCheck(`127.0.0.1:${running.healthPort}`), SERVING);
      assert.equal(await healthCheck(`127.0.0.1:${running.healthPort}`, DISPATCHER_HEALTH), SERVING);
    } finally {
      await running.stop();
    }
  });

  it('refuses a malformed CARAVAN_HEALTH_LISTEN at start', () => {
    assert.throws(
      () => loadConfig({ CARAVAN_DEV_INSECURE: 'true', CARAVAN_HEALTH_LISTEN: 'everywhere' }),
      /CARAVAN_HEALTH_LISTEN: must be host:port/,
    );
  });
});
