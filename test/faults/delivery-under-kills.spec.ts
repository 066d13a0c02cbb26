import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createReceiverLog } from '../../src/receiver';
import { createKeySpace } from '../../src/store/keys';
import { counterparty, route } from '../support/delivery';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { spawnCaravan, type ServerProcess } from '../support/processes';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const INSTRUCTIONS = 2_000;
const CONCURRENCY = 32;
const BANK = 'RZBMRUMM';
const HALYK = asParticipant('HSBKKZKX');
const DISPATCHER_RUNNING = /"msg":"caravan dispatcher running"/;
const RECEIVER_LISTENING = /"port":(\d+).*"msg":"caravan receiver listening"/;

/**
 * The delivery fault test of issue #4, with counts rather than samples: 2,000 instructions go in
 * while the dispatcher process is killed with SIGKILL twice and one of the bank's two receiver
 * processes is killed and restarted. Afterwards every acknowledged instruction must be DELIVERED
 * (a receiver was always up) and the bank must have received each UETR exactly once.
 */
describe('fault: dispatcher SIGKILLed twice and a counterparty restarted under load', function () {
  this.timeout(240_000);
  let redis: Redis;
  let prefix: string;
  let gw: TestGateway;
  const processes: ServerProcess[] = [];

  const env = () => ({
    CARAVAN_DEV_INSECURE: 'true',
    REDIS_URL: TEST_REDIS_URL,
    CARAVAN_REDIS_PREFIX: prefix,
  });
  /** A receiver process of the bank on `port` (0: any); answers it and the port it listens on. */
  const startReceiver = async (port: number) => {
    const p = spawnCaravan(
      ['receiver', '--name', BANK, '--listen', `127.0.0.1:${port}`, '--prefix', prefix],
      { ...env(), CARAVAN_LOG_LEVEL: 'info' },
      RECEIVER_LISTENING,
    );
    processes.push(p);
    return { process: p, port: Number((await p.ready)[1]) };
  };
  const startDispatcher = async () => {
    const p = spawnCaravan(
      ['dispatch'],
      {
        ...env(),
        CARAVAN_CLAIM_IDLE_MS: '1500',
        CARAVAN_DELIVERY_ATTEMPTS: '12',
        CARAVAN_DELIVERY_DEADLINE_MS: '2000',
        CARAVAN_RETRY_BASE_MS: '50',
        CARAVAN_RETRY_MAX_MS: '500',
        CARAVAN_BREAKER_OPEN_MS: '1000',
        CARAVAN_LOG_LEVEL: 'info',
      },
      DISPATCHER_RUNNING,
    );
    processes.push(p);
    await p.ready;
    return p;
  };

  before(() => {
    redis = testRedis();
    prefix = uniquePrefix('fault-delivery');
  });
  after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await gw?.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('delivers every acknowledged instruction, and the bank receives each exactly once', async () => {
    // Two endpoints of one bank: the same receiver name, so they share the UETR deduplication.
    const { process: primary, port: primaryPort } = await startReceiver(0);
    const { port: backupPort } = await startReceiver(0);
    gw = await startTestGateway(prefix, {
      routes: [
        route('ru', [
          counterparty('primary', `127.0.0.1:${primaryPort}`),
          counterparty('backup', `127.0.0.1:${backupPort}`),
        ]),
      ],
    });
    let dispatcher = await startDispatcher();

    const client = devClient(gw.address);
    const acknowledged: string[] = [];
    const events: string[] = [];
    let next = 0;
    let submitErrors = 0;
    const faults = async () => {
      if (acknowledged.length === 500 && events.length === 0) {
        events.push('kill dispatcher 1');
        await dispatcher.stop('SIGKILL');
        dispatcher = await startDispatcher();
      } else if (acknowledged.length === 1000 && events.length === 1) {
        events.push('restart primary receiver');
        await primary.stop('SIGKILL');
        await startReceiver(primaryPort);
      } else if (acknowledged.length === 1500 && events.length === 2) {
        events.push('kill dispatcher 2');
        await dispatcher.stop('SIGKILL');
        dispatcher = await startDispatcher();
      }
    };
    const worker = async () => {
      while (next < INSTRUCTIONS) {
        next++;
        const instruction = validInstruction();
        // A client that got no answer retries with the same UETR, as the API asks of banks.
        for (let attempt = 1; ; attempt++) {
          try {
            const answer = await submit(client, instruction, HALYK);
            assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
            acknowledged.push(instruction.uetr);
            break;
          } catch (err) {
            submitErrors++;
            if (attempt >= 5 || (err as ServiceError).code === undefined) throw err;
          }
        }
        await faults();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    client.close();
    assert.deepEqual(events, ['kill dispatcher 1', 'restart primary receiver', 'kill dispatcher 2']);

    const keys = createKeySpace(prefix, gw.config.partitions);
    const states = async () => {
      const counts = new Map<string, number>();
      const pipeline = redis.pipeline();
      for (const uetr of acknowledged) pipeline.hget(keys.instruction(uetr).record, 'state');
      for (const [, state] of (await pipeline.exec()) ?? []) {
        counts.set(String(state), (counts.get(String(state)) ?? 0) + 1);
      }
      return counts;
    };
    const until = Date.now() + 180_000;
    let counts = await states();
    while ((counts.get('ACCEPTED') ?? 0) > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      counts = await states();
    }

    const log = createReceiverLog(redis, prefix, BANK);
    const receipts = await log.received();
    const received = new Map<string, number>();
    for (const r of receipts) received.set(r.uetr, (received.get(r.uetr) ?? 0) + 1);
    const totals = await log.counts();
    const delivered = counts.get('DELIVERED') ?? 0;
    const failed = counts.get('FAILED') ?? 0;
    console.log(
      `      counts: submitted ${INSTRUCTIONS}, acknowledged ${acknowledged.length}, delivered ${delivered}, failed ${failed}, ` +
        `still accepted ${counts.get('ACCEPTED') ?? 0}; bank received ${received.size} distinct UETRs in ${totals.deliveries} deliveries ` +
        `(${totals.deliveries - received.size} duplicates answered from its record); submit retries ${submitErrors}`,
    );

    assert.equal(acknowledged.length, INSTRUCTIONS);
    assert.equal(new Set(acknowledged).size, INSTRUCTIONS);
    assert.equal(delivered, INSTRUCTIONS, JSON.stringify([...counts]));
    assert.equal(failed, 0);
    assert.equal(receipts.length, received.size, 'no UETR was recorded as received twice');
    for (const uetr of acknowledged) assert.equal(received.get(uetr), 1, `${uetr} received once`);
    assert.equal(received.size, INSTRUCTIONS, 'the bank received nothing that was not acknowledged');
    for (let p = 0; p < gw.config.partitions; p++) {
      const [pending] = (await redis.xpending(keys.outbox(p), 'dispatch')) as [number];
      assert.equal(Number(pending), 0, `partition ${p} has no pending outbox entries`);
    }
  });
});
