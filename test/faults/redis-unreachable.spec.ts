import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { LatencySamples } from '../../bench/stats';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health';
import { createReceiverLog } from '../../src/receiver';
import { createKeySpace } from '../../src/store/keys';
import { freePort } from '../../src/store/private-redis';
import { counterparty, route, startTestReceiver, type TestReceiver } from '../support/delivery';
import {
  codeCounts,
  reconnectingClient,
  sleep,
  startServe,
  submitThroughOutage,
  type Fault,
} from '../support/fault-load';
import { putRoutes } from '../support/gateway';
import { healthCheck } from '../support/health';
import type { ServerProcess } from '../support/processes';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { startRedisProcess, type RedisProcess } from '../support/redis-process';

const CONCURRENCY = 16;
const BEFORE = 300;
const AFTER = 300;
/** Long enough for each client to be refused at least once while Redis is away (see submitThroughOutage). */
const OUTAGE_MS = 5_000;
const DEADLINE_MS = 10_000;
/**
 * The gateway's default CARAVAN_REDIS_TIMEOUT_MS, which bounds a submission's record step from
 * the moment it is asked for (a command queued behind a batch that is timing out must not wait a
 * second timeout after it is sent), plus the rest of the call and the machine's noise.
 */
const REDIS_TIMEOUT_MS = 2_000;
const CALL_BOUND_MS = REDIS_TIMEOUT_MS + 1_000;
/** A health check does not touch Redis; one slower than this hangs on something. */
const HEALTH_BOUND_MS = 1_000;
const DELIVERY_WAIT_MS = 30_000;
const BANK = 'RZBMRUMM';

type Probe = { status: string; ms: number };

/**
 * Issue #6 item 2: the gateway (with its dispatcher) runs against a Redis that goes away while 16
 * clients submit: (a) killed, so connections are refused, and (b) frozen with SIGSTOP, so
 * connections stay open and nothing answers — the case a client without command timeouts hangs
 * on. Either way a submission must be refused as UNAVAILABLE with google.rpc.RetryInfo within a
 * bound well under the client's deadline, nothing may be accepted while Redis is away (intake
 * fails closed), and once Redis is back the same gateway takes and delivers instructions again.
 */
