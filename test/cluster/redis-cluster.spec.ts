import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Cluster, Redis } from 'ioredis';
import { callUnary } from '../../src/cli/grpc-call';
import {
  HoldDecision,
  ListFormat,
  type ComplianceClient,
} from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { CardScheme, type SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createReceiverLog } from '../../src/receiver';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { redisServerInstalled } from '../../src/store/private-redis';
import { createRedisClient, duplicateForBlocking, waitUntilReady } from '../../src/store/redis-client';
import { asOfficer, complianceClient, entry, importFiles, ROLE_TOKENS_ENV } from '../support/compliance';
import { counterparty, route, startTestReceiver, type TestReceiver } from '../support/delivery';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { spawnCaravan, type ServerProcess } from '../support/processes';
import { deleteUnder, uniquePrefix } from '../support/redis';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';

const BANK = 'RZBMRUMM';
const HALYK = asParticipant('HSBKKZKX');
const ALICE = asOfficer('alice');
const BOB = asOfficer('bob');
const PARTITIONS = 16;
/** Instructions before the failover: every 10th carries a Mir card (IIN 2200-2204) and is rejected. */
const FIRST_ROUND = 300;
/** Instructions submitted while a master fails over. */
const SECOND_ROUND = 300;
const CONCURRENCY = 16;
const DISPATCHER_RUNNING = /"msg":"caravan dispatcher running"/;
const HELD_NAME = 'ТОО Жетысу Орбита Холдинг';
/**
 * CARAVAN_CLUSTER_FAILOVER=kill SIGKILLs the master instead of a coordinated CLUSTER FAILOVER.
 * Replication is asynchronous, but the gateways acknowledge an instruction only once the master's
 * replica holds it (CARAVAN_REDIS_MIN_REPLICAS=1), so the promoted replica has every acknowledged
 * one; the killed master's partitions answer UNAVAILABLE until the killed node has rejoined as the
 * new master's replica.
 */
const KILL = process.env.CARAVAN_CLUSTER_FAILOVER === 'kill';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const soon = () => new Date(Date.now() + 30_000);

/**
 * Issue #6, part 1: Caravan on a real Redis Cluster (3 masters, 3 replicas, redis-server
 * --cluster-enabled yes on free local ports), with two gateway replicas taking instructions in,
 * two `caravan dispatch` processes delivering them and a reference receiver deduplicating them.
 * Then a master fails over (CLUSTER FAILOVER on its replica) while submissions continue.
 */
