import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { status, type Metadata } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import {
  HoldDecision,
  ListFormat,
  ScreenPartyRequest,
  type ComplianceClient,
  type ImportListRequest,
  type ImportListResponse,
  type ScreenPartyResponse,
} from '../../src/gen/caravan/compliance/v1/compliance';
import { IMPORT_CHUNK_OVERHEAD_BYTES } from '../../src/grpc/compliance-service';
import { MAX_SCREEN_PARTY_REQUEST_BYTES } from '../../src/grpc/request-limits';
import { rawUnary } from '../support/raw-grpc';
import { EntryKind, type ListEntry, type ListVersion } from '../../src/gen/caravan/compliance/v1/lists';
import { ScreeningDecision } from '../../src/gen/caravan/compliance/v1/screening';
import { CardScheme, IdentifierType } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { decodeStatusDetails } from '../../src/grpc/status';
import { createKeySpace } from '../../src/store/keys';
import { callUnary } from '../../src/cli/grpc-call';
import {
  asOfficer,
  complianceClient,
  entry,
  fixture,
  FIXTURES,
  importFiles,
  ROLE_TOKENS_ENV,
} from '../support/compliance';
import {
  asParticipant,
  devClient,
  getInstruction,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const HALYK = asParticipant('HSBKKZKX');
const ALICE = asOfficer('alice');
const BOB = asOfficer('bob');
const soon = () => new Date(Date.now() + 30_000);
const SCREEN_PARTY = '/caravan.compliance.v1.Compliance/ScreenParty';
/** A fixture's bytes as stored, gzipped or not. */
const fixtureBytes = (relative: string) => readFileSync(path.join(FIXTURES, relative));

describe('Compliance: lists, screening at intake, holds, audit', function () {
  this.timeout(120_000);
  const prefix = uniquePrefix('compliance');
  const keys = createKeySpace(prefix, 16);
  let redis: Redis;
  let gw: TestGateway;
  let client: ComplianceClient;
  let settlement: ReturnType<typeof devClient>;

  const upsert = (list: string, e: ListEntry, who: Metadata = ALICE): Promise<ListVersion> =>
    callUnary(client.upsertEntry.bind(client), { list, entry: e, note: 'test' }, who, soon());
  const screenParty = (request: Partial<ScreenPartyRequest>): Promise<ScreenPartyResponse> =>
    callUnary(
      client.screenParty.bind(client),
      { party: undefined, bics: [], card: undefined, minScore: 0, ...request },
      ALICE,
      soon(),
    );
  /** Waits until this gateway screens with the newest list versions. */
  const synced = () => gw.gateway.screening!.refresh();

  before(async () => {
    redis = testRedis();
    gw = await startTestGateway(prefix, {
      env: { CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV, CARAVAN_LIST_POLL_MS: '200' },
      // Sweeps racing every decision's own audit write: each entry must still be written once.
      auditSweep: { intervalMs: 100, graceMs: 0 },
    });
    client = complianceClient(gw.address);
    settlement = devClient(gw.address);
  });

  after(async () => {
    client.close();
    settlement.close();
    await gw.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  describe('roles', function () {
    it('refuses callers without the compliance role', async () => {
      const none = await grpcError(callUnary(client.listLists.bind(client), {}, HALYK, soon()));
      assert.equal(none.code, status.UNAUTHENTICATED);
      const operator = await grpcError(
        callUnary(client.listLists.bind(client), {}, asOfficer('olga'), soon()),
      );
      assert.equal(operator.code, status.PERMISSION_DENIED);
      assert.match(
        decodeStatusDetails(operator.metadata).errorInfo?.metadata.trace_id ?? '',
        /^[0-9a-f]{32}$/,
      );
    });

    it('refuses a caller without the role before decoding the request', async () => {
      // Bytes that are no ScreenPartyRequest: decoded first, they would be INVALID_ARGUMENT.
      const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
      const participant = await grpcError(rawUnary(gw.address, SCREEN_PARTY, garbage, HALYK));
      assert.equal(participant.code, status.UNAUTHENTICATED);
      const operator = await grpcError(rawUnary(gw.address, SCREEN_PARTY, garbage, asOfficer('olga')));
      assert.equal(operator.code, status.PERMISSION_DENIED);
      const officer = await grpcError(rawUnary(gw.address, SCREEN_PARTY, garbage, ALICE));
      assert.equal(officer.code, status.INVALID_ARGUMENT);
    });

    it('refuses a ScreenParty request over its size limit before decoding it', async () => {
      const party = validInstruction().debtor!;
      party.identifiers = Array.from({ length: 1_000 }, () => ({ ...party.identifiers[0] }));
      const body = Buffer.from(
        ScreenPartyRequest.encode({ party, bics: [], card: undefined, minScore: 0 }).finish(),
      );
      assert.ok(body.length > MAX_SCREEN_PARTY_REQUEST_BYTES);
      const err = await grpcError(rawUnary(gw.address, SCREEN_PARTY, body, ALICE));
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.equal(
        decodeStatusDetails(err.metadata).badRequest?.fieldViolations[0]?.description,
        `the request is ${body.length} bytes; a caravan.compliance.v1.ScreenPartyRequest is at most ${MAX_SCREEN_PARTY_REQUEST_BYTES} bytes`,
      );
    });
  });

  describe('card schemes', function () {
    before(async () => {
      await upsert(
        'card-schemes',
        entry({
          id: 'MIR',
          kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
          scheme: 'MIR',
          iinRanges: [{ from: '2200', to: '2204' }],
        }),
      );
      await synced();
    });

    it('rejects Mir cards (IIN 2200-2204) with AG01 and lets 2205-2220 and Mastercard 2221 through', async () => {
      for (const bin of ['22000000', '22041234', '220012']) {
        const res = await submit(
          settlement,
          validInstruction({ card: { scheme: CardScheme.CARD_SCHEME_VISA, bin, last4: '1234' } }),
          HALYK,
        );
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED, bin);
        assert.equal(res.reason?.code, 'AG01');
      }
      const byName = await submit(
        settlement,
        validInstruction({ card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '41111111', last4: '1234' } }),
        HALYK,
      );
      assert.equal(byName.reason?.code, 'AG01');
      for (const [scheme, bin] of [
        [CardScheme.CARD_SCHEME_VISA, '22050000'],
        [CardScheme.CARD_SCHEME_VISA, '22209999'],
        [CardScheme.CARD_SCHEME_MASTERCARD, '22210000'],
      ] as const) {
        const res = await submit(
          settlement,
          validInstruction({ card: { scheme, bin, last4: '1234' } }),
          HALYK,
        );
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_ACCEPTED, bin);
      }
    });
  });

  describe('OFAC SDN 2024-05-03 imported over gRPC', function () {
    let imported: ListVersion;
    before(async () => {
      const res = await importFiles(
        client,
        ALICE,
        { list: 'ofac-sdn', format: ListFormat.LIST_FORMAT_OFAC_SDN, note: 'test import' },
        [{ name: 'sdn.csv', data: fixture('sanctions/ofac_sdn_2024-05-03/sdn.csv.gz') }],
      );
      assert.equal(res.activated, true, res.refusal);
      imported = res.version!;
      await synced();
    });

    it('activates a version with every row', () => {
      assert.ok(Number(imported.entryCount) > 14_965, `${imported.entryCount} entries`);
      assert.equal(imported.current, true);
      assert.equal(imported.createdBy, 'alice');
    });

    it('blocks VTBAKZKZ and VTBAKZKZXXX as agents and lets HSBKKZKX and EURIKZKA through', async () => {
      for (const bic of ['VTBAKZKZ', 'VTBAKZKZXXX']) {
        const res = await submit(
          settlement,
          validInstruction({ creditorAgent: { bic }, instructedAgent: { bic } }),
          HALYK,
        );
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED, bic);
        assert.equal(res.reason?.code, 'RR04');
        assert.match(
          res.reason?.description ?? '',
          /(instructed|creditor)_agent\.bic is listed on ofac-sdn \(ref 18723\)/,
        );
      }
      for (const bic of ['HSBKKZKX', 'EURIKZKA']) {
        const res = await submit(
          settlement,
          validInstruction({ creditorAgent: { bic }, instructedAgent: { bic } }),
          HALYK,
        );
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_ACCEPTED, bic);
      }
    });

    it('blocks a listed Kazakh registration number given as the creditor BIN', async () => {
      const ins = validInstruction();
      ins.creditor!.identifiers = [
        { type: IdentifierType.IDENTIFIER_TYPE_KZ_BIN, value: '110140012405', issuerCountry: 'KZ' },
      ];
      ins.creditor!.country = 'KZ';
      const res = await submit(settlement, ins, HALYK);
      assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED);
    });

    it('holds a Cyrillic spelling of a listed Kazakh company for review and explains the hit', async () => {
      const ins = validInstruction();
      ins.creditor!.name = 'ТОО Сбер Восток';
      const res = await submit(settlement, ins, HALYK);
      assert.equal(res.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
      const record = await getInstruction(settlement, ins.uetr, HALYK);
      assert.equal(record.screening?.screened, true);
      assert.ok((record.screening?.hitCount ?? 0) >= 1);
      assert.deepEqual(record.screening?.listVersions.map((v) => v.list).sort(), [
        'card-schemes',
        'ofac-sdn',
      ]);
      const dry = await screenParty({
        party: { name: 'ТОО Сбер Восток', country: '', account: undefined, identifiers: [] },
      });
      assert.equal(dry.decision, ScreeningDecision.SCREENING_DECISION_REVIEW);
      const hit = dry.hits.find((h) => h.ref === '36427');
      assert.ok(hit, JSON.stringify(dry.hits.map((h) => h.subject)));
      assert.equal(hit.field, 'party.name');
      assert.ok(hit.pairs.length >= 2);
      // min_score only changes which hits are shown: the decision stays intake's.
      const strict = await screenParty({
        party: { name: 'ТОО Сбер Восток', country: '', account: undefined, identifiers: [] },
        minScore: 0.999,
      });
      assert.equal(strict.decision, ScreeningDecision.SCREENING_DECISION_REVIEW);
      assert.ok(strict.hits.every((h) => h.score >= 0.999));
      const loose = await screenParty({
        party: { name: 'Completely Unrelated Bakery', country: '', account: undefined, identifiers: [] },
        minScore: 0.3,
      });
      assert.equal(loose.decision, ScreeningDecision.SCREENING_DECISION_CLEAR);
      assert.ok(loose.hits.every((h) => h.score >= 0.3));
    });

    it('does not let a number-only company name match every CORP', async () => {
      const dry = await screenParty({
        party: { name: '11420 CORP.', country: '', account: undefined, identifiers: [] },
      });
      assert.ok(
        dry.hits.every((h) => !/^CORP/.test(h.matched) || /11420/.test(h.matched)),
        JSON.stringify(dry.hits.map((h) => h.matched)),
      );
    });

    it('lists versions and pages through entries', async () => {
      const versions = await callUnary(client.listVersions.bind(client), { list: 'ofac-sdn' }, ALICE, soon());
      assert.equal(versions.versions[0].version, imported.version);
      const page = await callUnary(
        client.listEntries.bind(client),
        { list: 'ofac-sdn', version: '0', pageSize: 50, pageToken: '' },
        ALICE,
        soon(),
      );
      assert.ok(page.entries.length > 0 && page.entries.length <= 1000);
      assert.notEqual(page.nextPageToken, '');
    });

    it('refuses a new version that loses most entries unless forced, and rolls back', async () => {
      const small = Buffer.from('kind,id,name\nname,x1,TEST PERSON ONE\n');
      const refused = await importFiles(
        client,
        ALICE,
        { list: 'ofac-sdn', format: ListFormat.LIST_FORMAT_CSV },
        [{ name: 'small.csv', data: small }],
      );
      assert.equal(refused.activated, false);
      assert.match(refused.refusal, /loses too much|problem/);
      const current = await callUnary(client.listVersions.bind(client), { list: 'ofac-sdn' }, ALICE, soon());
      assert.equal(current.versions.find((v) => v.current)?.version, imported.version);
    });
  });

  describe('four-eyes release and rejection', function () {
    let held: string[];
    before(async () => {
      await upsert(
        'internal-counterparties',
        entry({
          id: 'n1',
          kind: EntryKind.ENTRY_KIND_NAME,
          name: 'Zhetysu Orbita Holding LLP',
          ref: 'case-1',
        }),
      );
      await synced();
      held = [];
      for (let i = 0; i < 4; i++) {
        const ins = validInstruction();
        ins.creditor!.name = 'ТОО Жетысу Орбита Холдинг';
        const res = await submit(settlement, ins, HALYK);
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
        held.push(ins.uetr);
      }
    });

    const rejectAsAlice = (uetr: string) =>
      callUnary(
        client.decideHold.bind(client),
        {
          uetr,
          evidence: '',
          decision: HoldDecision.HOLD_DECISION_REJECT,
          comment: 'true match',
          reasonCode: 'RR04',
        },
        ALICE,
        soon(),
      );

    it('shows held instructions with their hits', async () => {
      const res = await callUnary(client.listHolds.bind(client), { pageSize: 100 }, ALICE, soon());
      const mine = res.holds.filter((h) => held.includes(h.uetr));
      assert.equal(mine.length, 4);
      assert.ok(mine.every((h) => h.hits.some((hit) => hit.list === 'internal-counterparties')));
    });

    it('needs two different officers to release, then puts the instruction on the outbox', async () => {
      const uetr = held[0];
      const decide = (who: Metadata) =>
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
      const first = await decide(ALICE);
      assert.equal(first.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
      assert.equal(first.releasesNeeded, 1);
      const again = await decide(ALICE);
      assert.equal(again.releasesNeeded, 1, 'the same officer twice is not four eyes');
      const second = await decide(BOB);
      assert.equal(second.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      assert.deepEqual(second.releasedBy, ['alice', 'bob']);
      const k = keys.instruction(uetr);
      const outbox = await redis.xrange(k.outbox, '-', '+');
      assert.equal(outbox.filter(([, f]) => f[1] === uetr).length, 1);
      assert.equal(await redis.zscore(k.holds, uetr), null);
    });

    it('rejects with one officer and a reason, and refuses a decision without a comment', async () => {
      const uetr = held[1];
      const noComment = await grpcError(
        callUnary(
          client.decideHold.bind(client),
          { uetr, evidence: '', decision: HoldDecision.HOLD_DECISION_REJECT, comment: '', reasonCode: '' },
          ALICE,
          soon(),
        ),
      );
      assert.equal(noComment.code, status.INVALID_ARGUMENT);
      const res = await rejectAsAlice(uetr);
      assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED);
      const record = await getInstruction(settlement, uetr, HALYK);
      assert.equal(record.reason?.code, 'RR04');
      const decided = await grpcError(
        callUnary(
          client.decideHold.bind(client),
          {
            uetr,
            evidence: '',
            decision: HoldDecision.HOLD_DECISION_RELEASE,
            comment: 'late',
            reasonCode: '',
          },
          BOB,
          soon(),
        ),
      );
      assert.equal(decided.code, status.FAILED_PRECONDITION);
    });

    it('refuses a decision taken on evidence that re-screening has replaced since', async () => {
      const uetr = held[3];
      const evidenceOf = async () =>
        (await callUnary(client.listHolds.bind(client), { pageSize: 100 }, ALICE, soon())).holds.find(
          (h) => h.uetr === uetr,
        )?.evidence ?? '';
      const reviewed = await evidenceOf();
      assert.match(reviewed, /^[0-9a-f]{16}$/);
      await upsert(
        'internal-watch',
        entry({ id: 'w1', kind: EntryKind.ENTRY_KIND_NAME, name: 'Zhetysu Orbita Holding', ref: 'case-2' }),
      );
      await synced();
      const deadline = Date.now() + 10_000;
      while ((await evidenceOf()) === reviewed && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const current = await evidenceOf();
      assert.notEqual(current, reviewed, 're-screening held it again on the new hit');
      const decide = (evidence: string) =>
        callUnary(
          client.decideHold.bind(client),
          {
            uetr,
            evidence,
            decision: HoldDecision.HOLD_DECISION_RELEASE,
            comment: 'reviewed',
            reasonCode: '',
          },
          ALICE,
          soon(),
        );
      const stale = await grpcError(decide(reviewed));
      assert.equal(stale.code, status.FAILED_PRECONDITION);
      assert.match(stale.details, /screened again/);
      assert.deepEqual(
        (await callUnary(client.listHolds.bind(client), { pageSize: 100 }, ALICE, soon())).holds.find(
          (h) => h.uetr === uetr,
        )?.releasedBy,
        [],
      );
      const fresh = await decide(current);
      assert.equal(fresh.releasesNeeded, 1);
    });

    it('takes a decision whose audit entry cannot be written at once, and the sweep writes it later', async () => {
      const uetr = held[2];
      const head = keys.auditHead();
      const saved = await redis.dumpBuffer(head);
      // The log's head made unusable: every write to the log fails until it is restored.
      await redis.set(head, 'unusable');
      try {
        const res = await rejectAsAlice(uetr);
        assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await redis.hlen(keys.instruction(uetr).auditPending), 1);
      } finally {
        await redis.del(head);
        if (saved) await redis.restore(head, 0, saved);
      }
      const written = async () =>
        (
          await callUnary(
            client.listAuditEvents.bind(client),
            { afterSequence: '0', limit: 1000 },
            ALICE,
            soon(),
          )
        ).events.filter((e) => e.subject === uetr && e.action === 'hold.reject');
      const deadline = Date.now() + 10_000;
      while ((await written()).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal((await written()).length, 1);
      assert.equal(await redis.hlen(keys.instruction(uetr).auditPending), 0);
      assert.equal((await callUnary(client.verifyAuditLog.bind(client), {}, ALICE, soon())).intact, true);
    });
  });

  describe('re-screening after a list change', function () {
    it('stops an accepted, undelivered instruction that a new entry now matches', async () => {
      const ins = validInstruction({
        creditorAgent: { bic: 'KSNVKZKA' },
        instructedAgent: { bic: 'KSNVKZKA' },
      });
      assert.equal((await submit(settlement, ins, HALYK)).state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      await upsert(
        'internal-counterparties',
        entry({ id: 'bic-ksnv', kind: EntryKind.ENTRY_KIND_BIC, bic: 'KSNVKZKA', ref: 'case-2' }),
      );
      await synced();
      let state = InstructionState.INSTRUCTION_STATE_ACCEPTED;
      for (let i = 0; i < 50 && state === InstructionState.INSTRUCTION_STATE_ACCEPTED; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = (await getInstruction(settlement, ins.uetr, HALYK)).state;
      }
      assert.equal(state, InstructionState.INSTRUCTION_STATE_REJECTED);
    });
  });

  describe('atomic list swaps', function () {
    it('screens 300 concurrent submissions while the list changes, with no failed or mixed decision', async () => {
      const submissions = Array.from({ length: 300 }, (_, i) => {
        const ins = validInstruction({ endToEndId: `SWAP-${i}` });
        return submit(settlement, ins, HALYK, 60_000).then(async (res) => {
          const record = await redis.hget(keys.instruction(ins.uetr).record, 'screening');
          return { res, evidence: JSON.parse(record!) as { versions: { list: string; version: number }[] } };
        });
      });
      const changes = (async () => {
        for (let i = 0; i < 5; i++) {
          await upsert(
            'swap-test',
            entry({ id: `j${i}`, kind: EntryKind.ENTRY_KIND_JURISDICTION, country: 'KP' }),
          );
        }
      })();
      const [results] = await Promise.all([Promise.all(submissions), changes]);
      assert.ok(results.every((r) => r.res.state === InstructionState.INSTRUCTION_STATE_ACCEPTED));
      for (const { evidence } of results) {
        const lists = evidence.versions.map((v) => v.list);
        assert.equal(new Set(lists).size, lists.length, 'each list screened once, at one version');
      }
    });
  });

  describe('imports that must not change anything', function () {
    it('reports parse problems with line numbers and keeps the current version', async () => {
      await upsert('imports-test', entry({ id: 'keep', kind: EntryKind.ENTRY_KIND_BIC, bic: 'ABCDKZKA' }));
      const before = await callUnary(
        client.listVersions.bind(client),
        { list: 'imports-test' },
        ALICE,
        soon(),
      );
      const bad = Buffer.from('kind,id,bic\nbic,b1,NOTABIC!\nnonsense,b2,\n');
      const res = await importFiles(
        client,
        ALICE,
        { list: 'imports-test', format: ListFormat.LIST_FORMAT_CSV, force: true },
        [{ name: 'bad.csv', data: bad }],
      );
      assert.equal(res.activated, false);
      assert.ok(res.problems.length >= 2);
      assert.deepEqual(res.problems.map((p) => p.line).sort(), [2, 3]);
      const after = await callUnary(
        client.listVersions.bind(client),
        { list: 'imports-test' },
        ALICE,
        soon(),
      );
      assert.equal(
        after.versions.find((v) => v.current)?.version,
        before.versions.find((v) => v.current)?.version,
      );
    });

    it('keeps the current version when the upload is cut off half-way', async () => {
      const before = await callUnary(client.listVersions.bind(client), { list: 'ofac-sdn' }, ALICE, soon());
      const cut = await importFiles(
        client,
        ALICE,
        { list: 'ofac-sdn', format: ListFormat.LIST_FORMAT_OFAC_SDN, force: true },
        [{ name: 'sdn.csv', data: fixture('sanctions/ofac_sdn_2024-05-03/sdn.csv.gz') }],
        1_000_000,
      ).catch((err: { code: number }) => err);
      assert.equal((cut as { code: number }).code, status.CANCELLED);
      await new Promise((r) => setTimeout(r, 300));
      const after = await callUnary(client.listVersions.bind(client), { list: 'ofac-sdn' }, ALICE, soon());
      assert.deepEqual(
        after.versions.map((v) => v.version),
        before.versions.map((v) => v.version),
      );
    });

    it('answers malformed import streams with INVALID_ARGUMENT', async () => {
      const noHeader = await grpcError(
        new Promise((resolve, reject) => {
          const call = client.importList(ALICE, (err, res) => (err ? reject(err) : resolve(res)));
          call.write({ part: { $case: 'chunk', value: { fileIndex: 0, data: Buffer.from('x') } } });
          call.end();
        }),
      );
      assert.equal(noHeader.code, status.INVALID_ARGUMENT);
      const badIndex = await grpcError(
        importFiles(client, ALICE, { list: 'Bad List!', format: ListFormat.LIST_FORMAT_CSV }, [
          { name: '../etc/passwd', data: Buffer.from('x') },
        ]),
      );
      assert.equal(badIndex.code, status.INVALID_ARGUMENT);
      const fields = decodeStatusDetails(badIndex.metadata).badRequest?.fieldViolations.map((v) => v.field);
      assert.deepEqual(fields, ['header.list', 'header.file_names[0]']);
    });

    it('counts every chunk message against the import limit, so empty chunks cannot pile up', async () => {
      const limit = 64 * 1024 * 1024;
      // 64 chunks of 1 MiB less the per-message overhead reach the limit exactly, counted with it.
      const full = Buffer.alloc(1024 * 1024 - IMPORT_CHUNK_OVERHEAD_BYTES, 'x');
      const upload = async (emptyChunks: number) => {
        let call!: ReturnType<ComplianceClient['importList']>;
        const answer = new Promise<ImportListResponse>((resolve, reject) => {
          call = client.importList(ALICE, { deadline: Date.now() + 120_000 }, (err, res) =>
            err ? reject(err) : resolve(res),
          );
        });
        const header: ImportListRequest = {
          part: {
            $case: 'header',
            value: {
              list: 'imports-test',
              format: ListFormat.LIST_FORMAT_CSV,
              fileNames: ['l.csv'],
              force: true,
              note: '',
            },
          },
        };
        call.write(header);
        for (let i = 0; i < limit / (full.length + IMPORT_CHUNK_OVERHEAD_BYTES); i++) {
          if (!call.write({ part: { $case: 'chunk', value: { fileIndex: 0, data: full } } })) {
            await new Promise((r) => call.once('drain', r));
          }
        }
        const empty: ImportListRequest = {
          part: { $case: 'chunk', value: { fileIndex: 0, data: Buffer.alloc(0) } },
        };
        for (let i = 0; i < emptyChunks; i++) call.write(empty);
        call.end();
        return answer;
      };
      const before = await callUnary(
        client.listVersions.bind(client),
        { list: 'imports-test' },
        ALICE,
        soon(),
      );
      // At the limit the files are parsed (and refused: one line of 64 MiB is no list).
      const atLimit = await upload(0);
      assert.equal(atLimit.activated, false);
      assert.match(atLimit.problems[0]?.message ?? '', /characters long; the limit is/);
      // One empty chunk more passes it: without the overhead, empty chunks would never.
      const err = await grpcError(upload(1));
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.equal(
        err.details,
        `the import exceeds ${limit} bytes: its files together, each chunk message counted with ` +
          `${IMPORT_CHUNK_OVERHEAD_BYTES} bytes beyond its data (send chunks of 64 KiB or more)`,
      );
      const after = await callUnary(
        client.listVersions.bind(client),
        { list: 'imports-test' },
        ALICE,
        soon(),
      );
      assert.deepEqual(after, before);
    });

    it('refuses a compressed upload, naming the file, before parsing it', async () => {
      const gzipped = fixtureBytes('sanctions/ofac_sdn_2021-07-07/alt.csv.gz');
      const res = await importFiles(
        client,
        ALICE,
        { list: 'ofac-sdn-gz', format: ListFormat.LIST_FORMAT_OFAC_SDN, force: true },
        [
          { name: 'sdn.csv', data: fixture('sanctions/ofac_sdn_2021-07-07/sdn.csv.gz') },
          { name: 'alt.csv.gz', data: gzipped },
        ],
      );
      assert.equal(res.activated, false);
      assert.deepEqual(res.problems, [
        {
          file: 'alt.csv.gz',
          line: 0,
          message: 'alt.csv.gz is gzip-compressed; compressed files are not accepted: decompress it first',
        },
      ]);
      assert.equal(res.version, undefined);
    });

    it('refuses an invalid single entry with field paths', async () => {
      const err = await grpcError(
        upsert(
          'internal-counterparties',
          entry({
            id: 'x',
            kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
            scheme: 'mir!',
            iinRanges: [{ from: '2204', to: '2200' }],
          }),
        ),
      );
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.deepEqual(
        decodeStatusDetails(err.metadata).badRequest?.fieldViolations.map((v) => v.field),
        ['entry.scheme', 'entry.iin_ranges[0]'],
      );
    });
  });

  describe('size limits on what officers write', function () {
    it('refuses notes, comments and entries past their limits without changing anything', async () => {
      const long = 'ы'.repeat(2001);
      const fieldsOf = (err: { metadata: Metadata }) =>
        decodeStatusDetails(err.metadata).badRequest?.fieldViolations.map((v) => v.field);
      const versionsBefore = await callUnary(
        client.listVersions.bind(client),
        { list: 'internal-counterparties' },
        ALICE,
        soon(),
      );
      const auditBefore = await redis.xlen(keys.auditLog());
      const named = (aliases: number) =>
        entry({
          id: 'size-limit',
          kind: EntryKind.ENTRY_KIND_NAME,
          name: 'SIZE LIMIT TRADING LLP',
          aliases: Array.from({ length: aliases }, (_, i) => ({ name: `SIZE LIMIT ${i}`, kind: 'aka' })),
        });

      const noteErr = await grpcError(
        callUnary(
          client.upsertEntry.bind(client),
          { list: 'internal-counterparties', entry: named(1), note: long },
          ALICE,
          soon(),
        ),
      );
      assert.equal(noteErr.code, status.INVALID_ARGUMENT);
      assert.deepEqual(fieldsOf(noteErr), ['note']);
      const aliasErr = await grpcError(upsert('internal-counterparties', named(201)));
      assert.deepEqual(fieldsOf(aliasErr), ['entry.aliases']);
      const importErr = await grpcError(
        importFiles(
          client,
          ALICE,
          { list: 'internal-counterparties', format: ListFormat.LIST_FORMAT_CSV, note: long },
          [{ name: 'a.csv', data: Buffer.from('kind,id,name\nname,x1,TEST PERSON ONE\n') }],
        ),
      );
      assert.deepEqual(fieldsOf(importErr), ['header.note']);
      const rollbackErr = await grpcError(
        callUnary(
          client.rollbackList.bind(client),
          { list: 'internal-counterparties', toVersion: '0', note: long },
          ALICE,
          soon(),
        ),
      );
      assert.deepEqual(fieldsOf(rollbackErr), ['note']);
      const commentErr = await grpcError(
        callUnary(
          client.decideHold.bind(client),
          {
            uetr: randomUUID(),
            evidence: '',
            decision: HoldDecision.HOLD_DECISION_REJECT,
            comment: long,
            reasonCode: 'RR04',
          },
          ALICE,
          soon(),
        ),
      );
      assert.deepEqual(fieldsOf(commentErr), ['comment']);

      assert.deepEqual(
        await callUnary(client.listVersions.bind(client), { list: 'internal-counterparties' }, ALICE, soon()),
        versionsBefore,
      );
      assert.equal(await redis.xlen(keys.auditLog()), auditBefore);
      // At the limit exactly, a note is kept.
      const kept = await callUnary(
        client.upsertEntry.bind(client),
        { list: 'internal-counterparties', entry: named(200), note: 'ы'.repeat(2000) },
        ALICE,
        soon(),
      );
      assert.equal([...kept.note].length, 2000);
    });
  });

  describe('audit log', function () {
    it('records every change and decision in an intact chain, and detects tampering', async () => {
      const events = await callUnary(
        client.listAuditEvents.bind(client),
        { afterSequence: '0', limit: 1000 },
        ALICE,
        soon(),
      );
      const actions = new Set(events.events.map((e) => e.action));
      for (const action of [
        'list.upsert',
        'list.import',
        'hold.release-approval',
        'hold.release',
        'hold.reject',
      ]) {
        assert.ok(actions.has(action), `${action} missing from ${[...actions].join(', ')}`);
      }
      const ok = await callUnary(client.verifyAuditLog.bind(client), {}, ALICE, soon());
      assert.equal(ok.intact, true);
      assert.equal(ok.checked, String(events.events.length));

      // Someone with Redis access rewrites the stream with event 2's actor changed.
      const all = await redis.xrange(keys.auditLog(), '-', '+');
      await redis.del(keys.auditLog());
      for (const [i, [, fields]] of all.entries()) {
        const altered = i === 1 ? fields.map((v, j) => (fields[j - 1] === 'actor' ? 'mallory' : v)) : fields;
        await redis.xadd(keys.auditLog(), '*', ...altered);
      }
      const changed = await callUnary(client.verifyAuditLog.bind(client), {}, ALICE, soon());
      assert.equal(changed.intact, false);
      assert.equal(changed.firstBadSequence, '2');
      assert.match(changed.problem, /changed/);

      // Deleting an event is found too.
      const [third] = (await redis.xrange(keys.auditLog(), '-', '+', 'COUNT', 3)).slice(2);
      await redis.xdel(keys.auditLog(), third[0]);
      const removed = await callUnary(client.verifyAuditLog.bind(client), {}, ALICE, soon());
      assert.equal(removed.intact, false);
      assert.equal(removed.firstBadSequence, '2');
    });
  });
});
