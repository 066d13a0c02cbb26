import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { LatencySamples } from '../../bench/stats';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createKeySpace } from '../../src/store/keys';
import { freePort } from '../../src/store/private-redis';
import {
  codeCounts,
  reconnectingClient,
  startServe,
  storedIntake,
  submitThroughOutage,
} from '../support/fault-load';
import { catchAllRoute, putRoutes } from '../support/gateway';
import type { ServerProcess } from '../support/processes';
import { uniquePrefix } from '../support/redis';
import { startRedisProcess, type RedisProcess } from '../support/redis-process';

const CONCURRENCY = 32;
const BEFORE_KILL = 1_000;
const AFTER_RESTART = 500;
/**
 * Long enough for a client to be refused twice in it: the first call after the kill waits out
 * RetryInfo's second, the retry is refused within the Redis timeout, and so on.
 */
const OUTAGE_MS = 5_000;
const DEADLINE_MS = 10_000;
/**
 * The gateway's default CARAVAN_REDIS_TIMEOUT_MS, which bounds a submission's record step from
 * the moment it is asked for (a command queued behind a batch that is timing out must not wait a
 * second timeout after it is sent), plus the rest of the call and the machine's noise.
 */
const REDIS_TIMEOUT_MS = 2_000;
const CALL_BOUND_MS = REDIS_TIMEOUT_MS + 1_000;

/**
 * Issue #6 item 2: Redis, with every write fsynced to its AOF before it answers, is killed with
 * SIGKILL under load and started again on the same port and directory. Whatever the gateway
 * acknowledged must still be there; meanwhile submissions are refused as UNAVAILABLE (retryable,
 * with RetryInfo) rather than INTERNAL or a hang, and the same gateway process takes instructions
 * again once Redis is back, without being restarted.
 */
