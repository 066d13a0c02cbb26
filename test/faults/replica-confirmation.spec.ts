import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { decodeStatusDetails } from '../../src/grpc/status';
import { createKeySpace } from '../../src/store/keys';
import {
  asParticipant,
  devClient,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { ROLE_TOKENS_ENV, asOfficer, complianceClient, entry } from '../support/compliance';
import { callUnary } from '../../src/cli/grpc-call';
import { HoldDecision } from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import { createInstructionStore } from '../../src/store/instruction-store';
import { operationsClient, ops } from '../support/delivery';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { startRedisProcess, waitForReplicaSync, type RedisProcess } from '../support/redis-process';

const HALYK = asParticipant('HSBKKZKX');
const ALICE = asOfficer('alice');
const soon = () => new Date(Date.now() + 30_000);
const REPLICA_TIMEOUT_MS = 300;

/** A gateway's settings that make it wait for one replica of the Redis at `url`. */
function waitingForReplica(url: string, timeoutMs = REPLICA_TIMEOUT_MS): Record<string, string> {
  return {
    REDIS_URL: url,
    CARAVAN_REDIS_MIN_REPLICAS: '1',
    CARAVAN_REDIS_REPLICA_TIMEOUT_MS: String(timeoutMs),
  };
}

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined);
  return redis;
}

/**
 * CARAVAN_REDIS_MIN_REPLICAS: a submission is acknowledged only once a replica holds it (Redis
 * WAIT), so a failover to that replica loses nothing acknowledged. A primary and a replica of the
 * test's own; the replica is frozen (SIGSTOP) to play a replica that has fallen behind, and the
 * failover is the operator's: primary killed, replica promoted, a gateway pointed at it.
 */
