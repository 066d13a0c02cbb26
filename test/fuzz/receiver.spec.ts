import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import {
  DeliverInstructionRequest,
  SettlementReceiverService,
} from '../../src/gen/caravan/settlement/v1/receiver';
import { CardScheme, type SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { createReceiverLog } from '../../src/receiver';
import { validInstruction } from '../support/instructions';
import { spawnCaravan, type ServerProcess } from '../support/processes';
import { TEST_REDIS_URL, deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';
import {
  Code,
  mib,
  onlyCasesFromEnv,
  runFuzz,
  summarise,
  type FuzzCase,
  type FuzzReport,
  type Outcome,
} from './harness';
import { RSS_GROWTH_BOUND, serverChecks } from './checks';
import { fuzzSeconds, fuzzSeed, type Rng } from './prng';
import { loadSchema } from './schema';
import { JUNK_HEADERS, NO_CREDENTIALS, healthTargets, reflectionTargets, serviceTargets } from './targets';
import { confusable } from './text';

/** The reference receiver's limit (src/receiver/reference-receiver.ts). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const RECEIVER_LISTENING = /"port":(\d+).*"msg":"caravan receiver listening"/;
const RECEIVER = 'SettlementReceiver';
const NAME = 'FUZZBANK';

/**
 * Hostile input against a real `caravan receiver` process: SettlementReceiver.DeliverInstruction
 * (with a reject share, so refusals are recorded too), health and reflection. A delivery the
 * receiver answers with an error must leave no receipt and no delivery count behind.
 */
describe('fuzz: the reference receiver process (every RPC it serves)', function () {
  const seconds = fuzzSeconds(20);
  this.timeout(seconds * 1000 * 2 + 180_000);
  const seed = fuzzSeed();
  const checks = serverChecks('receiver', seed);
  const onlyCases = onlyCasesFromEnv();
  const prefix = uniquePrefix('fuzz-receiver');
  const schema = loadSchema();
  let redis: Redis;
  let server: ServerProcess | null = null;
  let address = '';
  let report: FuzzReport | null = null;
  /** UETRs of deliveries answered OK, and how many such answers there were. */
  const answered = new Set<string>();
  let okDeliveries = 0;
  /** A few UETRs delivered before the run, so the fuzzer repeats deliveries of known UETRs. */
  const known: SettlementInstruction[] = [];

  function observe(c: FuzzCase, o: Outcome): void {
    if (o.code !== Code.OK) return;
    okDeliveries += 1;
    // The server decoded the same bytes with the same generated decoder.
    answered.add(DeliverInstructionRequest.decode(c.messages[0] ?? Buffer.alloc(0)).instruction?.uetr ?? '');
  }

  function deliverSeeds(rng: Rng): Buffer[][] {
    const fresh = () => validInstruction({ uetr: rng.uuid() });
    const cyrillic = fresh();
    cyrillic.creditor = { ...cyrillic.creditor!, name: confusable(rng, 'ООО Волга Тест Саплайз') };
    const card = validInstruction({
      uetr: rng.uuid(),
      card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '41111111', last4: '1111' },
    });
    const instructions = [fresh(), fresh(), cyrillic, card, ...(known.length > 0 ? [rng.pick(known)] : [])];
    return instructions.map((instruction) => [
      Buffer.from(
        DeliverInstructionRequest.encode({
          instruction,
          attempt: rng.pick([1, 1, 2, 8, 0, 4294967295]),
        }).finish(),
      ),
    ]);
  }

  function targets() {
    const all = [
      ...serviceTargets(
        schema,
        `caravan.settlement.v1.${RECEIVER}`,
        SettlementReceiverService,
        { DeliverInstruction: { seeds: deliverSeeds, weight: 8, observe } },
        [
          [6, NO_CREDENTIALS],
          [1, JUNK_HEADERS],
        ],
      ),
      ...healthTargets([`caravan.settlement.v1.${RECEIVER}`]),
      ...reflectionTargets(
        [
          `caravan.settlement.v1.${RECEIVER}`,
          'caravan.settlement.v1.DeliverInstructionRequest',
          'grpc.health.v1.Health',
        ],
        ['caravan/settlement/v1/receiver.proto', 'caravan/settlement/v1/instruction.proto', 'missing.proto'],
      ),
    ];
    const only = process.env.FUZZ_TARGETS;
    return only === undefined || only === '' ? all : all.filter((t) => new RegExp(only).test(t.name));
  }

  before(async function () {
    redis = testRedis();
    server = spawnCaravan(
      ['receiver', '--name', NAME, '--listen', '127.0.0.1:0', '--prefix', prefix, '--reject-share', '0.3'],
      { CARAVAN_DEV_INSECURE: 'true', REDIS_URL: TEST_REDIS_URL, CARAVAN_LOG_LEVEL: 'info' },
      RECEIVER_LISTENING,
      60_000,
    );
    address = `127.0.0.1:${(await server.ready)[1]}`;
    console.log(
      `[fuzz receiver] FUZZ_SEED=${seed}, ${onlyCases === null ? `${seconds} s` : `cases ${onlyCases.join(',')}`}, pid ${server.pid}, ${address}, prefix ${prefix}`,
    );
    report = await runFuzz({
      label: 'receiver',
      seed,
      seconds,
      address,
      pid: server.pid,
      targets: targets(),
      schema,
      mutation: { maxMessageBytes: MAX_MESSAGE_BYTES },
      onlyCases,
    });
    console.log(summarise(report));
  });

  after(async function () {
    if (server !== null) await server.stop('SIGKILL');
    if (redis !== undefined) {
      await deleteUnder(redis, prefix);
      redis.disconnect();
    }
  });

  it('keeps the receiver process running and answering health', async function () {
    await checks.stillServing(report, address);
  });

  it('answers every call with a well-formed status: a known code, never INTERNAL or UNKNOWN, details that decode', function () {
    checks.wellFormedAnswers(report);
  });

  it('records a delivery only when it answered OK', async function () {
    assert.ok(report !== null);
    const log = createReceiverLog(redis, prefix, NAME);
    const receipts = await log.received();
    const counts = await log.counts();
    console.log(
      `  stored: ${receipts.length} receipts (${counts.accepted} accepted, ${counts.rejected} refused by the reject share), ${counts.deliveries} deliveries counted for ${okDeliveries} OK answers; keys under the prefix: ${(await keysUnder(redis, prefix)).length}`,
    );
    assert.deepEqual(
      receipts.map((r) => r.uetr).filter((u) => !answered.has(u)),
      [],
      'receipts for UETRs whose delivery was refused',
    );
    assert.equal(
      counts.deliveries,
      okDeliveries,
      'every OK answer counted once, no refused delivery counted',
    );
  });

  it(`keeps the receiver's memory bounded (RSS growth after warm-up < ${mib(RSS_GROWTH_BOUND)})`, function () {
    if (onlyCases !== null) this.skip();
    checks.memoryBounded(report);
  });

  it('exercises every method and logs no unexpected failure', function () {
    assert.ok(report !== null && server !== null);
    if (onlyCases === null) {
      const missing = targets()
        .map((t) => t.name)
        .filter((name) => !report!.codes.has(name));
      assert.deepEqual(missing, [], 'methods never called');
    }
    checks.noErrorLogs(server);
  });
  it('stops cleanly on SIGTERM after the run (nothing left running)', async function () {
    await checks.stopsCleanly(server);
  });
});
