import assert from 'node:assert/strict';
import { credentials, status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { DISPATCHER_HEALTH, startDispatcherProcess } from '../../src/dispatcher-process';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../src/gen/grpc/health/v1/health';
import { acceptWithoutScreening, type ScreenInstruction } from '../../src/settlement/screening-seam';
import { createLogger } from '../../src/telemetry/logger';
import { createTestPki, type TestPki } from '../support/certificates';
import { asParticipant, devClient, startTestGateway, submit } from '../support/gateway';
import { validInstruction } from '../support/instructions';
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

  /** A health Watch held open on a port, as a monitoring tool would; its first answer read. */
  async function watching(port: number | null) {
    const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const stream = client.watch({ service: '' });
    stream.on('error', () => undefined);
    const states: HealthCheckResponse_ServingStatus[] = [];
    stream.on('data', (r: { status: HealthCheckResponse_ServingStatus }) => states.push(r.status));
    const ended = new Promise<number>((resolve) => stream.on('status', (st) => resolve(st.code)));
    while (states.length === 0) await new Promise((r) => setTimeout(r, 10));
    return { states, ended, close: () => client.close() };
  }
  const stopsWithin = (stop: Promise<void>, ms: number) =>
    Promise.race([
      stop.then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve(`still stopping ${ms} ms later`), ms)),
    ]);

  it("ends a health Watch on a dispatcher's health port when it stops", async () => {
    const config = loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      CARAVAN_REDIS_PREFIX: prefix,
      CARAVAN_DEV_INSECURE: 'true',
      CARAVAN_HEALTH_LISTEN: '127.0.0.1:0',
      CARAVAN_SHUTDOWN_GRACE_MS: '5000',
    });
    const running = await startDispatcherProcess(config, createLogger('silent'));
    const watch = await watching(running.healthPort);
    assert.equal(await stopsWithin(running.stop(), 3_000), 'stopped');
    assert.equal(await watch.ended, status.OK);
    assert.ok(watch.states.includes(HealthCheckResponse_ServingStatus.NOT_SERVING));
    watch.close();
  });

  it("answers a health Watch opened on a stopping gateway's health port with NOT_SERVING, and ends it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inScreening = new Promise<void>((resolve) => (entered = resolve));
    const slow: ScreenInstruction = async (instruction) => {
      entered();
      await gate;
      return acceptWithoutScreening(instruction);
    };
    const gw = await startTestGateway(prefix, {
      screen: slow,
      env: { CARAVAN_SHUTDOWN_GRACE_MS: '5000', CARAVAN_HEALTH_LISTEN: '127.0.0.1:0' },
    });
    const client = devClient(gw.address);
    const inFlight = submit(client, validInstruction(), asParticipant('HSBKKZKX'), 30_000);
    await inScreening;
    const stopped = gw.gateway.stop();
    // A probe opens its Watch while the submission drains.
    const watch = await watching(gw.gateway.healthPort);
    assert.deepEqual(watch.states, [HealthCheckResponse_ServingStatus.NOT_SERVING]);
    release();
    await inFlight;
    assert.equal(await stopsWithin(stopped, 3_000), 'stopped');
    assert.equal(await watch.ended, status.OK);
    watch.close();
    client.close();
  });

  it('refuses a malformed CARAVAN_HEALTH_LISTEN at start', () => {
    assert.throws(
      () => loadConfig({ CARAVAN_DEV_INSECURE: 'true', CARAVAN_HEALTH_LISTEN: 'everywhere' }),
      /CARAVAN_HEALTH_LISTEN: must be host:port/,
    );
  });
});