describe('Redis Cluster: the whole pipeline on 3 masters + 3 replicas, and a master failover under load', function () {
  this.timeout(300_000);
  let cluster: TestRedisCluster | undefined;
  let redis: Redis | Cluster | undefined;
  let subscriber: Redis | Cluster | undefined;
  let keys: KeySpace;
  let prefix: string;
  const gateways: TestGateway[] = [];
  const dispatchers: ServerProcess[] = [];
  let receiver: TestReceiver | undefined;
  const settlement: SettlementGatewayClient[] = [];
  const compliance: ComplianceClient[] = [];
  const announcements: string[] = [];
  /** Every instruction the gateways acknowledged ACCEPTED (directly or after release), by UETR. */
  const toDeliver = new Set<string>();
  const rejected = new Set<string>();
  let submitRetries = 0;

  /** Submits, retrying with the same UETR while the gateway answers UNAVAILABLE, as banks are asked to. */
  async function submitRetrying(client: SettlementGatewayClient, instruction: SettlementInstruction) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await submit(client, instruction, HALYK, 10_000);
      } catch (err) {
        const code = (err as ServiceError).code;
        if (attempt >= 40 || (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED)) throw err;
        submitRetries++;
        await sleep(250);
      }
    }
  }

  async function statesOf(uetrs: Iterable<string>): Promise<Map<string, string>> {
    const client = redis!;
    const all = [...uetrs];
    const states = new Map<string, string>();
    for (let i = 0; i < all.length; i += 200) {
      const batch = all.slice(i, i + 200);
      const found = await Promise.all(batch.map((u) => client.hget(keys.instruction(u).record, 'state')));
      batch.forEach((u, j) => states.set(u, found[j] ?? 'MISSING'));
    }
    return states;
  }

  function tally(states: Map<string, string>): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of states.values()) counts[s] = (counts[s] ?? 0) + 1;
    return counts;
  }

  /** Waits until none of the acknowledged instructions is still ACCEPTED, then answers their states. */
  async function settled(timeoutMs: number): Promise<Map<string, string>> {
    const deadline = Date.now() + timeoutMs;
    let states = await statesOf(toDeliver);
    while ([...states.values()].some((s) => s === 'ACCEPTED') && Date.now() < deadline) {
      await sleep(500);
      states = await statesOf(toDeliver);
    }
    return states;
  }

  async function checkDelivery(label: string): Promise<void> {
    const states = await settled(120_000);
    const log = createReceiverLog(redis!, prefix, BANK);
    const receipts = await log.received();
    const received = new Map<string, number>();
    for (const r of receipts) received.set(r.uetr, (received.get(r.uetr) ?? 0) + 1);
    const totals = await log.counts();
    const counts = tally(states);
    console.log(
      `      ${label}: acknowledged for delivery ${toDeliver.size} (${JSON.stringify(counts)}), rejected at intake ${rejected.size}; ` +
        `bank received ${received.size} distinct UETRs in ${totals.deliveries} deliveries ` +
        `(${totals.deliveries - received.size} duplicates answered from its record); submit retries ${submitRetries}`,
    );
    assert.equal(counts.DELIVERED, toDeliver.size, JSON.stringify(counts));
    assert.equal(receipts.length, received.size, 'no UETR was recorded as received twice');
    for (const uetr of toDeliver) assert.equal(received.get(uetr), 1, `${uetr} received once`);
    assert.equal(received.size, toDeliver.size, 'the bank received nothing that was not acknowledged');
    const rejectedStates = await statesOf(rejected);
    assert.ok([...rejectedStates.values()].every((s) => s === 'REJECTED'));
    for (let p = 0; p < PARTITIONS; p++) {
      const [pending] = (await redis!.xpending(keys.outbox(p), 'dispatch')) as [number];
      assert.equal(Number(pending), 0, `partition ${p} has no pending outbox entries`);
    }
  }

  before(async function () {
    if (!redisServerInstalled()) this.skip();
    cluster = await startRedisCluster(3, 1);
    prefix = uniquePrefix('cluster');
    keys = createKeySpace(prefix, PARTITIONS);
    redis = createRedisClient(cluster.url, { commandTimeoutMs: 10_000 });
    subscriber = duplicateForBlocking(redis);
    await Promise.all([redis, subscriber].map((c) => waitUntilReady(c, cluster!.url, 10_000)));
    subscriber.on('message', (_channel: string, message: string) => announcements.push(message));
    await subscriber.subscribe(keys.listsChannel());

    receiver = await startTestReceiver(prefix, BANK, { redisUrl: cluster.url });
    const routes = [route('ru', [counterparty('rzbm', receiver.address)])];
    const env = {
      REDIS_URL: cluster.url,
      CARAVAN_PARTITIONS: String(PARTITIONS),
      CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
      CARAVAN_LIST_POLL_MS: '500',
      CARAVAN_DISPATCHER: 'off',
      // Acknowledged only once the master's replica holds it: a killed master loses nothing acknowledged.
      CARAVAN_REDIS_MIN_REPLICAS: '1',
      CARAVAN_LOG_LEVEL: process.env.CLUSTER_DEBUG ? 'warn' : 'silent',
    };
    for (let i = 0; i < 2; i++) gateways.push(await startTestGateway(prefix, { env, routes }));
    for (const gw of gateways) {
      settlement.push(devClient(gw.address));
      compliance.push(complianceClient(gw.address));
    }
    for (let i = 0; i < 2; i++) {
      const p = spawnCaravan(
        ['dispatch'],
        {
          CARAVAN_DEV_INSECURE: 'true',
          REDIS_URL: cluster.url,
          CARAVAN_REDIS_PREFIX: prefix,
          CARAVAN_PARTITIONS: String(PARTITIONS),
          CARAVAN_CLAIM_IDLE_MS: '2000',
          CARAVAN_DELIVERY_ATTEMPTS: '20',
          CARAVAN_DELIVERY_DEADLINE_MS: '3000',
          CARAVAN_RETRY_BASE_MS: '50',
          CARAVAN_RETRY_MAX_MS: '1000',
          CARAVAN_BREAKER_OPEN_MS: '500',
          CARAVAN_LOG_LEVEL: 'info',
        },
        DISPATCHER_RUNNING,
        60_000,
      );
      dispatchers.push(p);
      await p.ready;
    }
  });

  after(async () => {
    const quietly = async (what: () => Promise<unknown> | undefined) => {
      try {
        await what();
      } catch {
        // Cleaning up after a failure: the next step must still run.
      }
    };
    for (const c of [...settlement, ...compliance]) c.close();
    for (const p of dispatchers) await quietly(() => p.stop('SIGTERM'));
    for (const gw of gateways) await quietly(() => gw.gateway.stop());
    await quietly(() => receiver?.running.stop());
    if (redis) await quietly(() => deleteUnder(redis!, prefix));
    subscriber?.disconnect();
    redis?.disconnect();
    await quietly(() => cluster?.stop());
  });

  it('spreads the partitions over several masters, each tag in one slot', async () => {
    const owners = new Map<number, number[]>();
    const anyNode = cluster!.node(cluster!.nodes[0].port);
    for (let p = 0; p < PARTITIONS; p++) {
      const slot = Number(await anyNode.cluster('KEYSLOT', keys.outbox(p)));
      assert.equal(Number(await anyNode.cluster('KEYSLOT', keys.holds(p))), slot);
      const { master } = await cluster!.shardOf(slot);
      owners.set(master, [...(owners.get(master) ?? []), p]);
    }
    console.log(
      `      partitions by master: ${[...owners].map(([port, ps]) => `${port}: ${ps.join(',')}`).join('; ')}`,
    );
    assert.ok(owners.size >= 2, 'the partitions live on more than one master');
  });

  it('screens with a list imported on one replica and an entry upserted on the other, releases a hold with four eyes, delivers every instruction once', async () => {
    const [a, b] = compliance;
    const imported = await importFiles(
      a,
      ALICE,
      { list: 'card-schemes', format: ListFormat.LIST_FORMAT_CSV, note: 'Mir suspended' },
      [{ name: 'mir.csv', data: Buffer.from('kind,id,scheme,iin_ranges\ncard-scheme,MIR,MIR,2200-2204\n') }],
    );
    assert.equal(imported.activated, true, JSON.stringify(imported));
    await callUnary(
      b.upsertEntry.bind(b),
      {
        list: 'internal-counterparties',
        entry: entry({
          id: 'n1',
          kind: EntryKind.ENTRY_KIND_NAME,
          name: 'Zhetysu Orbita Holding LLP',
          ref: 'case-1',
        }),
        note: 'cluster test',
      },
      BOB,
      soon(),
    );
    // Both replicas pick both changes up by themselves (pub/sub through the cluster, or the poll).
    const deadline = Date.now() + 30_000;
    const sees = (gw: TestGateway) => {
      const snapshot = gw.gateway.screening!.snapshot();
      return (
        snapshot.kind === 'current' &&
        ['card-schemes', 'internal-counterparties'].every((l) => snapshot.lists.some((i) => i.list === l))
      );
    };
    while (!gateways.every(sees)) {
      assert.ok(Date.now() < deadline, 'both gateways screen with the new lists');
      await sleep(100);
    }
    assert.ok(
      announcements.length >= 2,
      `list changes announced through the cluster: ${announcements.join(' ')}`,
    );

    // Two held instructions, one through each replica.
    const held: string[] = [];
    for (const client of settlement) {
      const ins = validInstruction();
      ins.creditor!.name = HELD_NAME;
      const res = await submitRetrying(client, ins);
      assert.equal(res.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
      held.push(ins.uetr);
    }

    let next = 0;
    const worker = async (w: number) => {
      while (next < FIRST_ROUND) {
        const n = next++;
        const client = settlement[(n + w) % 2];
        const mir = n % 10 === 0;
        const ins = validInstruction(
          mir ? { card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '22021234', last4: '1234' } } : {},
        );
        const res = await submitRetrying(client, ins);
        if (mir) {
          assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED);
          assert.equal(res.reason?.code, 'AG01');
          rejected.add(ins.uetr);
        } else {
          assert.equal(res.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
          toDeliver.add(ins.uetr);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));

    // Four eyes: alice releases on one replica, bob on the other.
    const decide = (client: ComplianceClient, who: typeof ALICE, uetr: string) =>
      callUnary(
        client.decideHold.bind(client),
        {
          uetr,
          evidence: '',
          decision: HoldDecision.HOLD_DECISION_RELEASE,
          comment: 'different entity',
          reasonCode: '',
        },
        who,
        soon(),
      );
    const first = await decide(a, ALICE, held[0]);
    assert.equal(first.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
    assert.equal(first.releasesNeeded, 1);
    const second = await decide(b, BOB, held[0]);
    assert.equal(second.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.deepEqual(second.releasedBy, ['alice', 'bob']);
    toDeliver.add(held[0]);

    await checkDelivery('before the failover');
    const stillHeld = await statesOf([held[1]]);
    assert.equal(stillHeld.get(held[1]), 'HELD_FOR_REVIEW');

    const verified = await callUnary(b.verifyAuditLog.bind(b), {}, ALICE, soon());
    assert.equal(verified.intact, true, verified.problem);
    // import, upsert, two releases (one of them completing the four eyes) at least
    assert.ok(Number(verified.checked) >= 4, `audit events checked: ${verified.checked}`);
  });

  it('loses and duplicates nothing acknowledged while a master fails over under load', async () => {
    // The master serving the most partitions is the one to fail over.
    const anyNode = cluster!.node(cluster!.nodes[0].port);
    const slots = await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, p) =>
        Number(await anyNode.cluster('KEYSLOT', keys.outbox(p))),
      ),
    );
    const masters = await Promise.all(slots.map((s) => cluster!.shardOf(s)));
    const load = new Map<number, number>();
    for (const m of masters) load.set(m.master, (load.get(m.master) ?? 0) + 1);
    const busiest = [...load].sort((x, y) => y[1] - x[1])[0][0];
    const slot = slots[masters.findIndex((m) => m.master === busiest)];

    const before = toDeliver.size;
    let acknowledged = 0;
    let next = 0;
    // Assigned inside the workers: the cast keeps TypeScript from narrowing it to null here.
    let failover = null as Promise<{ from: number; to: number }> | null;
    /** Acknowledged when the failover started and when it was over. */
    let atStart = -1;
    let atEnd = -1;
    // Submissions go on until SECOND_ROUND are in and 50 more after the failover is over.
    const more = () => next < SECOND_ROUND || atEnd < 0 || acknowledged < atEnd + 50;
    const worker = async (w: number) => {
      while (more()) {
        const n = next++;
        const ins = validInstruction();
        const res = await submitRetrying(settlement[(n + w) % 2], ins);
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
        toDeliver.add(ins.uetr);
        acknowledged++;
        if (acknowledged === 100 && failover === null) {
          atStart = acknowledged;
          failover = (KILL ? cluster!.killMaster(slot) : cluster!.failover(slot)).finally(() => {
            atEnd = acknowledged;
          });
          failover.catch(() => (atEnd = acknowledged)); // awaited below; not an unhandled rejection meanwhile
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    assert.ok(failover !== null, 'the failover was started under load');
    const { from, to } = await failover;
    console.log(
      `      failover (${KILL ? 'SIGKILL of the master' : 'CLUSTER FAILOVER on its replica'}): slot ${slot} ` +
        `(${load.get(busiest)} of ${PARTITIONS} partitions) moved from master ${from} to ${to}; ` +
        `${acknowledged} acknowledged in this round, ${atStart} before it started, ${atEnd - atStart} while it ran, ${acknowledged - atEnd} after`,
    );
    assert.equal(toDeliver.size - before, acknowledged);

    await checkDelivery('after the failover');
    const verified = await callUnary(compliance[0].verifyAuditLog.bind(compliance[0]), {}, ALICE, soon());
    assert.equal(verified.intact, true, verified.problem);
  });
});
