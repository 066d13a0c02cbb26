import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import type {
  SettlementGatewayClient,
  SubmitInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/gateway';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { canonicalBodyHash } from '../../src/settlement/canonical-body';
import { createKeySpace } from '../../src/store/keys';
import { freePort } from '../../src/store/private-redis';
import {
  HALYK,
  attemptSubmit,
  codeCounts,
  eachLimited,
  reconnectingClient,
  sleep,
  startServe,
  storedIntake,
} from '../support/fault-load';
import { catchAllRoute, getInstruction, putRoutes } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import type { ServerProcess } from '../support/processes';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const INSTRUCTIONS = 3_000;
const CONCURRENCY = 32;
/** The gateway is killed when this many first submissions have been acknowledged. */
const KILL_AT = [1_000, 2_000];
/** A retry that keeps failing this often means the new gateway is not taking calls. */
const MAX_ATTEMPTS = 50;
const ACCEPTED = InstructionState.INSTRUCTION_STATE_ACCEPTED;

/**
 * Issue #6 item 2: the gateway process is killed with SIGKILL twice while 32 clients submit. A
 * client whose call got no answer retries the same instruction (same UETR, same body) once a new
 * gateway listens, as the API asks; the counts then show that nothing acknowledged was lost,
 * nothing retried was refused as a conflict, and Redis holds one record and one outbox entry per
 * UETR, however far the killed process had got with each call.
 */
describe('fault: gateway SIGKILLed under load', function () {
  this.timeout(120_000);
  let redis: Redis;
  let prefix: string;
  let gateway: ServerProcess | undefined;
  let gw: SettlementGatewayClient | undefined;

  before(() => {
    redis = testRedis();
    prefix = uniquePrefix('fault-gateway-kill');
  });
  after(async () => {
    gw?.close();
    await gateway?.stop('SIGKILL');
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('keeps every acknowledged instruction, and a retried one is recorded once', async () => {
    // A route takes every instruction (so all are accepted); no dispatcher ever calls it.
    await putRoutes(prefix, [catchAllRoute()]);
    const port = await freePort();
    const serve = () => startServe({ port, redisUrl: TEST_REDIS_URL, prefix });
    gateway = serve();
    await gateway.ready;
    const client = reconnectingClient(`127.0.0.1:${port}`);
    gw = client;

    const submitted = new Map<string, SettlementInstruction>();
    const acknowledged = new Map<string, SubmitInstructionResponse>();
    const retried = new Map<string, { answer: SubmitInstructionResponse; attempts: number }>();
    const conflicts: string[] = [];
    const unanswered: status[] = [];
    const retryFailures: status[] = [];
    const kills: { acknowledged: number; downMs: number }[] = [];
    // Resolves when a gateway listens again; workers wait on it before any call after a kill.
    let up: Promise<void> = Promise.resolve();

    const killAndRestart = async () => {
      const at = acknowledged.size;
      const started = performance.now();
      await gateway?.stop('SIGKILL');
      gateway = serve();
      await gateway.ready;
      kills.push({ acknowledged: at, downMs: performance.now() - started });
    };
    const maybeKill = () => {
      const threshold = KILL_AT[kills.length];
      // Set synchronously with the kill, so a call failing from here on finds `up` pending.
      if (threshold !== undefined && acknowledged.size === threshold) up = killAndRestart();
    };

    let next = 0;
    const worker = async () => {
      while (next < INSTRUCTIONS) {
        next++;
        await up;
        const instruction = validInstruction();
        submitted.set(instruction.uetr, instruction);
        const first = await attemptSubmit(client, instruction);
        if (first.ok) {
          assert.equal(first.answer.state, ACCEPTED);
          assert.equal(first.answer.replayed, false, 'a fresh UETR is never a replay');
          acknowledged.set(instruction.uetr, first.answer);
          maybeKill();
          continue;
        }
        unanswered.push(first.code);
        for (let attempt = 2; ; attempt++) {
          await up;
          const again = await attemptSubmit(client, instruction);
          if (again.ok) {
            assert.equal(again.answer.state, ACCEPTED);
            retried.set(instruction.uetr, { answer: again.answer, attempts: attempt });
            break;
          }
          if (again.code === status.ALREADY_EXISTS) {
            conflicts.push(instruction.uetr);
            break;
          }
          retryFailures.push(again.code);
          if (attempt >= MAX_ATTEMPTS) {
            throw new Error(`${instruction.uetr}: still ${status[again.code]} after ${attempt} attempts`);
          }
          await sleep(100);
        }
      }
    };
    const loadStarted = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await up;
    const loadMs = performance.now() - loadStarted;

    // Read back through the last gateway, as the participant would.
    let foundAcknowledged = 0;
    let foundRetried = 0;
    const wrong: string[] = [];
    await eachLimited([...acknowledged.keys(), ...retried.keys()], CONCURRENCY, async (uetr) => {
      const stored = await getInstruction(client, uetr, HALYK);
      const answer = acknowledged.get(uetr) ?? retried.get(uetr)?.answer;
      const sent = submitted.get(uetr);
      if (
        stored.state === answer?.state &&
        stored.traceId === answer.traceId &&
        stored.instruction !== undefined &&
        sent !== undefined &&
        canonicalBodyHash(stored.instruction) === canonicalBodyHash(sent)
      ) {
        if (acknowledged.has(uetr)) foundAcknowledged++;
        else foundRetried++;
      } else {
        wrong.push(uetr);
      }
    });

    const keys = createKeySpace(prefix, 16);
    const stored = await storedIntake(redis, keys);
    const events = redis.pipeline();
    for (const uetr of stored.records) events.xlen(keys.instruction(uetr).events);
    const eventCounts = ((await events.exec()) ?? []).map(([, n]) => Number(n));
    const replayed = [...retried.values()].filter((r) => r.answer.replayed).length;
    const outboxOnce = [...stored.outbox.values()].filter((n) => n === 1).length;

    console.log(
      `      gateway SIGKILL ×${kills.length} (at ${kills.map((k) => k.acknowledged).join(' and ')} acknowledged; ` +
        `down ${kills.map((k) => `${(k.downMs / 1000).toFixed(1)} s`).join(', ')}): submitted ${submitted.size}, ` +
        `acknowledged ${acknowledged.size}, found after restart ${foundAcknowledged}, retried ${retried.size} ` +
        `(replayed ${replayed}, new ${retried.size - replayed}; ALREADY_EXISTS ${conflicts.length}; found ${foundRetried}), ` +
        `outbox entries ${stored.outboxEntries} = distinct UETRs ${stored.outbox.size} = records ${stored.records.size}; ` +
        `unanswered calls ${codeCounts(unanswered)}, failed retries ${codeCounts(retryFailures)}; ` +
        `load ${(loadMs / 1000).toFixed(1)} s`,
    );

    assert.equal(kills.length, KILL_AT.length, 'the gateway was killed and restarted each time');
    assert.equal(submitted.size, INSTRUCTIONS);
    assert.ok(unanswered.length > 0, 'the kills caught calls in flight (else nothing was tested)');
    for (const code of [...unanswered, ...retryFailures]) {
      assert.ok(
        [status.UNAVAILABLE, status.CANCELLED, status.DEADLINE_EXCEEDED].includes(code),
        `a call cut off by the kill fails as retryable, not ${status[code]}`,
      );
    }
    assert.deepEqual(conflicts, [], 'a retry with the same body is never ALREADY_EXISTS');
    assert.equal(acknowledged.size + retried.size, INSTRUCTIONS, 'every instruction was answered in the end');
    assert.deepEqual(wrong, [], 'every answered UETR reads back with its state, trace id and body');
    assert.equal(foundAcknowledged, acknowledged.size, 'every acknowledged instruction is found');
    assert.equal(foundRetried, retried.size, 'and every retried one');
    assert.equal(stored.records.size, INSTRUCTIONS, 'one record per submitted UETR, nothing else');
    for (const uetr of submitted.keys()) assert.ok(stored.records.has(uetr), `${uetr} has a record`);
    assert.equal(stored.outbox.size, INSTRUCTIONS, 'every accepted UETR is on the outbox');
    assert.equal(outboxOnce, INSTRUCTIONS, 'and only once');
    assert.equal(stored.outboxEntries, INSTRUCTIONS);
    assert.equal(stored.misplaced, 0, "each entry is in its UETR's partition");
    assert.ok(
      eventCounts.every((n) => n === 2),
      'each record has exactly its two status events (RECEIVED, ACCEPTED)',
    );
  });
});
