import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Instruction, SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createReceiverLog } from '../../src/receiver';
import { createKeySpace } from '../../src/store/keys';
import { DISPATCH_GROUP } from '../../src/store/outbox';
import { createTestPki, type TestPki } from '../support/certificates';
import { startCaravan, type CliResult, type Env } from '../support/cli';
import { OFFICERS, ROLE_TOKENS_ENV } from '../support/compliance';
import {
  closedPort,
  counterparty,
  route,
  startTestReceiver,
  waitForState,
  type TestReceiver,
} from '../support/delivery';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const run = (args: string[], env: Env): Promise<CliResult> =>
  startCaravan(args, env, { timeoutMs: 30_000 }).done;
const explain = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const HALYK = asParticipant('HSBKKZKX');

interface RouteJson {
  id: string;
  priority?: number;
  match?: Record<string, string>;
  counterparties: Record<string, string | number>[];
  updatedBy?: string;
}
interface SummaryJson {
  uetr: string;
  problem: string;
  state: string;
  reason?: { code?: string; description?: string };
  participant: string;
  creditorAgent: string;
  since: string;
  attempts?: number;
  counterparty?: string;
  traceId: string;
}

describe('caravan routes / failed / replay (the CLI process)', function () {
  this.timeout(60_000);
  const prefix = uniquePrefix('cli-operations');
  const dir = mkdtempSync(join(tmpdir(), 'caravan-cli-operations-'));
  let redis: Redis;
  let pki: TestPki;
  let gw: TestGateway;
  let client: SettlementGatewayClient;
  let receiver: TestReceiver | undefined;
  let olga: Env;
  let alice: Env;
  let failed: Instruction;
  let stuck: SettlementInstruction;

  const routeIds = async () => {
    const listed = await run(['routes', 'list', '--json'], olga);
    assert.equal(listed.code, 0, explain(listed));
    return (JSON.parse(listed.stdout) as { routes: RouteJson[] }).routes;
  };

  before(async () => {
    redis = testRedis();
    pki = createTestPki();
    const routes = [
      route('ru', [counterparty('dead', `127.0.0.1:${await closedPort()}`)], { creditorAgent: 'RZBMRUMM' }),
    ];

    // Stuck: a dispatcher that died holding the outbox entry leaves the instruction ACCEPTED. A
    // gateway without a dispatcher takes it, and a consumer that never acknowledges claims it
    // before any dispatcher can.
    const quiet = await startTestGateway(prefix, { routes });
    const quietClient = devClient(quiet.address);
    stuck = validInstruction();
    await submit(quietClient, stuck, HALYK);
    quietClient.close();
    await quiet.gateway.stop();
    const keys = createKeySpace(prefix, quiet.config.partitions);
    const outbox = keys.outbox(keys.partitionOf(stuck.uetr));
    await redis.xgroup('CREATE', outbox, DISPATCH_GROUP, '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', DISPATCH_GROUP, 'ghost', 'COUNT', 100, 'STREAMS', outbox, '>');

    gw = await startTestGateway(prefix, {
      routes,
      env: {
        CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
        CARAVAN_DISPATCHER: 'on',
        CARAVAN_DELIVERY_ATTEMPTS: '2',
        CARAVAN_RETRY_BASE_MS: '10',
        CARAVAN_RETRY_MAX_MS: '20',
        CARAVAN_ROUTES_POLL_MS: '200',
        // Nobody takes the ghost's entry over while the specs run.
        CARAVAN_CLAIM_IDLE_MS: '3600000',
      },
    });
    client = devClient(gw.address);
    const base = { CARAVAN_DEV_INSECURE: 'true', CARAVAN_ADDR: gw.address };
    olga = { ...base, CARAVAN_TOKEN: OFFICERS[2].token };
    alice = { ...base, CARAVAN_TOKEN: OFFICERS[0].token };

    const doomed = validInstruction();
    await submit(client, doomed, HALYK);
    failed = await waitForState(client, doomed.uetr, HALYK, InstructionState.INSTRUCTION_STATE_FAILED);
  });

  after(async () => {
    client.close();
    await gw.gateway.stop();
    await receiver?.running.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
    pki.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts a rule with every counterparty field, lists it in order, replaces it from a --file and removes it', async () => {
    const put = await run(
      [
        'routes',
        'put',
        'am-ardshin',
        '--creditor-agent',
        'ashbam22',
        '--currency',
        'usd',
        '--min-amount',
        '100',
        '--max-amount',
        '50000',
        '--priority',
        '20',
        '--counterparty',
        `name=ardshin-primary,address=127.0.0.1:50061,transport=tls,deadline-ms=3000,server-name=receiver.ardshin.am,ca-file=${pki.caFile}`,
        '--counterparty',
        'name=ardshin-backup,address=127.0.0.1:50062,transport=plaintext',
      ],
      olga,
    );
    assert.equal(put.code, 0, explain(put));
    assert.match(put.stdout, /^added route am-ardshin \(route table version \d+\)$/m);
    assert.match(
      put.stdout,
      /am-ardshin +20 +ASHBAM22 \(every branch\) +USD +100 to 50000 +olga \d{4}-\d\d-\d\dT/,
    );
    assert.match(
      put.stdout,
      /1\. +ardshin-primary +127\.0\.0\.1:50061 +tls +3000 ms +server name receiver\.ardshin\.am, CA Caravan Test CA$/m,
    );
    assert.match(put.stdout, /2\. +ardshin-backup +127\.0\.0\.1:50062 +plaintext +default deadline$/m);

    const listed = await run(['routes'], olga);
    assert.equal(listed.code, 0, explain(listed));
    assert.match(listed.stdout, /^route table version \d+: 2 rules in the order they are considered/);
    assert.match(listed.stdout, /^1 +ru +10 +RZBMRUMM \(every branch\) +any +any +test /m);
    assert.match(listed.stdout, /^2 +am-ardshin +20 /m);
    assert.ok(listed.stdout.indexOf('dead') < listed.stdout.indexOf('ardshin-primary'), listed.stdout);

    const routes = await routeIds();
    assert.deepEqual(
      routes.map((r) => r.id),
      ['ru', 'am-ardshin'],
    );
    const stored = routes[1];
    assert.deepEqual(stored.match, {
      creditorAgent: 'ASHBAM22',
      currency: 'USD',
      minAmount: '100',
      maxAmount: '50000',
    });
    assert.equal(stored.updatedBy, 'olga');
    assert.deepEqual(stored.counterparties[0], {
      name: 'ardshin-primary',
      address: '127.0.0.1:50061',
      transport: 'TRANSPORT_TLS',
      serverName: 'receiver.ardshin.am',
      caPem: readFileSync(pki.caFile, 'utf8'),
      deadlineMs: 3000,
    });

    // What `routes list --json` prints is what `routes put --file` takes; output-only fields are ignored.
    const file = join(dir, 'am-ardshin.json');
    writeFileSync(file, JSON.stringify({ ...stored, priority: 30 }));
    const replaced = await run(['routes', 'put', 'am-ardshin', '--file', file, '--json'], olga);
    assert.equal(replaced.code, 0, explain(replaced));
    const answer = JSON.parse(replaced.stdout) as { route: RouteJson; replaced: boolean; version: string };
    assert.equal(answer.replaced, true);
    assert.equal(answer.route.priority, 30);
    assert.equal(answer.route.counterparties.length, 2);

    const removed = await run(['routes', 'remove', 'am-ardshin'], olga);
    assert.equal(removed.code, 0, explain(removed));
    assert.match(removed.stdout, /^removed route am-ardshin \(route table version \d+\)/);
    assert.deepEqual(
      (await routeIds()).map((r) => r.id),
      ['ru'],
    );
    const again = await run(['routes', 'remove', 'am-ardshin'], olga);
    assert.equal(again.code, 4, explain(again));
    assert.match(again.stderr, /NOT_FOUND/);
  });

  it('adds a rule from a --file that leaves the id to the command line', async () => {
    const file = join(dir, 'ge.json');
    writeFileSync(
      file,
      JSON.stringify({
        match: { creditorAgent: 'GE', currency: 'USD' },
        priority: 50,
        counterparties: [{ name: 'tbc', address: '127.0.0.1:50063', transport: 'TRANSPORT_PLAINTEXT' }],
      }),
    );
    const put = await run(['routes', 'put', 'ge-tbc', '--file', file], olga);
    assert.equal(put.code, 0, explain(put));
    assert.match(put.stdout, /^added route ge-tbc/);
    assert.match(put.stdout, /ge-tbc +50 +GE \(country\) +USD +any +olga/);
    const removed = await run(['routes', 'remove', 'ge-tbc', '--json'], olga);
    assert.equal(removed.code, 0, explain(removed));
    assert.equal((JSON.parse(removed.stdout) as { id: string }).id, 'ge-tbc');
  });

  it('refuses bad input: spec and file syntax here (exit 2), and each server violation on its own line', async () => {
    const put = (...args: string[]) => run(['routes', 'put', 'x', ...args], olga);
    const local: [string[], RegExp][] = [
      [['--counterparty', 'name=a,adress=127.0.0.1:1'], /unknown key "adress" \(keys: name, address,/],
      [['--counterparty', 'name=a'], /name and address are required/],
      [['--counterparty', 'name=a,address=127.0.0.1:1,transport=quic'], /transport must be tls or plaintext/],
      [['--counterparty', 'name=a,address=127.0.0.1:1,deadline-ms=3s'], /deadline-ms must be a whole number/],
      [['--counterparty', 'name=a,address=127.0.0.1:1,name=b'], /"name" is given twice/],
      [
        ['--counterparty', 'name=a,address=127.0.0.1:1,ca-file=/no/such.pem'],
        /cannot read ca-file \/no\/such\.pem: ENOENT/,
      ],
      [['--currency', 'KZT'], /give at least one --counterparty, or --file/],
      [
        ['--priority', 'high', '--counterparty', 'name=a,address=127.0.0.1:1'],
        /--priority <n>.*must be a whole number/,
      ],
      [['--file', join(dir, 'ge.json'), '--priority', '1'], /cannot be used with option '--priority/],
    ];
    for (const [args, message] of local) {
      const r = await put(...args);
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, message);
    }
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ id: 'x', prority: 5, counterparties: [] }));
    const badFile = await put('--file', typo);
    assert.equal(badFile.code, 2, explain(badFile));
    assert.match(badFile.stderr, /typo\.json: .*key "prority" is unknown/);
    const otherRule = join(dir, 'other.json');
    writeFileSync(otherRule, JSON.stringify({ id: 'y' }));
    const mismatch = await put('--file', otherRule);
    assert.equal(mismatch.code, 2, explain(mismatch));
    assert.match(mismatch.stderr, /other\.json is rule "y", not "x"/);

    const server = await run(
      [
        'routes',
        'put',
        'BAD',
        '--creditor-agent',
        'XX',
        '--currency',
        'ZZZ',
        '--min-amount',
        '5',
        '--max-amount',
        '1',
        '--counterparty',
        'name=x,address=nowhere,transport=plaintext',
      ],
      olga,
    );
    assert.equal(server.code, 2, explain(server));
    assert.match(server.stderr, /^error: INVALID_ARGUMENT: /);
    for (const field of [
      'id',
      'match.creditor_agent',
      'match.currency',
      'match.max_amount',
      'counterparties[0].address',
    ]) {
      assert.match(
        server.stderr,
        new RegExp(`^  route\\.${field.replace(/[.[\]]/g, '\\$&')}: \\S`, 'm'),
        field,
      );
    }
    assert.match(server.stderr, /^ {2}trace id: [0-9a-f]{32}$/m);
    assert.deepEqual(
      (await routeIds()).map((r) => r.id),
      ['ru'],
    );
  });

  it('needs the operations role: a compliance token is refused, with what to fix', async () => {
    for (const args of [['routes'], ['failed'], ['replay', failed.uetr, '--comment', 'x']]) {
      const refused = await run(args, alice);
      assert.equal(refused.code, 6, explain(refused));
      assert.match(
        refused.stderr,
        /PERMISSION_DENIED: this call needs the operations role, which alice does not have/,
      );
      assert.match(refused.stderr, /CARAVAN_TOKEN must be the token of an officer with the operations role/);
    }
    const noToken = await run(['routes'], { CARAVAN_DEV_INSECURE: 'true', CARAVAN_ADDR: gw.address });
    assert.equal(noToken.code, 78, explain(noToken));
  });

  it('lists the failed and the stuck instruction, one line each, and as JSON', async () => {
    const table = await run(['failed', '--stuck-after', '10ms'], olga);
    assert.equal(table.code, 0, explain(table));
    const lines = table.stdout.split('\n');
    assert.match(
      lines[0],
      /^UETR +PROBLEM +STATE +PARTICIPANT → CREDITOR +SINCE +AGE +ATTEMPTS +COUNTERPARTY +TRACE ID +REASON$/,
    );
    const failedLine = lines.find((l) => l.startsWith(failed.uetr)) ?? '';
    assert.match(
      failedLine,
      new RegExp(
        `^\\S+ +FAILED +FAILED +HSBKKZKX → RZBMRUMM +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +\\d+s +2 +dead +${failed.traceId} +AB06 no counterparty`,
      ),
      table.stdout,
    );
    const stuckLine = lines.find((l) => l.startsWith(stuck.uetr)) ?? '';
    assert.match(
      stuckLine,
      /^\S+ +STUCK +ACCEPTED +HSBKKZKX → RZBMRUMM +\S+ +\S+ +0 +- +[0-9a-f]{32}/,
      table.stdout,
    );
    assert.match(
      table.stdout,
      /^2 instructions: 1 failed, 1 stuck \(stuck: accepted and not delivered for over 10ms\)$/m,
    );
    assert.match(table.stdout, /caravan replay <uetr> --comment/);

    const json = await run(['failed', '--stuck-after', '10ms', '--json'], olga);
    assert.equal(json.code, 0, explain(json));
    const listed = JSON.parse(json.stdout) as { instructions: SummaryJson[]; truncated: boolean };
    assert.equal(listed.truncated, false);
    const byUetr = new Map(listed.instructions.map((i) => [i.uetr, i]));
    assert.equal(byUetr.size, 2);
    const f = byUetr.get(failed.uetr);
    assert.equal(f?.problem, 'INSTRUCTION_PROBLEM_FAILED');
    assert.equal(f?.state, 'INSTRUCTION_STATE_FAILED');
    assert.equal(f?.reason?.code, 'AB06');
    assert.equal(f?.attempts, 2);
    assert.equal(f?.counterparty, 'dead');
    assert.equal(f?.traceId, failed.traceId);
    assert.equal(f?.creditorAgent, 'RZBMRUMM');
    const s = byUetr.get(stuck.uetr);
    assert.equal(s?.problem, 'INSTRUCTION_PROBLEM_STUCK');
    assert.equal(s?.state, 'INSTRUCTION_STATE_ACCEPTED');
    assert.equal(s?.participant, 'HSBKKZKX');

    const onlyFailed = await run(['failed', '--only', 'failed', '--json'], olga);
    assert.deepEqual(
      (JSON.parse(onlyFailed.stdout) as { instructions: SummaryJson[] }).instructions.map((i) => i.uetr),
      [failed.uetr],
    );
    const notYet = await run(['failed', '--only', 'stuck', '--stuck-after', '1h'], olga);
    assert.equal(notYet.code, 0, explain(notYet));
    assert.match(
      notYet.stdout,
      /^nothing to do: no stuck instructions \(stuck: accepted and not delivered for over 1h\)$/m,
    );
    const other = await run(['failed', '--participant', 'kcjbkzkx', '--held'], olga);
    assert.equal(other.code, 0, explain(other));
    assert.match(other.stdout, /^nothing to do: no failed, stuck or held instructions of KCJBKZKX/);
    const empty = await run(['failed', '--participant', 'KCJBKZKX', '--json'], olga);
    assert.deepEqual(JSON.parse(empty.stdout), { instructions: [], truncated: false });

    const badDuration = await run(['failed', '--stuck-after', '5 minutes'], olga);
    assert.equal(badDuration.code, 2, explain(badDuration));
    assert.match(
      badDuration.stderr,
      /--stuck-after <duration>.*must be a duration above zero such as 90s, 5m/,
    );
    const both = await run(['failed', '--only', 'failed', '--held'], olga);
    assert.equal(both.code, 2, explain(both));
    const noLimit = await run(['failed', '--limit', '0'], olga);
    assert.equal(noLimit.code, 2, explain(noLimit));
  });

  it('replays the failed instruction after `routes put` to a live receiver, and it is DELIVERED', async () => {
    receiver = await startTestReceiver(prefix, 'primary');
    const put = await run(
      [
        'routes',
        'put',
        'ru',
        '--creditor-agent',
        'RZBMRUMM',
        '--priority',
        '10',
        '--counterparty',
        `name=primary,address=${receiver.address},transport=plaintext`,
      ],
      olga,
    );
    assert.equal(put.code, 0, explain(put));
    assert.match(put.stdout, /^replaced route ru/);

    const noComment = await run(['replay', failed.uetr], olga);
    assert.equal(noComment.code, 2, explain(noComment));
    assert.match(noComment.stderr, /required option '--comment <text>'/);

    const replayed = await run(['replay', failed.uetr, '--comment', 'INC-4711 counterparty moved'], olga);
    assert.equal(replayed.code, 0, explain(replayed));
    assert.match(replayed.stdout, /^uetr +\S+$/m);
    assert.match(replayed.stdout, /^state +ACCEPTED +queued for delivery again$/m);
    assert.match(replayed.stdout, /^reason +delivery replayed by Caravan operations$/m);
    await waitForState(client, failed.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);
    const received = await createReceiverLog(redis, prefix, 'primary').received();
    assert.deepEqual(
      received.map((r) => r.uetr),
      [failed.uetr],
    );

    // UUIDs are case-insensitive on input: the upper-case form names the same instruction.
    const twice = await run(['replay', failed.uetr.toUpperCase(), '--comment', 'again'], olga);
    assert.equal(twice.code, 7, explain(twice));
    assert.match(
      twice.stderr,
      new RegExp(
        `^error: FAILED_PRECONDITION: only FAILED instructions are replayed; ${failed.uetr} is DELIVERED$`,
        'm',
      ),
    );
    const notFailed = await run(['replay', stuck.uetr, '--comment', 'x', '--json'], olga);
    assert.equal(notFailed.code, 7, explain(notFailed));
    assert.equal((JSON.parse(notFailed.stderr) as { code: string }).code, 'FAILED_PRECONDITION');
    const unknown = await run(['replay', randomUUID(), '--comment', 'x'], olga);
    assert.equal(unknown.code, 4, explain(unknown));
  });
});
