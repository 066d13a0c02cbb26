import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import {
  DeliverInstructionRequest,
  SettlementReceiverService,
} from '../../src/gen/caravan/settlement/v1/receiver';
import { CardScheme, type SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health';
import { createReceiverLog } from '../../src/receiver';
import { healthCheck } from '../support/health';
import { validInstruction } from '../support/instructions';
import { spawnCaravan, type ServerProcess } from '../support/processes';
import { TEST_REDIS_URL, deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';
import {
  Code,
  describeFailure,
  mib,
  onlyCasesFromEnv,
  runFuzz,
  stopWithin,
  summarise,
  type FuzzCase,
  type FuzzReport,
  type Outcome,
} from './harness';
import { fuzzSeconds, fuzzSeed, type Rng } from './prng';
import { loadSchema } from './schema';
import { JUNK_HEADERS, NO_CREDENTIALS, healthTargets, reflectionTargets, serviceTargets } from './targets';
import { confusable } from './text';

/** The reference receiver's limit (src/receiver/reference-receiver.ts). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const RSS_GROWTH_BOUND = 100 * 1024 * 1024;
/** Its shutdown grace (10 s by default) and then some: a liveness bound, not a latency one. */
const STOP_WITHIN_MS = 60_000;
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
    assert.ok(report !== null);
    assert.equal(report.processExited, false, `the receiver process exited during the run (seed ${seed})`);
    assert.equal(
      report.healthChecks.failed,
      0,
      `${report.healthChecks.failed} health checks failed during the run`,
    );
    assert.equal(await healthCheck(address), HealthCheckResponse_ServingStatus.SERVING);
  });

  it('answers every call with a well-formed status: a known code, never INTERNAL or UNKNOWN, details that decode', function () {
    assert.ok(report !== null);
    const all = report.failures;
    assert.equal(
      all.length + report.moreFailures,
      0,
      `${all.length + report.moreFailures} bad answers (seed ${seed}); the first ones:\n\n${all.slice(0, 12).map(describeFailure).join('\n\n')}`,
    );
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
    assert.ok(report !== null);
    if (onlyCases !== null) this.skip();
    assert.ok(report.rss !== null && report.rss.samples > 0, 'no RSS samples');
    const worst = report.rss.worst;
    console.log(
      `  ${report.calls} calls; worst RSS ${mib(worst)} (warm-up peak ${mib(report.rss.baseline)})`,
    );
    assert.ok(
      worst - report.rss.baseline < RSS_GROWTH_BOUND,
      `RSS grew from ${mib(report.rss.baseline)} to ${mib(worst)} over the run (seed ${seed})`,
    );
  });

  it('exercises every method and logs no unexpected failure', function () {
    assert.ok(report !== null && server !== null);
    if (onlyCases === null) {
      const missing = targets()
        .map((t) => t.name)
        .filter((name) => !report!.codes.has(name));
      assert.deepEqual(missing, [], 'methods never called');
    }
    const unexpected = server
      .stdout()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line));
    assert.deepEqual(unexpected.slice(0, 5), [], `${unexpected.length} error-level log lines`);
  });
  it('stops cleanly on SIGTERM after the run (nothing left running)', async function () {
    assert.ok(server !== null);
    const ended = await stopWithin(server, STOP_WITHIN_MS);
    assert.ok(
      ended !== null,
      `the receiver was still running ${STOP_WITHIN_MS / 1000} s after SIGTERM (seed ${seed})`,
    );
    assert.equal(
      ended.code,
      0,
      `the receiver exited with ${ended.code ?? ended.signal}:\n${ended.stderr.slice(-4000)}`,
    );
    const cutOff = server
      .stdout()
      .split('\n')
      .filter((line) => line.includes('cutting them off'));
    if (cutOff.length > 0)
      console.log(`  the receiver's graceful stop used its whole grace period (connections still open)`);
  });
});
