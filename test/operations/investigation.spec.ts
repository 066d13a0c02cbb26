import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { callUnary } from '../../src/cli/grpc-call';
import { ComplianceClient, HoldDecision } from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import { ScreeningDecision } from '../../src/gen/caravan/compliance/v1/screening';
import {
  ExplainInstructionRequest,
  HopKind,
  OperationsClient,
  type ExplainInstructionResponse,
  type Hop,
  type InstructionFilter,
  type ListInstructionsRequest,
  type ListInstructionsResponse,
} from '../../src/gen/caravan/operations/v1/operations';
import { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { routeToProto } from '../../src/grpc/operations-mapping';
import { decodeStatusDetails } from '../../src/grpc/status';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { listProblems } from '../../src/operations/instruction-problems';
import { createTestPki, type CertificateFiles, type TestPki } from '../support/certificates';
import { asOfficer, complianceClient, entry, OFFICERS } from '../support/compliance';
import {
  counterparty,
  operationsClient,
  ops,
  route,
  startTestReceiver,
  waitForState,
  type TestReceiver,
} from '../support/delivery';
import {
  asParticipant,
  devClient,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { moveDirectly, recordDirectly } from '../support/records';
import { rawUnary } from '../support/raw-grpc';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const NINA = { id: 'nina', roles: ['compliance', 'operations'], token: 'nina-token-0123456789abcdef0' };
const ROLE_TOKENS = JSON.stringify([...OFFICERS, NINA]);
const HALYK = asParticipant('HSBKKZKX');
const soon = () => new Date(Date.now() + 30_000);
const newTraceId = () => randomBytes(16).toString('hex');
const EVIDENCE = JSON.stringify({ screened: true, versions: [{ list: 'ofac-sdn', version: 3 }], hits: [] });

function bearer(token: string, traceId?: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  if (traceId !== undefined)
    metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
  return metadata;
}
const OLGA = () => bearer(OFFICERS[2].token);
const NINA_TOKEN = () => bearer(NINA.token);

function explain(
  client: OperationsClient,
  uetr: string,
  metadata: Metadata,
): Promise<ExplainInstructionResponse> {
  return callUnary(client.explainInstruction.bind(client), { uetr }, metadata, soon());
}

const BY_FILTER: Omit<ListInstructionsRequest, 'filter'> = {
  problems: [],
  stuckAfterMs: '0',
  participant: '',
  limit: 0,
};
const NO_FILTER: InstructionFilter = {
  states: [],
  reasonCodes: [],
  counterparty: '',
  since: undefined,
  until: undefined,
  traceId: '',
};

function listBy(
  client: OperationsClient,
  filter: Partial<InstructionFilter>,
  metadata: Metadata = OLGA(),
): Promise<ListInstructionsResponse> {
  return ops(client, 'listInstructions', { ...BY_FILTER, filter: { ...NO_FILTER, ...filter } }, metadata);
}

const kinds = (e: ExplainInstructionResponse) => e.hops.map((h) => HopKind[h.kind].replace('HOP_KIND_', ''));
const ms = (t: { seconds: string; nanos: number } | undefined) =>
  t === undefined ? null : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
const attemptOf = (h: Hop) => (h.details?.$case === 'deliveryAttempt' ? h.details.value : null);
const screeningOf = (h: Hop) => (h.details?.$case === 'screening' ? h.details.value : null);

describe('Operations: explain, find by trace id, list by filter', function () {
  this.timeout(120_000);
  let redis: Redis;

  before(() => {
    redis = testRedis();
  });
  after(() => redis.disconnect());

  describe('stories through a gateway, its dispatcher and receivers', function () {
    const prefix = uniquePrefix('ops-stories');
    let gw: TestGateway;
    let bank: TestReceiver;
    let refuser: TestReceiver;
    let client: SettlementGatewayClient;
    let operations: OperationsClient;
    let compliance: ComplianceClient;

    before(async () => {
      bank = await startTestReceiver(prefix, 'bank');
      refuser = await startTestReceiver(prefix, 'refuser', { rejectShare: 1 });
      gw = await startTestGateway(prefix, {
        routes: [
          route('kzt', [counterparty('bank', bank.address)], { currency: 'KZT' }),
          route('usd', [counterparty('refuser', refuser.address)], { currency: 'USD' }),
        ],
        env: {
          CARAVAN_ROLE_TOKENS: ROLE_TOKENS,
          CARAVAN_DISPATCHER: 'on',
          CARAVAN_RETRY_BASE_MS: '10',
          CARAVAN_RETRY_MAX_MS: '20',
          CARAVAN_LIST_POLL_MS: '200',
        },
      });
      client = devClient(gw.address);
      operations = operationsClient(gw.address);
      compliance = complianceClient(gw.address);
      await callUnary(
        compliance.upsertEntry.bind(compliance),
        {
          list: 'internal-counterparties',
          entry: entry({
            id: 'n1',
            kind: EntryKind.ENTRY_KIND_NAME,
            name: 'Zhetysu Orbita Holding LLP',
            ref: 'c1',
          }),
          note: 'test',
        },
        asOfficer('alice'),
        soon(),
      );
      await gw.gateway.screening!.refresh();
    });

    after(async () => {
      client?.close();
      operations?.close();
      compliance?.close();
      await gw?.gateway.stop();
      await bank?.running.stop();
      await refuser?.running.stop();
      await deleteUnder(redis, prefix);
    });

    it('tells a refused delivery, its replay under the operator’s trace, and the delivery that followed', async () => {
      const ins = validInstruction({ amount: { currency: 'USD', value: '900.00' } });
      await submit(client, ins, HALYK);
      await waitForState(client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_FAILED);
      await ops(
        operations,
        'putRoute',
        { route: routeToProto(route('usd', [counterparty('bank', bank.address)], { currency: 'USD' })) },
        OLGA(),
      );
      const replayTrace = newTraceId();
      await ops(
        operations,
        'replayInstruction',
        { uetr: ins.uetr, comment: 'INC-7: counterparty fixed' },
        bearer(OFFICERS[2].token, replayTrace),
      );
      await waitForState(client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);

      const e = await explain(operations, ins.uetr, OLGA());
      assert.deepEqual(kinds(e), [
        'RECEIVED',
        'SCREENED',
        'ACCEPTED',
        'DELIVERY_ATTEMPT',
        'FAILED',
        'SCREENED',
        'REPLAYED',
        'DELIVERY_ATTEMPT',
        'DELIVERED',
      ]);
      const [, atIntake, , refused, failed, beforeReplay, replayed, delivered] = e.hops;
      // Only the latest screening's evidence is kept; the intake one still shows its decision.
      assert.equal(screeningOf(atIntake)?.decision, ScreeningDecision.SCREENING_DECISION_CLEAR);
      assert.deepEqual(screeningOf(atIntake)?.listVersions, []);
      assert.match(atIntake.detail, /at intake; its evidence was replaced by a later screening/);
      assert.deepEqual(attemptOf(refused), { attempt: 1, counterparty: 'refuser' });
      assert.equal(refused.outcome, 'rejected');
      assert.equal(refused.reason?.code, 'AC04');
      assert.equal(failed.reason?.code, 'AC04');
      assert.ok(ms(failed.duration)! >= 0, 'it stayed FAILED until the replay');
      assert.match(beforeReplay.detail, /again before the replay/);
      assert.equal(screeningOf(beforeReplay)?.decision, ScreeningDecision.SCREENING_DECISION_CLEAR);
      assert.deepEqual(
        screeningOf(beforeReplay)?.listVersions.map((v) => v.list),
        ['internal-counterparties'],
      );
      assert.equal(replayed.traceId, replayTrace);
      assert.equal(beforeReplay.traceId, replayTrace);
      assert.deepEqual(attemptOf(delivered), { attempt: 2, counterparty: 'bank' });
      assert.equal(delivered.traceId, replayTrace, "the replayed delivery continues the operator's trace");

      assert.deepEqual(
        (await listBy(operations, { traceId: replayTrace })).instructions.map((i) => i.uetr),
        [ins.uetr],
      );
      assert.deepEqual(
        (await listBy(operations, { traceId: e.traceId })).instructions.map((i) => i.uetr),
        [ins.uetr],
      );
    });

    it('tells a hold released by two officers, with who released it and the hits for a compliance officer', async () => {
      const ins = validInstruction();
      ins.creditor!.name = 'ТОО Жетысу Орбита Холдинг';
      await submit(client, ins, HALYK);
      const decide = (metadata: Metadata) =>
        callUnary(
          compliance.decideHold.bind(compliance),
          {
            uetr: ins.uetr,
            evidence: '',
            decision: HoldDecision.HOLD_DECISION_RELEASE,
            comment: 'another firm',
            reasonCode: '',
          },
          metadata,
          soon(),
        );
      await decide(asOfficer('alice'));
      const releaseTrace = newTraceId();
      await decide(bearer(OFFICERS[1].token, releaseTrace));
      await waitForState(client, ins.uetr, HALYK, InstructionState.INSTRUCTION_STATE_DELIVERED);

      const e = await explain(operations, ins.uetr, NINA_TOKEN());
      assert.deepEqual(kinds(e), [
        'RECEIVED',
        'SCREENED',
        'HELD',
        'RELEASED',
        'DELIVERY_ATTEMPT',
        'DELIVERED',
      ]);
      const [, screened, held, released] = e.hops;
      assert.equal(screeningOf(screened)?.decision, ScreeningDecision.SCREENING_DECISION_REVIEW);
      assert.equal(screeningOf(screened)?.hits[0]?.entryId, 'n1');
      assert.equal(e.screeningHitsWithheld, false);
      assert.ok(held.duration !== undefined, 'how long it was held');
      assert.deepEqual(held.officers, []);
      assert.deepEqual(released.officers, ['alice', 'bob']);
      assert.equal(released.detail, 'released by alice, bob');
      assert.equal(released.traceId, releaseTrace);
      assert.equal(released.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);

      const operator = await explain(operations, ins.uetr, OLGA());
      assert.deepEqual(screeningOf(operator.hops[1])?.hits, []);
      assert.equal(screeningOf(operator.hops[1])?.hitCount, 1);
      assert.equal(operator.screeningHitsWithheld, true);

      assert.deepEqual(
        (await listBy(operations, { traceId: releaseTrace })).instructions.map((i) => i.uetr),
        [ins.uetr],
      );
    });

    it('bounds the time window as documented: since inclusive, until exclusive; problems and filter exclusive', async () => {
      const ins = validInstruction({ amount: { currency: 'RUB', value: '10.00' } });
      await submit(client, ins, HALYK);
      const changed = (await explain(operations, ins.uetr, OLGA())).updateTime;
      const uetrs = async (filter: Partial<InstructionFilter>) =>
        (await listBy(operations, { reasonCodes: ['CNOR'], ...filter })).instructions.map((i) => i.uetr);
      assert.deepEqual(await uetrs({ since: changed }), [ins.uetr]);
      assert.deepEqual(await uetrs({ until: changed }), []);
      const listed = await listBy(operations, {});
      assert.ok(listed.instructions.some((i) => i.uetr === ins.uetr));
      assert.equal(listed.instructions[0].problem, 0, 'listed by filter, not by problem');

      const both = await grpcError(
        ops(operations, 'listInstructions', { ...BY_FILTER, problems: [1], filter: NO_FILTER }, OLGA()),
      );
      assert.equal(both.code, status.INVALID_ARGUMENT);
      assert.deepEqual(
        decodeStatusDetails(both.metadata).badRequest?.fieldViolations.map((v) => v.field),
        ['filter'],
      );
    });

    it('answers hostile bytes and bad fields with INVALID_ARGUMENT and every violation', async () => {
      for (const method of ['ExplainInstruction', 'ListInstructions']) {
        const err = (await rawUnary(
          gw.address,
          `/caravan.operations.v1.Operations/${method}`,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
          OLGA(),
        ).catch((e: unknown) => e)) as ServiceError;
        assert.equal(err.code, status.INVALID_ARGUMENT, method);
      }
      for (const uetr of ['', 'x'.repeat(100_000), `${randomUUID()}\u0000`, randomUUID().toUpperCase()]) {
        const body = Buffer.from(ExplainInstructionRequest.encode({ uetr }).finish());
        const err = (await rawUnary(
          gw.address,
          '/caravan.operations.v1.Operations/ExplainInstruction',
          body,
          OLGA(),
        ).catch((e: unknown) => e)) as ServiceError;
        assert.equal(err.code, status.INVALID_ARGUMENT, uetr.slice(0, 40));
        assert.ok(err.details.length < 200, 'the bad value is not echoed back');
      }
      const unknown = await grpcError(explain(operations, randomUUID(), OLGA()));
      assert.equal(unknown.code, status.NOT_FOUND);

      const bad = await grpcError(
        listBy(operations, {
          states: [99 as InstructionState, InstructionState.INSTRUCTION_STATE_UNSPECIFIED],
          reasonCodes: ['rr04', 'AB05'],
          counterparty: 'bank; DROP',
          traceId: '0'.repeat(32),
          since: { seconds: '2000000000', nanos: 0 },
          until: { seconds: '1000000000', nanos: 0 },
        }),
      );
      assert.equal(bad.code, status.INVALID_ARGUMENT);
      assert.deepEqual(
        decodeStatusDetails(bad.metadata).badRequest?.fieldViolations.map((v) => v.field),
        [
          'filter.states[0]',
          'filter.states[1]',
          'filter.reason_codes[0]',
          'filter.counterparty',
          'filter.trace_id',
          'filter.until',
        ],
      );
      const outOfRange = await grpcError(
        listBy(operations, { since: { seconds: '-5', nanos: 0 }, until: { seconds: '1', nanos: 2e9 } }),
      );
      assert.deepEqual(
        decodeStatusDetails(outOfRange.metadata).badRequest?.fieldViolations.map((v) => v.field),
        ['filter.since', 'filter.until.nanos'],
      );
    });

    it('needs the operations role: UNAUTHENTICATED without a token, PERMISSION_DENIED for compliance only', async () => {
      const uetr = randomUUID();
      const calls = [
        (m: Metadata) => explain(operations, uetr, m),
        (m: Metadata) => listBy(operations, {}, m),
      ];
      for (const call of calls) {
        assert.equal((await grpcError(call(new Metadata()))).code, status.UNAUTHENTICATED);
        assert.equal((await grpcError(call(asOfficer('alice')))).code, status.PERMISSION_DENIED);
      }
    });
  });

  describe('what the records show of dispatchers and re-screening', function () {
    const prefix = uniquePrefix('ops-records');
    let gw: TestGateway;
    let store: InstructionStore;
    let operations: OperationsClient;

    before(async () => {
      gw = await startTestGateway(prefix, { env: { CARAVAN_ROLE_TOKENS: ROLE_TOKENS } });
      store = createInstructionStore(redis, createKeySpace(prefix, gw.config.partitions));
      operations = operationsClient(gw.address);
    });
    after(async () => {
      operations?.close();
      await gw?.gateway.stop();
      await deleteUnder(redis, prefix);
    });

    async function accepted(at: number): Promise<string> {
      const instruction = validInstruction();
      await recordDirectly(store, instruction, { nowMs: at, traceId: newTraceId(), screening: EVIDENCE });
      return instruction.uetr;
    }

    it('shows a dispatcher takeover: an attempt started and never recorded, then the next dispatcher’s attempt', async () => {
      const t = Date.now() - 10_000;
      const uetr = await accepted(t);
      await store.startAttempt(uetr, 'primary', t + 10);
      // The first dispatcher died in the call; another claimed the outbox entry.
      await store.startAttempt(uetr, 'backup', t + 50);
      await store.recordAttempt(uetr, {
        attempt: 2,
        counterparty: 'backup',
        outcome: 'accepted',
        reasonCode: '',
        detail: '',
        startedAtMs: t + 50,
        durationMs: 7,
        traceId: newTraceId(),
      });
      await store.transition({
        uetr,
        from: ['ACCEPTED'],
        to: 'DELIVERED',
        reason: { code: '', description: 'delivered to backup (attempt 2)' },
        traceId: newTraceId(),
        traceparent: '',
        nowMs: t + 57,
      });
      const e = await explain(operations, uetr, OLGA());
      assert.deepEqual(kinds(e), [
        'RECEIVED',
        'SCREENED',
        'ACCEPTED',
        'DISPATCHER_TAKEOVER',
        'DELIVERY_ATTEMPT',
        'DELIVERED',
      ]);
      const [, screened, acceptedHop, takeover, attempt] = e.hops;
      assert.deepEqual(
        screeningOf(screened)?.listVersions.map((v) => [v.list, v.version]),
        [['ofac-sdn', '3']],
      );
      assert.equal(ms(acceptedHop.duration), 57);
      assert.deepEqual(attemptOf(takeover), { attempt: 1, counterparty: '' });
      assert.equal(takeover.outcome, 'unfinished');
      assert.equal(ms(takeover.startTime), t + 50);
      assert.match(takeover.detail, /attempt 1 was started but its outcome never recorded.*attempt 2/);
      assert.equal(ms(attempt.duration), 7);
    });

    it('shows the attempt under way, and a re-screening hold after acceptance with its evidence', async () => {
      const t = Date.now() - 10_000;
      const delivering = await accepted(t);
      await store.startAttempt(delivering, 'primary', t + 10);
      const e = await explain(operations, delivering, OLGA());
      const last = e.hops.at(-1)!;
      assert.equal(HopKind[last.kind], 'HOP_KIND_DELIVERY_ATTEMPT');
      assert.equal(last.outcome, 'in-progress');
      assert.deepEqual(attemptOf(last), { attempt: 1, counterparty: 'primary' });
      assert.equal(ms(last.startTime), t + 10);
      assert.equal(last.duration, undefined);

      const stopped = await accepted(t);
      const review = { screened: true, versions: [{ list: 'ofac-sdn', version: 4 }], hits: [] };
      await store.transition({
        uetr: stopped,
        from: ['ACCEPTED'],
        to: 'HELD_FOR_REVIEW',
        reason: { code: '', description: 're-screened: held for compliance review' },
        traceId: newTraceId(),
        traceparent: '',
        nowMs: t + 500,
        screening: JSON.stringify(review),
      });
      const held = await explain(operations, stopped, OLGA());
      assert.deepEqual(kinds(held), ['RECEIVED', 'SCREENED', 'ACCEPTED', 'SCREENED', 'HELD']);
      assert.deepEqual(screeningOf(held.hops[1])?.listVersions, [], 'the intake evidence was replaced');
      assert.match(held.hops[3].detail, /again after a list change/);
      assert.deepEqual(
        screeningOf(held.hops[3])?.listVersions.map((v) => v.version),
        ['4'],
      );
    });
  });

  describe('problems past the per-partition bounds', function () {
    const prefix = uniquePrefix('ops-problems');
    after(() => deleteUnder(redis, prefix));

    it('finds a stuck instruction behind a thousand newer holds in the same open set', async () => {
      const store = createInstructionStore(redis, createKeySpace(`${prefix}:a`, 1));
      const now = Date.now();
      const stuck = validInstruction();
      await recordDirectly(store, stuck, { state: 'ACCEPTED', nowMs: now - 3_600_000 });
      for (let i = 0; i < 1_000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, () =>
            recordDirectly(store, validInstruction(), {
              state: 'HELD_FOR_REVIEW',
              reason: { code: '', description: 'held' },
              nowMs: now - 1_800_000,
            }),
          ),
        );
      }
      const found = await listProblems(
        store,
        1,
        { problems: ['stuck'], stuckAfterMs: 300_000, participant: null, limit: 100 },
        now,
      );
      assert.deepEqual(
        found.instructions.map((i) => i.uetr),
        [stuck.uetr],
      );
      assert.equal(found.truncated, false);
    });

    it('says truncated when a partition holds more failed instructions than it reads', async () => {
      const store = createInstructionStore(redis, createKeySpace(`${prefix}:b`, 1));
      const now = Date.now();
      for (let i = 0; i < 1_001; i += 143) {
        await Promise.all(
          Array.from({ length: 143 }, async () => {
            const instruction = validInstruction();
            await recordDirectly(store, instruction, { nowMs: now - 10_000 });
            await moveDirectly(store, instruction.uetr, 'ACCEPTED', 'FAILED', {
              reason: { code: 'AB06', description: 'unreachable' },
              nowMs: now - 5_000,
            });
          }),
        );
      }
      const found = await listProblems(
        store,
        1,
        { problems: ['failed'], stuckAfterMs: 300_000, participant: null, limit: 5_000 },
        now,
      );
      assert.equal(found.instructions.length, 1_000);
      assert.equal(found.truncated, true);
    });
  });

  describe('store: the recency and trace indexes', function () {
    const prefix = uniquePrefix('ops-indexes');
    const keys = createKeySpace(prefix, 1);
    let store: InstructionStore;

    before(() => {
      store = createInstructionStore(redis, keys, { recentPerPartition: 3 });
    });
    after(() => deleteUnder(redis, prefix));

    async function recorded(traceId: string, nowMs: number): Promise<string> {
      const instruction = validInstruction();
      await store.record({
        uetr: instruction.uetr,
        instruction,
        bodyHash: 'h',
        participant: 'HSBKKZKX',
        traceId,
        traceparent: '',
        nowMs,
        outcome: { state: 'ACCEPTED', reason: { code: '', description: '' } },
        screening: EVIDENCE,
      });
      return instruction.uetr;
    }

    it('keeps the most recently changed instructions up to its bound, newest first', async () => {
      const uetrs: string[] = [];
      for (let i = 1; i <= 5; i++) uetrs.push(await recorded(newTraceId(), i * 1000));
      assert.deepEqual(
        (await store.indexed('recent', 0, 10)).map((r) => r.uetr),
        [uetrs[4], uetrs[3], uetrs[2]],
      );
      await store.transition({
        uetr: uetrs[0],
        from: ['ACCEPTED'],
        to: 'FAILED',
        reason: { code: 'AB06', description: '' },
        traceId: newTraceId(),
        traceparent: '',
        nowMs: 9000,
      });
      assert.deepEqual(
        (await store.indexed('recent', 0, 10)).map((r) => [r.uetr, r.sinceMs]),
        [
          [uetrs[0], 9000],
          [uetrs[4], 5000],
          [uetrs[3], 4000],
        ],
      );
      assert.equal(await redis.zcard(keys.recent(0)), 3);
    });

    it('files an instruction under every valid trace id of its submission and status changes, and only those', async () => {
      const shared = newTraceId();
      const first = await recorded(shared, 1000);
      const second = await recorded(shared, 2000);
      const officer = newTraceId();
      await store.transition({
        uetr: first,
        from: ['ACCEPTED'],
        to: 'REJECTED',
        reason: { code: 'RR04', description: '' },
        traceId: officer,
        traceparent: '',
        nowMs: 3000,
      });
      assert.deepEqual((await store.tracedBy(0, shared, 10)).sort(), [first, second].sort());
      assert.deepEqual(await store.tracedBy(0, officer, 10), [first]);
      // A prefix of a trace id is not a trace id.
      assert.deepEqual(await store.tracedBy(0, shared.slice(0, 31), 10), []);
      const before = await redis.zcard(keys.traces(0));
      await recorded('0'.repeat(32), 4000);
      await recorded('t', 5000);
      assert.equal(await redis.zcard(keys.traces(0)), before, 'no entry for an invalid trace id');
    });
  });

  describe('under mTLS: roles from the certificate', function () {
    const prefix = uniquePrefix('ops-mtls');
    let pki: TestPki;
    let gw: TestGateway;
    const clients: { close(): void }[] = [];

    function tlsCredentials(identity: CertificateFiles) {
      return credentials.createSsl(
        readFileSync(pki.caFile),
        readFileSync(identity.keyFile),
        readFileSync(identity.certFile),
      );
    }
    const options = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };
    function operationsAs(units: string[]): OperationsClient {
      const c = new OperationsClient(
        gw.address,
        tlsCredentials(pki.issueClient('nurlan.b', { units })),
        options,
      );
      clients.push(c);
      return c;
    }

    before(async () => {
      pki = createTestPki();
      gw = await startTestGateway(prefix, {
        env: {
          CARAVAN_DEV_INSECURE: 'false',
          CARAVAN_TLS_CERT: pki.serverCertFile,
          CARAVAN_TLS_KEY: pki.serverKeyFile,
          CARAVAN_TLS_CA: pki.caFile,
          CARAVAN_LIST_POLL_MS: '200',
        },
      });
    });
    after(async () => {
      for (const c of clients) c.close();
      await gw?.gateway.stop();
      await deleteUnder(redis, prefix);
      pki?.cleanup();
    });

    it('shows the hits to a certificate with both OU values, and only the counts to OU=operations', async () => {
      const officer = new ComplianceClient(
        gw.address,
        tlsCredentials(pki.issueClient('aigerim.s', { units: ['compliance'] })),
        options,
      );
      clients.push(officer);
      await callUnary(
        officer.upsertEntry.bind(officer),
        {
          list: 'internal-counterparties',
          entry: entry({ id: 'bic-ksnv', kind: EntryKind.ENTRY_KIND_BIC, bic: 'KSNVKZKA', ref: 'case-2' }),
          note: 'mTLS',
        },
        new Metadata(),
        soon(),
      );
      await gw.gateway.screening!.refresh();
      const bank = new SettlementGatewayClient(
        gw.address,
        tlsCredentials(pki.issueClient('HSBKKZKX')),
        options,
      );
      clients.push(bank);
      const ins = validInstruction({ creditorAgent: { bic: 'KSNVKZKA' } });
      const answer = await submit(bank, ins, new Metadata());
      assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_REJECTED);

      const both = await explain(operationsAs(['operations', 'compliance']), ins.uetr, new Metadata());
      assert.equal(screeningOf(both.hops[1])?.hits[0]?.field, 'creditor_agent.bic');
      assert.equal(both.screeningHitsWithheld, false);
      const operator = await explain(operationsAs(['operations']), ins.uetr, new Metadata());
      assert.deepEqual(screeningOf(operator.hops[1])?.hits, []);
      assert.equal(operator.screeningHitsWithheld, true);
      const denied = await grpcError(explain(operationsAs(['compliance']), ins.uetr, new Metadata()));
      assert.equal(denied.code, status.PERMISSION_DENIED);
    });
  });
});