describe('fault: Redis unreachable under intake (refused, then frozen)', function () {
  this.timeout(120_000);
  let shared: Redis;
  let redis: RedisProcess | undefined;
  let receiver: TestReceiver | undefined;
  let gateway: ServerProcess | undefined;
  let client: SettlementGatewayClient | undefined;
  let reader: Redis | undefined;
  let prefix = '';
  let address = '';

  before(() => {
    shared = testRedis();
  });

  beforeEach(async () => {
    redis = await startRedisProcess(['--appendonly', 'yes', '--appendfsync', 'always']);
    prefix = uniquePrefix('fault-redis-unreachable');
    // The bank keeps its receipts in the shared Redis, which the fault never touches.
    receiver = await startTestReceiver(prefix, BANK);
    await putRoutes(prefix, [route('all', [counterparty('bank', receiver.address)])], redis.url);
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    gateway = startServe({
      port,
      redisUrl: redis.url,
      prefix,
      env: {
        CARAVAN_DISPATCHER: 'on',
        CARAVAN_CLAIM_IDLE_MS: '1500',
        CARAVAN_DELIVERY_ATTEMPTS: '12',
        CARAVAN_RETRY_BASE_MS: '50',
        CARAVAN_RETRY_MAX_MS: '500',
        CARAVAN_BREAKER_OPEN_MS: '1000',
      },
    });
    await gateway.ready;
    client = reconnectingClient(address);
  });

  afterEach(async () => {
    client?.close();
    reader?.disconnect();
    await gateway?.stop('SIGKILL');
    // SIGKILL ends a frozen redis-server too.
    await redis?.stop();
    await receiver?.running.stop();
    await deleteUnder(shared, prefix);
  });

  after(() => shared.disconnect());

  /** Health checks once a second while Redis is away. */
  const probeHealth = async (): Promise<Probe[]> => {
    const probes: Probe[] = [];
    const until = Date.now() + OUTAGE_MS - 500;
    while (Date.now() < until) {
      const started = performance.now();
      const answer = await healthCheck(address).then(
        (s) => HealthCheckResponse_ServingStatus[s],
        (err: Error) => `error: ${err.message}`,
      );
      probes.push({ status: answer, ms: performance.now() - started });
      await sleep(1_000);
    }
    return probes;
  };

  async function throughOutage(label: string, resumed: string, fault: Fault): Promise<void> {
    const server = redis!;
    const run = await submitThroughOutage({
      client: client!,
      concurrency: CONCURRENCY,
      before: BEFORE,
      after: AFTER,
      outageMs: OUTAGE_MS,
      deadlineMs: DEADLINE_MS,
      fault,
      during: probeHealth,
    });
    const health = run.during as Probe[];

    // Calls made wholly while Redis was away: none may be accepted (intake fails closed).
    const duringOutage = run.calls.filter((c) => c.startedAt >= run.downAt && c.endedAt < run.endingAt);
    const failures = run.calls.flatMap((c) => (c.ok ? [] : [c]));
    const latency = new LatencySamples();
    for (const c of failures) latency.add(c.ms);
    const refused = latency.summary();
    const slowest = Math.max(...run.calls.map((c) => c.ms));
    const backAt = Math.min(
      ...run.calls.filter((c) => c.ok && c.startedAt >= run.upAt).map((c) => c.endedAt),
    );
    const retried = [...run.answers.values()].filter((a) => a.attempts > 1);
    const replayed = retried.filter((a) => a.answer.replayed).length;

    // The dispatcher of the same process delivers everything once Redis is back.
    reader = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const keys = createKeySpace(prefix, 16);
    const uetrs = [...run.instructions.keys()];
    const read = async () => {
      const pipeline = reader!.pipeline();
      for (const uetr of uetrs) pipeline.hmget(keys.instruction(uetr).record, 'state', 'screening');
      return ((await pipeline.exec()) ?? []).map(([, v]) => v as [string | null, string | null]);
    };
    const deliveryStarted = Date.now();
    let records = await read();
    while (
      records.some(([state]) => state !== 'DELIVERED') &&
      Date.now() - deliveryStarted < DELIVERY_WAIT_MS
    ) {
      await sleep(250);
      records = await read();
    }
    const delivered = records.filter(([state]) => state === 'DELIVERED').length;
    const screened = records.filter(
      ([, s]) => s !== null && (JSON.parse(s) as { screened: boolean }).screened,
    ).length;
    const receipts = await createReceiverLog(shared, prefix, BANK).received();
    const received = new Set(receipts.map((r) => r.uetr));

    console.log(
      `      ${label} ${((run.endingAt - run.downAt) / 1000).toFixed(1)} s: calls refused ${codeCounts(failures.map((c) => c.code))} ` +
        `(RetryInfo on ${failures.filter((c) => c.retryAfterMs !== null).length}) in p50 ${refused.p50.toFixed(0)} ms, ` +
        `max ${refused.max.toFixed(0)} ms; calls made wholly in the outage ${duringOutage.length}, accepted ${duringOutage.filter((c) => c.ok).length}; ` +
        `slowest call ${slowest.toFixed(0)} ms ` +
        `(bound ${CALL_BOUND_MS} ms, deadline ${DEADLINE_MS} ms); health ${codeNames(health)} in max ` +
        `${Math.max(...health.map((h) => h.ms)).toFixed(0)} ms; intake back ${((backAt - run.upAt) / 1000).toFixed(2)} s after ${resumed}, ` +
        `same gateway process; retried ${retried.length} (replayed ${replayed}, new ${retried.length - replayed}; ` +
        `ALREADY_EXISTS ${run.conflicts.length}); records ${records.filter(([s]) => s !== null).length}, screened ${screened}; ` +
        `delivered ${delivered}/${uetrs.length} in ${((Date.now() - deliveryStarted) / 1000).toFixed(1)} s after the load, ` +
        `bank received ${received.size} distinct in ${receipts.length}`,
    );

    // Each client had a call in flight when Redis went away, or made one while it was away.
    assert.ok(failures.length >= CONCURRENCY, 'every client was refused while Redis was away');
    assert.equal(duringOutage.filter((c) => c.ok).length, 0, 'nothing is accepted while Redis is away');
    for (const c of failures) {
      assert.equal(c.code, status.UNAVAILABLE, `refused as UNAVAILABLE, not ${status[c.code]}: ${c.message}`);
      assert.notEqual(c.retryAfterMs, null, 'with google.rpc.RetryInfo');
    }
    assert.ok(
      slowest < CALL_BOUND_MS,
      `no call waits for the client deadline (slowest ${slowest.toFixed(0)} ms)`,
    );
    assert.ok(health.length > 0);
    for (const h of health) {
      // The gateway does not tie its health to Redis (only a shutdown turns it NOT_SERVING), so
      // the probe must simply answer, and promptly.
      assert.ok(!h.status.startsWith('error'), `health answered: ${h.status}`);
      assert.ok(h.ms < HEALTH_BOUND_MS, `health answered in ${h.ms.toFixed(0)} ms`);
    }
    assert.ok(Number.isFinite(backAt), `intake works again after ${resumed}`);
    assert.doesNotThrow(() => process.kill(gateway?.pid ?? -1, 0), 'in the same gateway process');
    assert.deepEqual(run.conflicts, [], 'a retry with the same body is never ALREADY_EXISTS');
    assert.equal(run.answers.size, uetrs.length, 'every instruction was answered in the end');
    assert.equal(screened, uetrs.length, 'every record was screened before it was written');
    assert.equal(delivered, uetrs.length, 'the dispatcher delivered every instruction once Redis was back');
    assert.equal(receipts.length, received.size, 'the bank recorded no UETR twice');
    assert.equal(received.size, uetrs.length);
  }

  it('(a) Redis killed: connections refused, then restarted on the same port', async () => {
    const server = redis!;
    await throughOutage('redis SIGKILL (connection refused)', 'the restart', {
      begin: () => server.kill(),
      end: () => server.restart(),
    });
  });

  it('(b) Redis frozen with SIGSTOP: connected but silent, then SIGCONT', async () => {
    const server = redis!;
    await throughOutage('redis SIGSTOP (connected, silent)', 'SIGCONT', {
      begin: () => Promise.resolve(server.pause()),
      end: () => Promise.resolve(server.resume()),
    });
  });
});

/** "SERVING×5", or the answers as they came. */
function codeNames(probes: Probe[]): string {
  const counts = new Map<string, number>();
  for (const p of probes) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${name}×${n}`).join(', ');
}