describe('fault: Redis (AOF, appendfsync always) SIGKILLed and restarted under load', function () {
  this.timeout(120_000);
  let redis: RedisProcess | undefined;
  let gateway: ServerProcess | undefined;
  let client: SettlementGatewayClient | undefined;
  let reader: Redis | undefined;

  after(async () => {
    client?.close();
    reader?.disconnect();
    await gateway?.stop('SIGKILL');
    await redis?.stop();
  });

  it('keeps every acknowledged instruction, and the same gateway accepts again once Redis is back', async () => {
    redis = await startRedisProcess(['--appendonly', 'yes', '--appendfsync', 'always']);
    const prefix = uniquePrefix('fault-redis-aof');
    await putRoutes(prefix, [catchAllRoute()], redis.url);
    const port = await freePort();
    gateway = startServe({ port, redisUrl: redis.url, prefix });
    await gateway.ready;
    client = reconnectingClient(`127.0.0.1:${port}`);

    const server = redis;
    const firstPid = server.pid();
    let killedAt = Infinity;
    const run = await submitThroughOutage({
      client,
      concurrency: CONCURRENCY,
      before: BEFORE_KILL,
      after: AFTER_RESTART,
      outageMs: OUTAGE_MS,
      deadlineMs: DEADLINE_MS,
      fault: {
        begin: () => {
          killedAt = Date.now();
          return server.kill();
        },
        end: () => server.restart(),
      },
    });

    const accepted = run.calls.filter((c) => c.ok);
    const acknowledgedBeforeKill = new Set(accepted.filter((c) => c.endedAt <= killedAt).map((c) => c.uetr));
    const failures = run.calls.flatMap((c) => (c.ok ? [] : [c]));
    // Calls made wholly while Redis was dead: none may be accepted.
    const duringOutage = run.calls.filter((c) => c.startedAt >= run.downAt && c.endedAt < run.endingAt);
    const refusedLatency = new LatencySamples();
    for (const c of failures) refusedLatency.add(c.ms);
    const refused = refusedLatency.summary();
    const slowest = Math.max(...run.calls.map((c) => c.ms));
    const backAt = Math.min(...accepted.filter((c) => c.startedAt >= run.upAt).map((c) => c.endedAt));
    const retried = [...run.answers.values()].filter((a) => a.attempts > 1);
    const replayed = retried.filter((a) => a.answer.replayed).length;

    reader = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const keys = createKeySpace(prefix, 16);
    const stored = await storedIntake(reader, keys);
    const states = reader.pipeline();
    for (const uetr of run.instructions.keys()) states.hget(keys.instruction(uetr).record, 'state');
    const stateOf = new Map<string, string>();
    const replies = (await states.exec()) ?? [];
    [...run.instructions.keys()].forEach((uetr, i) => stateOf.set(uetr, String(replies[i]?.[1])));
    const foundBeforeKill = [...acknowledgedBeforeKill].filter((u) => stateOf.get(u) === 'ACCEPTED').length;
    const foundAll = [...run.answers.keys()].filter((u) => stateOf.get(u) === 'ACCEPTED').length;
    const persistence = await reader.info('persistence');

    console.log(
      `      redis SIGKILL + restart (appendfsync always): acknowledged before the kill ${acknowledgedBeforeKill.size}, ` +
        `found after restart ${foundBeforeKill}; acknowledged in all ${run.answers.size}, found ${foundAll}; ` +
        `outage ${((run.endingAt - run.downAt) / 1000).toFixed(1)} s: calls refused ${codeCounts(failures.map((c) => c.code))} ` +
        `(RetryInfo on ${failures.filter((c) => c.retryAfterMs !== null).length}) in p50 ${refused.p50.toFixed(0)} ms, ` +
        `max ${refused.max.toFixed(0)} ms; calls made wholly in the outage ${duringOutage.length}, accepted ${duringOutage.filter((c) => c.ok).length}; ` +
        `slowest call of the run ${slowest.toFixed(0)} ms ` +
        `(bound ${CALL_BOUND_MS} ms, deadline ${DEADLINE_MS} ms); ` +
        `intake back ${((backAt - run.upAt) / 1000).toFixed(2)} s after the restart, same gateway process; ` +
        `retried ${retried.length} (replayed ${replayed}, new ${retried.length - replayed}; ALREADY_EXISTS ${run.conflicts.length}); ` +
        `records ${stored.records.size} = outbox entries ${stored.outboxEntries} = distinct UETRs ${stored.outbox.size}`,
    );

    assert.ok(acknowledgedBeforeKill.size >= BEFORE_KILL);
    assert.equal(
      foundBeforeKill,
      acknowledgedBeforeKill.size,
      'nothing acknowledged before the kill was lost',
    );
    assert.equal(foundAll, run.answers.size, 'nor anything acknowledged later');
    assert.ok(duringOutage.length > 0, 'submissions were made while Redis was down');
    assert.equal(duringOutage.filter((c) => c.ok).length, 0, 'nothing is accepted while Redis is down');
    assert.ok(failures.length >= CONCURRENCY, 'every client was refused while Redis was down');
    for (const c of failures) {
      assert.equal(c.code, status.UNAVAILABLE, `refused as UNAVAILABLE, not ${status[c.code]}: ${c.message}`);
      assert.notEqual(c.retryAfterMs, null, 'with google.rpc.RetryInfo');
    }
    assert.ok(
      slowest < CALL_BOUND_MS,
      `every call ends within the Redis timeout bound, not at the client deadline (slowest ${slowest.toFixed(0)} ms)`,
    );
    assert.ok(Number.isFinite(backAt), 'the gateway accepted again after the restart');
    assert.doesNotThrow(() => process.kill(gateway?.pid ?? -1, 0), 'by the same gateway process');
    assert.notEqual(server.pid(), firstPid, 'Redis was really restarted');
    assert.match(persistence, /^aof_enabled:1\b/m);
    assert.deepEqual(run.conflicts, [], 'a retry with the same body is never ALREADY_EXISTS');
    for (const a of retried) assert.equal(a.answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(run.answers.size, run.instructions.size, 'every instruction was answered in the end');
    assert.equal(stored.records.size, run.instructions.size, 'one record per submitted UETR');
    assert.equal(stored.outbox.size, run.instructions.size, 'every one on the outbox');
    assert.equal(stored.outboxEntries, run.instructions.size, 'once');
    assert.equal(stored.misplaced, 0);
  });
});