describe('fault: submissions wait for a Redis replica (CARAVAN_REDIS_MIN_REPLICAS)', function () {
  this.timeout(120_000);
  let primary: RedisProcess;
  let replica: RedisProcess;
  let onPrimary: Redis;
  let onReplica: Redis;
  let gw: TestGateway | undefined;
  let api: SettlementGatewayClient | undefined;
  const prefix = uniquePrefix('replica-confirmation');
  const keys = createKeySpace(prefix, 16);

  async function startOn(url: string, timeoutMs = REPLICA_TIMEOUT_MS): Promise<SettlementGatewayClient> {
    gw = await startTestGateway(prefix, { env: waitingForReplica(url, timeoutMs) });
    api = devClient(gw.address);
    return api;
  }

  async function stopGateway(): Promise<void> {
    api?.close();
    await gw?.gateway.stop();
    api = undefined;
    gw = undefined;
  }

  beforeEach(async () => {
    primary = await startRedisProcess();
    replica = await startRedisProcess(['--replicaof', '127.0.0.1', String(primary.port)]);
    onPrimary = client(primary.url);
    onReplica = client(replica.url);
    await waitForReplicaSync(onPrimary, onReplica);
  });

  afterEach(async () => {
    await stopGateway();
    onPrimary.disconnect();
    onReplica.disconnect();
    if (replica.running()) replica.resume();
    await Promise.all([primary.stop(), replica.stop()]);
  });

  it('accepts 50 concurrent submissions, each already on the replica when answered', async () => {
    const gateway = await startOn(primary.url);
    const instructions = Array.from({ length: 50 }, () => validInstruction());
    const answers = await Promise.all(instructions.map((ins) => submit(gateway, ins, HALYK)));
    // Read the replica at once: every acknowledged instruction must already be there.
    const onReplicaNow = await Promise.all(
      instructions.map((ins) => onReplica.exists(keys.instruction(ins.uetr).record)),
    );
    assert.deepEqual(
      answers.map((a) => a.state),
      instructions.map(() => InstructionState.INSTRUCTION_STATE_ACCEPTED),
    );
    assert.deepEqual(
      onReplicaNow,
      instructions.map(() => 1),
    );

    // A Redis that lost its script cache (as after a restart) runs the next batch all the same.
    await onPrimary.script('FLUSH');
    const after = validInstruction();
    assert.equal((await submit(gateway, after, HALYK)).state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(await onReplica.exists(keys.instruction(after.uetr).record), 1);
  });

  it('answers UNAVAILABLE with RetryInfo while the replica lags, then replays the same instruction once it caught up', async () => {
    const gateway = await startOn(primary.url);
    const instruction = validInstruction();
    const k = keys.instruction(instruction.uetr);
    replica.pause();
    const started = Date.now();
    const err = await grpcError(submit(gateway, instruction, HALYK));
    const waitedMs = Date.now() - started;
    assert.equal(err.code, status.UNAVAILABLE);
    assert.match(err.details, /0 of the 1 Redis replica\(s\) required confirmed it within 300 ms/);
    assert.ok(decodeStatusDetails(err.metadata).retryInfo?.retryDelay, 'UNAVAILABLE without RetryInfo');
    assert.ok(waitedMs >= REPLICA_TIMEOUT_MS && waitedMs < 2_000, `answered after ${waitedMs} ms`);

    // A retry while the replica still lags is refused the same way, and writes nothing twice; also
    // through another gateway, whose connection has written nothing the replica could lag behind.
    const again = await grpcError(submit(gateway, instruction, HALYK));
    assert.equal(again.code, status.UNAVAILABLE);
    const second = await startTestGateway(prefix, { env: waitingForReplica(primary.url) });
    const secondApi = devClient(second.address);
    try {
      assert.equal((await grpcError(submit(secondApi, instruction, HALYK))).code, status.UNAVAILABLE);
    } finally {
      secondApi.close();
      await second.gateway.stop();
    }
    // A different body under the UETR acknowledges nothing, so it needs no replica.
    const other = { ...instruction, endToEndId: 'INV-OTHER' };
    assert.equal((await grpcError(submit(gateway, other, HALYK))).code, status.ALREADY_EXISTS);

    replica.resume();
    await waitForReplicaSync(onPrimary, onReplica);
    const replayed = await submit(gateway, instruction, HALYK);
    assert.equal(replayed.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(replayed.replayed, true);
    assert.equal(await onReplica.exists(k.record), 1);
    const outbox = await onPrimary.xrange(k.outbox, '-', '+');
    assert.equal(outbox.filter(([, fields]) => fields[1] === instruction.uetr).length, 1);
  });

  it('loses nothing acknowledged when the primary dies and the lagging replica is promoted', async () => {
    const gateway = await startOn(primary.url);
    const acknowledged = Array.from({ length: 40 }, () => validInstruction());
    for (const answer of await Promise.all(acknowledged.map((ins) => submit(gateway, ins, HALYK)))) {
      assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    }
    replica.pause();
    const unconfirmed = Array.from({ length: 10 }, () => validInstruction());
    const refused = await Promise.all(unconfirmed.map((ins) => grpcError(submit(gateway, ins, HALYK))));
    assert.deepEqual(
      refused.map((e) => e.code),
      unconfirmed.map(() => status.UNAVAILABLE),
    );

    // Failover while the replica still lags: it never saw the unconfirmed ones.
    await stopGateway();
    await primary.kill();
    replica.resume();
    await onReplica.replicaof('NO', 'ONE');
    const promoted = await startOn(replica.url);
    const present = await Promise.all(
      acknowledged.map((ins) => onReplica.exists(keys.instruction(ins.uetr).record)),
    );
    assert.deepEqual(
      present,
      acknowledged.map(() => 1),
      'an acknowledged instruction was lost',
    );

    // The promoted primary has no replica yet, so the clients' retries wait for one.
    assert.equal((await grpcError(submit(promoted, unconfirmed[0], HALYK))).code, status.UNAVAILABLE);
    await stopGateway();
    const newReplica = await startRedisProcess(['--replicaof', '127.0.0.1', String(replica.port)]);
    const onNewReplica = client(newReplica.url);
    try {
      await waitForReplicaSync(onReplica, onNewReplica);
      // What is shown here is that the retries are answered once a replica holds them, not how
      // quickly: a replica that has just synced, on a loaded machine, once took over 300 ms.
      const retried = await startOn(replica.url, 1_500);
      for (const answer of await Promise.all(unconfirmed.map((ins) => submit(retried, ins, HALYK)))) {
        assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      }
      const records = await Promise.all(
        [...acknowledged, ...unconfirmed].map((ins) =>
          onNewReplica.exists(keys.instruction(ins.uetr).record),
        ),
      );
      assert.equal(records.filter((n) => n === 1).length, 50);
    } finally {
      onNewReplica.disconnect();
      await stopGateway();
      await newReplica.stop();
    }
  });

  it("acknowledges officers' hold decisions, replays, list and route changes only once the replica holds them", async () => {
    gw = await startTestGateway(prefix, {
      env: {
        ...waitingForReplica(primary.url),
        CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
        CARAVAN_RELEASES_REQUIRED: '1',
      },
    });
    api = devClient(gw.address);
    const compliance = complianceClient(gw.address);
    const operations = operationsClient(gw.address);
    try {
      await callUnary(
        compliance.upsertEntry.bind(compliance),
        {
          list: 'internal-counterparties',
          entry: entry({ id: 'n1', kind: EntryKind.ENTRY_KIND_NAME, name: 'Zhetysu Orbita Holding LLP' }),
          note: 'test',
        },
        ALICE,
        soon(),
      );
      await gw.gateway.screening!.refresh();
      const held = Array.from({ length: 2 }, () => {
        const ins = validInstruction();
        ins.creditor!.name = 'ТОО Жетысу Орбита Холдинг';
        return ins;
      });
      for (const ins of held) {
        assert.equal(
          (await submit(api, ins, HALYK)).state,
          InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW,
        );
      }
      const decide = (uetr: string, decision: HoldDecision) =>
        callUnary(
          compliance.decideHold.bind(compliance),
          { uetr, evidence: '', decision, comment: 'reviewed', reasonCode: '' },
          ALICE,
          soon(),
        );

      // With the replica in step, a decision is answered as usual.
      const rejected = await decide(held[0].uetr, HoldDecision.HOLD_DECISION_REJECT);
      assert.equal(rejected.state, InstructionState.INSTRUCTION_STATE_REJECTED);

      replica.pause();
      const err = await grpcError(decide(held[1].uetr, HoldDecision.HOLD_DECISION_RELEASE));
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(err.details, /recorded \(the instruction is ACCEPTED\), but 0 of the 1 Redis replica/);
      assert.equal(await onPrimary.hget(keys.instruction(held[1].uetr).record, 'state'), 'ACCEPTED');

      replica.resume();
      await waitForReplicaSync(onPrimary, onReplica);
      assert.equal(await onReplica.hget(keys.instruction(held[1].uetr).record, 'state'), 'ACCEPTED');
      const again = await grpcError(decide(held[1].uetr, HoldDecision.HOLD_DECISION_RELEASE));
      assert.equal(again.code, status.FAILED_PRECONDITION);

      // An operator's replay of a failed instruction is a decision too.
      const failed = validInstruction();
      assert.equal((await submit(api, failed, HALYK)).state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      const moved = await createInstructionStore(onPrimary, keys).transition({
        uetr: failed.uetr,
        from: ['ACCEPTED'],
        to: 'FAILED',
        reason: { code: 'AB05', description: 'timed out (set by the test)' },
        traceId: '',
        traceparent: '',
        nowMs: Date.now(),
      });
      assert.equal(moved.kind, 'ok');
      replica.pause();
      const replay = await grpcError(
        ops(
          operations,
          'replayInstruction',
          { uetr: failed.uetr, comment: 'route fixed' },
          asOfficer('olga'),
        ),
      );
      assert.equal(replay.code, status.UNAVAILABLE);
      assert.match(replay.details, /recorded \(the instruction is ACCEPTED\), but 0 of the 1/);

      // So is a list change: a failover must not leave gateways screening with the list before it.
      const block = await grpcError(
        callUnary(
          compliance.upsertEntry.bind(compliance),
          {
            list: 'card-schemes',
            entry: entry({
              id: 'mir',
              kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
              scheme: 'MIR',
              iinRanges: [{ from: '2200', to: '2204' }],
            }),
            note: 'Mir suspended',
          },
          ALICE,
          soon(),
        ),
      );
      assert.equal(block.code, status.UNAVAILABLE);
      assert.match(block.details, /recorded \(version 1 of card-schemes is current\), but 0 of the 1/);
      assert.equal(await onPrimary.get(keys.list('card-schemes').current), '1');

      // And a route change.
      const routed = await grpcError(
        ops(
          operations,
          'putRoute',
          {
            route: {
              id: 'ru',
              match: undefined,
              priority: 10,
              counterparties: [
                {
                  name: 'bank',
                  address: '127.0.0.1:1',
                  transport: 2,
                  serverName: '',
                  caPem: '',
                  deadlineMs: 0,
                },
              ],
              updatedBy: '',
              updateTime: undefined,
            },
          },
          asOfficer('olga'),
        ),
      );
      assert.equal(routed.code, status.UNAVAILABLE);
      assert.match(routed.details, /recorded \(the route table is at version \d+\), but 0 of the 1/);
      replica.resume();
    } finally {
      compliance.close();
      operations.close();
    }
  });

  it('refuses every submission when the primary has no replica at all, and stores each at most once', async () => {
    const shared = testRedis();
    const sharedPrefix = uniquePrefix('replica-confirmation-none');
    try {
      gw = await startTestGateway(sharedPrefix, { env: waitingForReplica(TEST_REDIS_URL, 50) });
      api = devClient(gw.address);
      const instruction = validInstruction();
      for (let i = 0; i < 3; i++) {
        assert.equal((await grpcError(submit(api, instruction, HALYK))).code, status.UNAVAILABLE);
      }
      const k = createKeySpace(sharedPrefix, 16).instruction(instruction.uetr);
      assert.equal(await shared.xlen(k.events), 2);
      assert.equal(await shared.hget(k.record, 'replays'), '2');
    } finally {
      await stopGateway();
      await deleteUnder(shared, sharedPrefix);
      shared.disconnect();
    }
  });
});
