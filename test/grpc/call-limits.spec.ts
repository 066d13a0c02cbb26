import { strict as assert } from 'node:assert';
import { status, type ServiceError } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { decodeStatusDetails } from '../../src/grpc/status';
import { validInstruction } from '../support/instructions';
import {
  asParticipant,
  devClient,
  getInstruction,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';

const HALYK = asParticipant('HSBKKZKX');
const KASPI = asParticipant('CASPKZKA');

function retryDelayMs(err: ServiceError): number {
  const delay = decodeStatusDetails(err.metadata).retryInfo?.retryDelay;
  assert.ok(delay, 'RESOURCE_EXHAUSTED without google.rpc.RetryInfo');
  return Number(delay.seconds) * 1000 + delay.nanos / 1e6;
}

/** Record keys under the prefix, one per recorded UETR. */
async function recordedUetrs(redis: Redis, prefix: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const key of await keysUnder(redis, prefix)) {
    const m = /:ins:([0-9a-f-]{36})$/.exec(key);
    if (m) found.add(m[1]);
  }
  return found;
}

describe('per-participant limits at the gateway (RESOURCE_EXHAUSTED with RetryInfo)', function () {
  this.timeout(60_000);
  let redis: Redis;

  before(() => {
    redis = testRedis();
  });
  after(() => redis.disconnect());

  describe('rate', function () {
    const prefix = uniquePrefix('limits-rate');
    let gw: TestGateway;
    before(async () => {
      gw = await startTestGateway(prefix, { env: { CARAVAN_RATE_LIMIT: '4', CARAVAN_RATE_BURST: '5' } });
    });
    after(async () => {
      await gw.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    it('accepts a burst, refuses the rest without storing them, and takes the same UETRs after the wait', async () => {
      const client = devClient(gw.address);
      const instructions = Array.from({ length: 20 }, () => validInstruction());
      const started = Date.now();
      const outcomes = await Promise.all(
        instructions.map((i) =>
          submit(client, i, HALYK).then(
            () => null,
            (err: ServiceError) => err,
          ),
        ),
      );
      const refused = outcomes.filter((o): o is ServiceError => o !== null);
      // The burst, plus what the rate refilled while the calls came in on a busy machine.
      const refilled = Math.floor(((Date.now() - started) / 1000) * 4);
      assert.ok(
        refused.length <= 15 && refused.length >= 15 - refilled,
        `${20 - refused.length} of 20 accepted with a burst of 5 (${refilled} refilled)`,
      );
      for (const err of refused) {
        assert.equal(err.code, status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /HSBKKZKX is over its limit of 4 calls per second/);
        assert.equal(decodeStatusDetails(err.metadata).errorInfo?.reason, 'RESOURCE_EXHAUSTED');
        const wait = retryDelayMs(err);
        assert.ok(wait > 0 && wait <= 250, `retry delay ${wait} ms`);
      }
      const stored = await recordedUetrs(redis, prefix);
      const accepted = instructions.filter((_, i) => outcomes[i] === null).map((i) => i.uetr);
      assert.deepEqual([...stored].sort(), accepted.sort(), 'records exist only for accepted calls');

      // Another participant is not held back by this one.
      assert.ok(
        (await submit(client, validInstruction({ instructingAgent: { bic: 'CASPKZKA' } }), KASPI)).uetr,
      );
      // Reads count against the same budget.
      const read = await grpcError(getInstruction(client, accepted[0], HALYK));
      assert.equal(read.code, status.RESOURCE_EXHAUSTED);

      // A client that waits as told gets through with the same UETR, a few at a time.
      const retried = instructions.filter((_, i) => outcomes[i] !== null);
      let done = 0;
      const deadline = Date.now() + 20_000;
      for (const instruction of retried) {
        for (;;) {
          const result = await submit(client, instruction, HALYK).catch((err: ServiceError) => err);
          if (!(result instanceof Error)) break;
          assert.equal(result.code, status.RESOURCE_EXHAUSTED);
          assert.ok(Date.now() < deadline, 'retries did not get through');
          await new Promise((r) => setTimeout(r, retryDelayMs(result)));
        }
        done++;
      }
      assert.equal(done, refused.length);
      assert.equal((await recordedUetrs(redis, prefix)).size, 21);
      client.close();
    });
  });

  describe('calls and watches in progress', function () {
    const prefix = uniquePrefix('limits-inflight');
    let gw: TestGateway;
    before(async () => {
      gw = await startTestGateway(prefix, {
        env: {
          CARAVAN_RATE_LIMIT: '0',
          CARAVAN_MAX_IN_FLIGHT_PER_PARTICIPANT: '1',
          CARAVAN_MAX_WATCHES_PER_PARTICIPANT: '2',
        },
      });
    });
    after(async () => {
      await gw.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    it("refuses what goes past a participant's calls in progress, and answers every call", async () => {
      const client = devClient(gw.address);
      const instructions = Array.from({ length: 50 }, () => validInstruction());
      const outcomes = await Promise.all(
        instructions.map((i) =>
          submit(client, i, HALYK).then(
            () => null,
            (err: ServiceError) => err,
          ),
        ),
      );
      const refused = outcomes.filter((o): o is ServiceError => o !== null);
      assert.ok(refused.length > 0, '50 calls at once with one allowed in progress: none refused');
      assert.ok(refused.length < 50);
      for (const err of refused) {
        assert.equal(err.code, status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /calls in progress/);
        assert.ok(retryDelayMs(err) > 0);
      }
      assert.equal((await recordedUetrs(redis, prefix)).size, 50 - refused.length);
      // Sequential calls are never refused: each frees its slot when answered.
      for (let i = 0; i < 10; i++) assert.ok((await submit(client, validInstruction(), HALYK)).uetr);
      client.close();
    });

    it('limits open watches and frees the slot when a watch is cancelled', async () => {
      const client = devClient(gw.address);
      const instruction = validInstruction();
      await submit(client, instruction, HALYK);
      const open = () => {
        const stream = client.watchInstruction({ uetr: instruction.uetr }, HALYK);
        const first = new Promise<{ ok: true } | { ok: false; err: ServiceError }>((resolve) => {
          stream.once('data', () => resolve({ ok: true }));
          stream.once('error', (err: ServiceError) => resolve({ ok: false, err }));
        });
        return { stream, first };
      };
      const a = open();
      const b = open();
      assert.deepEqual(await a.first, { ok: true });
      assert.deepEqual(await b.first, { ok: true });
      const c = open();
      const third = await c.first;
      assert.ok(!third.ok && third.err.code === status.RESOURCE_EXHAUSTED);
      assert.match(third.err.details, /2 watches open/);
      // Unary calls have their own count.
      assert.ok((await getInstruction(client, instruction.uetr, HALYK)).uetr);
      a.stream.cancel();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const d = open();
        const outcome = await d.first;
        if (outcome.ok) {
          d.stream.cancel();
          break;
        }
        assert.ok(Date.now() < deadline, 'the cancelled watch never gave its slot back');
        await new Promise((r) => setTimeout(r, 50));
      }
      b.stream.cancel();
      client.close();
    });
  });
});
