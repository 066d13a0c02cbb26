import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { callUnary } from '../../src/cli/grpc-call';
import { HoldDecision, type ComplianceClient } from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { startCaravan, type CliResult, type Env } from '../support/cli';
import { asOfficer, complianceClient, entry, OFFICERS } from '../support/compliance';
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
const shown = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const soon = () => new Date(Date.now() + 30_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An officer with both roles: an operator who is also a compliance officer sees the hits. */
const NINA = { id: 'nina', roles: ['compliance', 'operations'], token: 'nina-token-0123456789abcdef0' };
const ROLE_TOKENS = JSON.stringify([...OFFICERS, NINA]);
const HALYK = asParticipant('HSBKKZKX');
const KASPI = asParticipant('CASPKZKA');

interface HopJson {
  kind: string;
  startTime: string;
  /** ts-proto's JSON of a Duration: the non-zero fields of {seconds, nanos}. */
  duration?: { seconds?: string; nanos?: number };
  state?: string;
  sequence?: string;
  outcome?: string;
  reason?: { code?: string; description?: string };
  traceId?: string;
  detail?: string;
  officers?: string[];
  screening?: {
    decision?: string;
    listVersions?: { list: string; version: string }[];
    hitCount?: number;
    hits?: { list: string; score: number; field: string; effect: string }[];
  };
  deliveryAttempt?: { attempt: number; counterparty?: string };
}
interface ExplanationJson {
  uetr: string;
  participant: string;
  creditorAgent: string;
  amount: { currency: string; value: string };
  state: string;
  reason?: { code?: string; description?: string };
  traceId: string;
  hops: HopJson[];
  deliveryAttempts?: number;
  screeningHitsWithheld?: boolean;
}
interface ListingJson {
  instructions: { uetr: string; state: string; reason?: { code?: string } }[];
  truncated: boolean;
  partial: boolean;
}

/** A span as the timeline prints it (12 ms, 1.4 s, 1m05s): how long depends on the machine's load. */
const SPAN = String.raw`(?:\d+ ms|\d+\.\d s|\d+m\d\ds)`;
const line = (pattern: string) => new RegExp(pattern.replace(/SPAN/g, SPAN), 'm');

const kinds = (e: ExplanationJson) => e.hops.map((h) => h.kind.replace('HOP_KIND_', ''));

describe('caravan explain / find / list (the CLI process)', function () {
  this.timeout(120_000);
  const prefix = uniquePrefix('cli-investigate');
  let redis: Redis;
  let gw: TestGateway;
  let client: SettlementGatewayClient;
  let compliance: ComplianceClient;
  let bank: TestReceiver;
  let olga: Env;
  let nina: Env;
  let alice: Env;
  const traceId = randomBytes(16).toString('hex');
  const u = {} as Record<'delivered' | 'rejected' | 'held' | 'failed' | 'kaspi' | 'cnor1' | 'cnor2', string>;
  let cnorMiddle: number;

  const explainJson = async (uetr: string, env: Env): Promise<ExplanationJson> => {
    const r = await run(['explain', uetr, '--json'], env);
    assert.equal(r.code, 0, shown(r));
    return JSON.parse(r.stdout) as ExplanationJson;
  };
  const listJson = async (args: string[]): Promise<ListingJson> => {
    const r = await run([...args, '--json'], olga);
    assert.equal(r.code, 0, shown(r));
    return JSON.parse(r.stdout) as ListingJson;
  };
  const uetrsOf = (l: ListingJson) => l.instructions.map((i) => i.uetr);

  async function submitted(
    ins: SettlementInstruction,
    as: Metadata,
    state: InstructionState,
  ): Promise<string> {
    const answer = await submit(client, ins, as);
    if (answer.state !== state) await waitForState(client, ins.uetr, as, state);
    return ins.uetr;
  }

  before(async () => {
    redis = testRedis();
    bank = await startTestReceiver(prefix, 'bank');
    gw = await startTestGateway(prefix, {
      routes: [
        route(
          'kzt',
          [
            counterparty('dead-primary', `127.0.0.1:${await closedPort()}`),
            counterparty('bank', bank.address),
          ],
          { currency: 'KZT' },
        ),
        route('usd', [counterparty('dead-usd', `127.0.0.1:${await closedPort()}`)], { currency: 'USD' }),
      ],
      env: {
        CARAVAN_ROLE_TOKENS: ROLE_TOKENS,
        CARAVAN_DISPATCHER: 'on',
        CARAVAN_DELIVERY_ATTEMPTS: '2',
        CARAVAN_RETRY_BASE_MS: '10',
        CARAVAN_RETRY_MAX_MS: '20',
        CARAVAN_BREAKER_FAILURES: '1000',
        CARAVAN_LIST_POLL_MS: '200',
      },
    });
    client = devClient(gw.address);
    compliance = complianceClient(gw.address);
    const base = { CARAVAN_DEV_INSECURE: 'true', CARAVAN_ADDR: gw.address };
    olga = { ...base, CARAVAN_TOKEN: OFFICERS[2].token };
    alice = { ...base, CARAVAN_TOKEN: OFFICERS[0].token };
    nina = { ...base, CARAVAN_TOKEN: NINA.token };

    const upsert = (e: ReturnType<typeof entry>) =>
      callUnary(
        compliance.upsertEntry.bind(compliance),
        { list: 'internal-counterparties', entry: e, note: 'test' },
        asOfficer('alice'),
        soon(),
      );
    await upsert(entry({ id: 'bic-ksnv', kind: EntryKind.ENTRY_KIND_BIC, bic: 'KSNVKZKA', ref: 'case-2' }));
    await upsert(
      entry({ id: 'n1', kind: EntryKind.ENTRY_KIND_NAME, name: 'Zhetysu Orbita Holding LLP', ref: 'case-1' }),
    );
    await gw.gateway.screening!.refresh();

    // The bank's own trace: its traceparent is continued, so Caravan files the instruction under it.
    const traced = asParticipant('HSBKKZKX');
    traced.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    u.delivered = await submitted(validInstruction(), traced, InstructionState.INSTRUCTION_STATE_DELIVERED);

    const listedAgent = validInstruction({
      creditorAgent: { bic: 'KSNVKZKA' },
      instructedAgent: { bic: 'KSNVKZKA' },
    });
    u.rejected = await submitted(listedAgent, HALYK, InstructionState.INSTRUCTION_STATE_REJECTED);

    const lookalike = validInstruction();
    lookalike.creditor!.name = 'ТОО Жетысу Орбита Холдинг';
    u.held = await submitted(lookalike, HALYK, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
    await callUnary(
      compliance.decideHold.bind(compliance),
      {
        uetr: u.held,
        evidence: '',
        decision: HoldDecision.HOLD_DECISION_RELEASE,
        comment: 'looks different',
        reasonCode: '',
      },
      asOfficer('alice'),
      soon(),
    );

    u.failed = await submitted(
      validInstruction({ amount: { currency: 'USD', value: '1200.00' } }),
      HALYK,
      InstructionState.INSTRUCTION_STATE_FAILED,
    );
    u.kaspi = await submitted(
      validInstruction({ instructingAgent: { bic: 'CASPKZKA' }, debtorAgent: { bic: 'CASPKZKA' } }),
      KASPI,
      InstructionState.INSTRUCTION_STATE_DELIVERED,
    );

    // No route takes RUB: REJECTED with CNOR at intake, and never changed again.
    const rub = () => validInstruction({ amount: { currency: 'RUB', value: '5000.00' } });
    u.cnor1 = await submitted(rub(), HALYK, InstructionState.INSTRUCTION_STATE_REJECTED);
    await sleep(30);
    cnorMiddle = Date.now();
    await sleep(30);
    u.cnor2 = await submitted(rub(), HALYK, InstructionState.INSTRUCTION_STATE_REJECTED);
  });

  after(async () => {
    client?.close();
    compliance?.close();
    await gw?.gateway.stop();
    await bank?.running.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('explains a delivered instruction: a readable timeline, hop by hop, with the trace id to open', async () => {
    const r = await run(['explain', u.delivered], olga);
    assert.equal(r.code, 0, shown(r));
    assert.match(r.stdout, new RegExp(`^uetr +${u.delivered}$`, 'm'));
    assert.match(r.stdout, /^state +DELIVERED/m);
    assert.match(r.stdout, /^route +HSBKKZKX → RZBMRUMM +125000\.50 KZT$/m);
    assert.match(r.stdout, new RegExp(`^trace id +${traceId} +open it in Jaeger or Tempo`, 'm'));
    const timeline = r.stdout
      .slice(r.stdout.indexOf('\n\n') + 2)
      .trimEnd()
      .split('\n');
    const expected: RegExp[] = [
      /^\+0 ms +received +RECEIVED +submitted by HSBKKZKX$/,
      /^\+0 ms +screened +CLEAR +at intake; lists [^;]*internal-counterparties v\d+[^;]*; no hits$/,
      line(String.raw`^\+0 ms +accepted +ACCEPTED +for SPAN$`),
      line(String.raw`^\+SPAN +attempt 1 +UNAVAILABLE +SPAN +→ dead-primary +\S`),
      line(String.raw`^\+SPAN +attempt 2 +accepted +SPAN +→ bank$`),
      line(String.raw`^\+SPAN +delivered +DELIVERED +delivered to bank \(attempt 2\)$`),
    ];
    assert.equal(timeline.length, expected.length, r.stdout);
    expected.forEach((pattern, i) => assert.match(timeline[i], pattern, r.stdout));
  });

  it('explains it as proto JSON: hops in order with start, duration, counterparty, attempt, outcome and trace id', async () => {
    const e = await explainJson(u.delivered, olga);
    assert.equal(e.traceId, traceId);
    assert.equal(e.state, 'INSTRUCTION_STATE_DELIVERED');
    assert.deepEqual(e.amount, { currency: 'KZT', value: '125000.50' });
    assert.equal(e.deliveryAttempts, 2);
    assert.deepEqual(kinds(e), [
      'RECEIVED',
      'SCREENED',
      'ACCEPTED',
      'DELIVERY_ATTEMPT',
      'DELIVERY_ATTEMPT',
      'DELIVERED',
    ]);
    const starts = e.hops.map((h) => Date.parse(h.startTime));
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => a - b),
    );
    const [first, second] = e.hops.filter((h) => h.kind === 'HOP_KIND_DELIVERY_ATTEMPT');
    assert.deepEqual(first.deliveryAttempt, { attempt: 1, counterparty: 'dead-primary' });
    assert.equal(first.outcome, 'UNAVAILABLE');
    assert.deepEqual(second.deliveryAttempt, { attempt: 2, counterparty: 'bank' });
    assert.equal(second.outcome, 'accepted');
    for (const attempt of [first, second]) {
      assert.ok(attempt.duration !== undefined, 'an attempt has a duration');
      // The dispatcher's spans continue the submission's trace through the outbox.
      assert.equal(attempt.traceId, traceId);
    }
    assert.equal(e.hops[5].reason?.description, 'delivered to bank (attempt 2)');
    assert.equal(e.hops[5].duration, undefined, 'a final state has no duration');
  });

  it('explains a sanctions rejection; the hits only to an officer who also holds the compliance role', async () => {
    const asOperator = await explainJson(u.rejected, olga);
    assert.deepEqual(kinds(asOperator), ['RECEIVED', 'SCREENED', 'REJECTED']);
    const screened = asOperator.hops[1];
    assert.equal(screened.outcome, 'BLOCK');
    assert.equal(screened.screening?.decision, 'SCREENING_DECISION_BLOCK');
    assert.equal(screened.screening?.hitCount, 2, 'the creditor agent and the instructed agent');
    assert.equal(screened.screening?.hits, undefined);
    assert.equal(asOperator.screeningHitsWithheld, true);
    assert.equal(asOperator.hops[2].reason?.code, 'RR04');
    assert.match(
      asOperator.hops[2].reason?.description ?? '',
      /_agent\.bic is listed on internal-counterparties \(ref case-2\) and 1 more/,
    );

    const text = await run(['explain', u.rejected], olga);
    assert.equal(text.code, 0, shown(text));
    assert.match(
      text.stdout,
      /screened +BLOCK +at intake; lists .*; 2 hits \(shown to the compliance role only\)/,
    );
    assert.match(text.stdout, /rejected +REJECTED +RR04 regulatory: \S+_agent\.bic is listed/);
    assert.doesNotMatch(text.stdout, /internal-counterparties@/);

    const asBoth = await explainJson(u.rejected, nina);
    assert.equal(asBoth.screeningHitsWithheld ?? false, false);
    const hits = asBoth.hops[1].screening?.hits ?? [];
    assert.deepEqual(hits.map((h) => h.field).sort(), ['creditor_agent.bic', 'instructed_agent.bic']);
    assert.ok(hits.every((h) => h.list === 'internal-counterparties' && h.score === 1));
    const both = await run(['explain', u.rejected], nina);
    assert.match(both.stdout, /^ +BLOCK +creditor_agent\.bic +~ +KSNVKZKA +score 1\.000$/m);
    assert.match(both.stdout, /internal-counterparties@\d+ entry bic-ksnv +ref case-2/);
  });

  it('explains a held instruction: the review hit, how long it has waited, and who approved its release so far', async () => {
    const e = await explainJson(u.held, nina);
    assert.deepEqual(kinds(e), ['RECEIVED', 'SCREENED', 'HELD']);
    assert.equal(e.hops[1].outcome, 'REVIEW');
    const hit = e.hops[1].screening?.hits?.[0];
    assert.ok(hit && hit.score >= 0.77, JSON.stringify(hit));
    assert.equal(hit.field, 'creditor.name');
    assert.equal(hit.effect, 'SCREENING_DECISION_REVIEW');
    const held = e.hops[2];
    assert.deepEqual(held.officers, ['alice']);
    assert.equal(held.duration, undefined, 'still held: no duration yet');

    const text = await run(['explain', u.held], nina);
    assert.match(
      text.stdout,
      line(
        String.raw`^\+0 ms +held +HELD_FOR_REVIEW +for SPAN so far +held for compliance review +release approved so far by alice$`,
      ),
    );
    assert.match(text.stdout, /REVIEW creditor\.name +~ +Zhetysu Orbita Holding LLP/);
    assert.match(text.stdout, /tokens: /);
    const operator = await run(['explain', u.held], olga);
    assert.doesNotMatch(operator.stdout, /tokens: |Zhetysu/);
  });

  it('explains a failed delivery: every attempt with its outcome, then FAILED with the reason', async () => {
    const e = await explainJson(u.failed, olga);
    assert.deepEqual(kinds(e), [
      'RECEIVED',
      'SCREENED',
      'ACCEPTED',
      'DELIVERY_ATTEMPT',
      'DELIVERY_ATTEMPT',
      'FAILED',
    ]);
    const attempts = e.hops.filter((h) => h.kind === 'HOP_KIND_DELIVERY_ATTEMPT');
    assert.deepEqual(
      attempts.map((a) => [a.deliveryAttempt?.attempt, a.deliveryAttempt?.counterparty, a.outcome]),
      [
        [1, 'dead-usd', 'UNAVAILABLE'],
        [2, 'dead-usd', 'UNAVAILABLE'],
      ],
    );
    assert.equal(e.hops[5].reason?.code, 'AB06');
    assert.equal(e.reason?.code, 'AB06');
    const text = await run(['explain', u.failed], olga);
    assert.match(text.stdout, line(String.raw`^\+SPAN +failed +FAILED +AB06 `));
  });

  it("finds an instruction by the trace id of the bank's call, in any case", async () => {
    const found = await listJson(['find', '--trace-id', traceId.toUpperCase()]);
    assert.deepEqual(uetrsOf(found), [u.delivered]);
    const text = await run(['find', '--trace-id', traceId], olga);
    assert.equal(text.code, 0, shown(text));
    assert.match(text.stdout, new RegExp(`^${u.delivered} +DELIVERED +HSBKKZKX → RZBMRUMM `, 'm'));
    const none = await run(['find', '--trace-id', randomBytes(16).toString('hex')], olga);
    assert.equal(none.code, 4, shown(none));
    assert.match(none.stdout, /no instruction was submitted or changed under trace id/);
  });

  it('lists by state, reason, participant, counterparty, time window and limit, newest change first', async () => {
    const cases: [string[], string[]][] = [
      [['--state', 'failed'], [u.failed]],
      [['--state', 'held'], [u.held]],
      [['--reason', 'RR04'], [u.rejected]],
      [['--reason', 'ab06'], [u.failed]],
      [['--participant', 'caspkzka'], [u.kaspi]],
      [['--counterparty', 'dead-usd'], [u.failed]],
      [
        ['--reason', 'CNOR'],
        [u.cnor2, u.cnor1],
      ],
      [['--reason', 'CNOR', '--since', new Date(cnorMiddle).toISOString()], [u.cnor2]],
      [['--reason', 'CNOR', '--until', new Date(cnorMiddle).toISOString()], [u.cnor1]],
      [['--state', 'delivered', '--participant', 'HSBKKZKX'], [u.delivered]],
      [
        ['--state', 'failed,held', '--state', 'delivered', '--counterparty', 'bank'],
        [u.kaspi, u.delivered],
      ],
    ];
    for (const [args, expected] of cases) {
      const listed = await listJson(['list', ...args]);
      assert.deepEqual(uetrsOf(listed), expected, args.join(' '));
      assert.equal(listed.truncated, false, args.join(' '));
    }
    const recent = await listJson(['list', '--since', '10m']);
    assert.equal(recent.instructions.length, 7);
    assert.equal(recent.partial, false);
    const limited = await listJson(['list', '--reason', 'CNOR', '--limit', '1']);
    assert.deepEqual(uetrsOf(limited), [u.cnor2]);
    assert.equal(limited.truncated, true);

    const text = await run(['list', '--reason', 'CNOR', '--limit', '1'], olga);
    assert.equal(text.code, 0, shown(text));
    const [head, row] = text.stdout.split('\n');
    assert.match(
      head,
      /^UETR +STATE +PARTICIPANT → CREDITOR +CHANGED +AGE +ATTEMPTS +COUNTERPARTY +TRACE ID +REASON$/,
    );
    assert.match(
      row,
      new RegExp(
        `^${u.cnor2} +REJECTED +HSBKKZKX → RZBMRUMM +\\S+Z +\\S+ +0 +- +[0-9a-f]{32} +CNOR no route`,
      ),
    );
    assert.match(text.stdout, /more match: raise --limit/);
    const empty = await run(['list', '--state', 'received'], olga);
    assert.equal(empty.code, 0, shown(empty));
    assert.match(empty.stdout, /^no instruction matches$/m);
  });

  it('refuses bad input, unknown UETRs and officers without the operations role', async () => {
    const malformed = await run(['explain', 'not-a-uetr'], olga);
    assert.equal(malformed.code, 2, shown(malformed));
    assert.match(malformed.stderr, /INVALID_ARGUMENT: uetr: must be a lower-case UUID v4/);
    const unknown = await run(['explain', randomUUID()], olga);
    assert.equal(unknown.code, 4, shown(unknown));
    assert.match(unknown.stderr, /NOT_FOUND: no instruction with UETR/);
    const complianceOnly = await run(['explain', u.delivered], alice);
    assert.equal(complianceOnly.code, 6, shown(complianceOnly));
    assert.match(complianceOnly.stderr, /PERMISSION_DENIED: this call needs the operations role/);
    const stranger = await run(['list'], { ...olga, CARAVAN_TOKEN: 'not-a-token-0000000000000' });
    assert.equal(stranger.code, 6, shown(stranger));
    assert.match(stranger.stderr, /UNAUTHENTICATED/);
    const local: string[][] = [
      ['find', '--trace-id', 'xyz'],
      ['find'],
      ['list', '--state', 'lost'],
      ['list', '--reason', 'R4'],
      ['list', '--since', 'yesterday'],
      ['list', '--limit', '0'],
    ];
    for (const args of local) {
      const r = await run(args, olga);
      assert.equal(r.code, 2, `${args.join(' ')}\n${shown(r)}`);
    }
  });
});
