import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import {
  ComplianceService,
  DecideHoldRequest,
  HoldDecision,
  ImportListRequest,
  ListAuditEventsRequest,
  ListEntriesRequest,
  ListFormat,
  ListHoldsRequest,
  ListListsRequest,
  ListVersionsRequest,
  RemoveEntryRequest,
  RollbackListRequest,
  ScreenPartyRequest,
  UpsertEntryRequest,
  VerifyAuditLogRequest,
} from '../../src/gen/caravan/compliance/v1/compliance';
import { EntryKind, PartyType, type ListEntry } from '../../src/gen/caravan/compliance/v1/lists';
import { ScreeningDecision } from '../../src/gen/caravan/compliance/v1/screening';
import {
  ExplainInstructionRequest,
  InstructionProblem,
  ListInstructionsRequest,
  ListRoutesRequest,
  OperationsService,
  PutRouteRequest,
  RemoveRouteRequest,
  ReplayInstructionRequest,
} from '../../src/gen/caravan/operations/v1/operations';
import {
  GetInstructionRequest,
  SettlementGatewayService,
  SubmitInstructionRequest,
  SubmitInstructionResponse,
  WatchInstructionRequest,
} from '../../src/gen/caravan/settlement/v1/gateway';
import {
  CardScheme,
  IdentifierType,
  type Party,
  type SettlementInstruction,
} from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { callUnary } from '../../src/cli/grpc-call';
import { routeToProto } from '../../src/grpc/operations-mapping';
import { createKeySpace } from '../../src/store/keys';
import { ROLE_TOKENS_ENV, asOfficer, complianceClient, entry } from '../support/compliance';
import { counterparty, route } from '../support/delivery';
import { asParticipant, catchAllRoute, devClient, putRoutes, submit } from '../support/gateway';
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
import { Rng, fuzzSeconds, fuzzSeed } from './prng';
import { loadSchema } from './schema';
import {
  healthTargets,
  officerChoices,
  participantChoices,
  reflectionTargets,
  serviceTargets,
} from './targets';
import { confusable } from './text';

const MAX_MESSAGE_BYTES = 1024 * 1024;
const GATEWAY_LISTENING = /"port":(\d+).*"msg":"caravan gateway listening"/;
const HALYK = 'HSBKKZKX';
const RAIFFEISEN = 'RZBMRUMM';
const LISTED_PERSON = 'Ivan Petrovich Sidorov';
const SCREENING_LIST = 'fuzz-names';
const UPSERT_LIST = 'fuzz-upserts';
const IMPORT_LIST = 'fuzz-import';

const SETTLEMENT = 'caravan.settlement.v1.SettlementGateway';
const COMPLIANCE = 'caravan.compliance.v1.Compliance';
const OPERATIONS = 'caravan.operations.v1.Operations';
/** Calls that change lists, holds or routes: only an OK answer may have written anything. */
const LIST_CHANGES = ['ImportList', 'UpsertEntry', 'RemoveEntry', 'RollbackList'].map(
  (m) => `${COMPLIANCE}/${m}`,
);
const AUDITED = [
  ...LIST_CHANGES,
  `${COMPLIANCE}/DecideHold`,
  ...['PutRoute', 'RemoveRoute', 'ReplayInstruction'].map((m) => `${OPERATIONS}/${m}`),
];

/** ImportList's largest files in the timed run: the gateway holds an import's files until it parses them. */
const IMPORT_LIMIT_BYTES = 64 * 1024;

const enc = {
  submit: (instruction: SettlementInstruction) =>
    Buffer.from(SubmitInstructionRequest.encode({ instruction }).finish()),
};

/** Names for list entries, none of them the names the valid instructions use. */
const ENTRY_NAMES = [
  'Petr Ivanovich Kuznetsov',
  'Aral Shipping LLP',
  'ТОО Сбер Восток',
  'Mohammed Al-Rashid',
  'Қазақ Өнімдері ЖШС',
];

/**
 * Hostile input against a real `caravan serve` process (plaintext development mode, its own Redis
 * prefix, no dispatcher): every method of SettlementGateway, Compliance and Operations, health and
 * both reflection versions, with valid requests, mutated ones and noise, with and without the
 * right metadata, for FUZZ_SECONDS (20 s by default). FUZZ_SEED replays a run, FUZZ_CASE one case,
 * FUZZ_TARGETS (a regular expression on Service/Method) narrows the methods.
 */
describe('fuzz: the gateway process (every RPC it serves)', function () {
  const seconds = fuzzSeconds(20);
  this.timeout(seconds * 1000 * 2 + 240_000);
  const seed = fuzzSeed();
  const checks = serverChecks('gateway', seed);
  const onlyCases = onlyCasesFromEnv();
  const prefix = uniquePrefix('fuzz-gateway');
  const keys = createKeySpace(prefix, 16);
  const schema = loadSchema();
  let redis: Redis;
  let server: ServerProcess | null = null;
  let address = '';
  let report: FuzzReport | null = null;

  /** UETRs a SubmitInstruction answered OK (the only ones that may have keys), and the answers' states. */
  const accepted = new Set<string>();
  const states = new Map<string, number>();
  /** OK answers per method (and calls the fuzzer cancelled, which may have been carried out). */
  const okCalls = new Map<string, number>();
  /**
   * List changes that may have used a version number: OK ones, and those refused at activation
   * (FAILED_PRECONDITION: another change came first; CANCELLED: the caller left after the files
   * were read), whose built version was refused and never became current.
   */
  const versionsBuilt = new Map<string, number>();
  const before_ = { instructionRecords: 0, audit: 0, listSequences: 0, routesVersion: 0 };

  /** Valid instructions recorded before the run, to read, watch, replay and conflict with. */
  const setup: { instruction: SettlementInstruction; state: InstructionState }[] = [];
  let heldUetr = '';

  const instructionRecords = async () =>
    (await keysUnder(redis, prefix)).filter((k) => /:\{p\d+\}:ins:/.test(k)).length;
  const listSequences = async () => {
    let sum = 0;
    for (const list of await redis.smembers(keys.listNames()))
      sum += Number((await redis.get(keys.list(list).sequence)) ?? 0);
    return sum;
  };
  const routesVersion = async () => Number((await redis.get(keys.routesVersion())) ?? 0);

  function observeAll(c: FuzzCase, o: Outcome): void {
    if ([Code.OK, Code.FAILED_PRECONDITION, Code.CANCELLED].includes(o.code))
      versionsBuilt.set(c.target.name, (versionsBuilt.get(c.target.name) ?? 0) + 1);
    // A call the fuzzer cancelled may have been carried out before the cancellation arrived.
    if (o.code !== Code.OK && !(o.cancelledByClient && o.code === Code.CANCELLED)) return;
    okCalls.set(c.target.name, (okCalls.get(c.target.name) ?? 0) + 1);
  }

  function observeSubmit(c: FuzzCase, o: Outcome): void {
    observeAll(c, o);
    if (o.code !== Code.OK || o.responses[0] === undefined) return;
    const answer = SubmitInstructionResponse.decode(o.responses[0]);
    accepted.add(answer.uetr);
    const state = InstructionState[answer.state] ?? String(answer.state);
    states.set(state, (states.get(state) ?? 0) + 1);
  }

  // ---- valid requests, built with the generated encoders ----

  const listedParty = (rng: Rng, base: Party | undefined): Party => ({
    ...(base ?? validInstruction().creditor!),
    name: rng.chance(0.5)
      ? LISTED_PERSON
      : confusable(rng, rng.pick([LISTED_PERSON, 'Иван Петрович Сидоров'])),
  });

  function submitSeeds(rng: Rng): Buffer[][] {
    const fresh = () => validInstruction({ uetr: rng.uuid() });
    const held = fresh();
    held.creditor = listedParty(rng, held.creditor);
    const cyrillic = fresh();
    cyrillic.debtor = { ...cyrillic.debtor!, name: confusable(rng, 'ТОО Караван Тест Трейдинг') };
    const wallet = fresh();
    wallet.creditor = {
      ...wallet.creditor!,
      account: {
        kind: { $case: 'wallet', value: { network: 'TRX', address: 'TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7' } },
      },
    };
    wallet.amount = { currency: 'USDT', value: '1500.000001' };
    const calls: SettlementInstruction[] = [
      fresh(),
      fresh(),
      validInstruction({
        uetr: rng.uuid(),
        card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '41111111', last4: '1111' },
      }),
      validInstruction({
        uetr: rng.uuid(),
        card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '22001234', last4: '0000' },
      }),
      held,
      cyrillic,
      wallet,
      validInstruction({
        uetr: rng.uuid(),
        amount: { currency: 'RUB', value: String(rng.range(1, 10_000_000)) },
      }),
    ];
    const known = setup.length > 0 ? rng.pick(setup).instruction : null;
    if (known !== null) {
      calls.push(known); // the same UETR and content: answered again, replayed
      calls.push({ ...known, amount: { currency: 'KZT', value: '1.00' } }); // same UETR, other content
    }
    return calls.map((i) => [enc.submit(i)]);
  }

  const knownUetrs = (rng: Rng) => [
    ...setup.map((s) => s.instruction.uetr),
    rng.uuid(),
    rng.uuid().toUpperCase(),
    '',
    '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c',
  ];

  function entrySeeds(rng: Rng): ListEntry[] {
    const n = rng.int(1000);
    return [
      entry({
        id: `fz-name-${n}`,
        kind: EntryKind.ENTRY_KIND_NAME,
        name: rng.pick(ENTRY_NAMES),
        aliases: [{ name: confusable(rng, rng.pick(ENTRY_NAMES)), kind: 'aka' }],
        partyType: PartyType.PARTY_TYPE_PERSON,
        countries: ['RU'],
        programs: ['FUZZ'],
      }),
      entry({ id: `fz-bic-${n}`, kind: EntryKind.ENTRY_KIND_BIC, bic: 'FUZZKZKA' }),
      entry({ id: `fz-iban-${n}`, kind: EntryKind.ENTRY_KIND_IBAN, iban: 'GB82WEST12345698765432' }),
      entry({
        id: `fz-wallet-${n}`,
        kind: EntryKind.ENTRY_KIND_WALLET,
        network: 'ETH',
        address: `0x${rng.bytes(20).toString('hex')}`,
      }),
      entry({
        id: `fz-nid-${n}`,
        kind: EntryKind.ENTRY_KIND_NATIONAL_ID,
        scheme: 'passport',
        country: 'RU',
        value: `${rng.range(1000, 9999)}${rng.range(100000, 999999)}`,
      }),
      entry({
        id: 'MIR',
        kind: EntryKind.ENTRY_KIND_CARD_SCHEME,
        scheme: 'MIR',
        iinRanges: [{ from: '2200', to: '2204' }],
      }),
      entry({ id: 'KP', kind: EntryKind.ENTRY_KIND_JURISDICTION, country: 'KP' }),
    ];
  }

  function importSeeds(rng: Rng): Buffer[][] {
    const header = (format: ListFormat, fileNames: string[], force: boolean) =>
      Buffer.from(
        ImportListRequest.encode({
          part: {
            $case: 'header',
            value: { list: IMPORT_LIST, format, fileNames, force, note: 'fuzz import' },
          },
        }).finish(),
      );
    const chunks = (fileIndex: number, data: Buffer) => {
      const out: Buffer[] = [];
      const size = rng.pick([16, 64, 4096]);
      for (let i = 0; i < data.length; i += size) {
        out.push(
          Buffer.from(
            ImportListRequest.encode({
              part: { $case: 'chunk', value: { fileIndex, data: data.subarray(i, i + size) } },
            }).finish(),
          ),
        );
      }
      return out;
    };
    const csv = Buffer.from(
      [
        'kind,id,ref,name,aliases,type,countries,bic,scheme,iin_ranges,country',
        `name,fz-i1,CASE-1,${rng.pick(ENTRY_NAMES)},aka:${confusable(rng, rng.pick(ENTRY_NAMES))},person,RU,,,,`,
        `bic,,CASE-2,,,,,FUZZKZKA,,,`,
        `card-scheme,,CASE-3,,,,,,MIR,2200-2204,`,
        `jurisdiction,,CASE-4,,,,,,,,KP`,
      ].join('\n') + '\n',
    );
    const jsonl = Buffer.from(
      [
        JSON.stringify({
          kind: 'name',
          id: 'fz-j1',
          name: confusable(rng, rng.pick(ENTRY_NAMES)),
          type: 'entity',
          countries: ['KZ'],
        }),
        JSON.stringify({ kind: 'card-scheme', scheme: 'MIR', iinRanges: ['2200-2204'] }),
      ].join('\n') + '\n',
    );
    return [
      [header(ListFormat.LIST_FORMAT_CSV, ['list.csv'], rng.chance(0.5)), ...chunks(0, csv)],
      [header(ListFormat.LIST_FORMAT_JSON, ['list.jsonl'], true), ...chunks(0, jsonl)],
      [header(ListFormat.LIST_FORMAT_CSV, ['a.csv', 'b.csv'], true), ...chunks(0, csv), ...chunks(1, csv)],
      [header(ListFormat.LIST_FORMAT_OFAC_SDN, ['sdn.csv'], true), ...chunks(0, csv)],
    ];
  }

  const one = (b: Uint8Array) => [Buffer.from(b)];

  function targets() {
    const settlement = serviceTargets(
      schema,
      SETTLEMENT,
      SettlementGatewayService,
      {
        SubmitInstruction: { seeds: submitSeeds, weight: 6, observe: observeSubmit },
        GetInstruction: {
          seeds: (rng) => knownUetrs(rng).map((uetr) => one(GetInstructionRequest.encode({ uetr }).finish())),
          weight: 2,
          observe: observeAll,
        },
        WatchInstruction: {
          seeds: (rng) =>
            knownUetrs(rng).map((uetr) => one(WatchInstructionRequest.encode({ uetr }).finish())),
          weight: 2,
          observe: observeAll,
        },
      },
      participantChoices(HALYK, RAIFFEISEN),
    );
    const compliance = serviceTargets(
      schema,
      COMPLIANCE,
      ComplianceService,
      {
        ImportList: {
          seeds: importSeeds,
          weight: 2,
          observe: observeAll,
          inputLimitBytes: IMPORT_LIMIT_BYTES,
        },
        UpsertEntry: {
          seeds: (rng) =>
            entrySeeds(rng).map((e) =>
              one(
                UpsertEntryRequest.encode({
                  list: rng.chance(0.8) ? UPSERT_LIST : SCREENING_LIST,
                  entry: e,
                  note: 'fuzz',
                }).finish(),
              ),
            ),
          weight: 2,
          observe: observeAll,
        },
        RemoveEntry: {
          seeds: (rng) =>
            [`fz-name-${rng.int(1000)}`, 'MIR', 'KP', 'missing', ''].map((entryId) =>
              one(RemoveEntryRequest.encode({ list: UPSERT_LIST, entryId, note: 'fuzz' }).finish()),
            ),
          weight: 0.8,
          observe: observeAll,
        },
        ListLists: {
          seeds: () => [one(ListListsRequest.encode({}).finish())],
          weight: 0.4,
          observe: observeAll,
        },
        ListVersions: {
          seeds: () =>
            [UPSERT_LIST, SCREENING_LIST, 'missing'].map((list) =>
              one(ListVersionsRequest.encode({ list }).finish()),
            ),
          weight: 0.5,
          observe: observeAll,
        },
        ListEntries: {
          seeds: (rng) =>
            [SCREENING_LIST, UPSERT_LIST, IMPORT_LIST].map((list) =>
              one(
                ListEntriesRequest.encode({
                  list,
                  version: rng.pick(['0', '1', '2', '999999']),
                  pageSize: rng.pick([0, 1, 10, 1000, 100000]),
                  pageToken: rng.pick(['', '0', '17', 'abc']),
                }).finish(),
              ),
            ),
          weight: 0.8,
          observe: observeAll,
        },
        RollbackList: {
          seeds: (rng) =>
            [UPSERT_LIST, IMPORT_LIST].map((list) =>
              one(
                RollbackListRequest.encode({
                  list,
                  toVersion: rng.pick(['0', '1', '2', '3']),
                  note: 'fuzz rollback',
                }).finish(),
              ),
            ),
          weight: 0.8,
          observe: observeAll,
        },
        ScreenParty: {
          seeds: (rng) => {
            const creditor = validInstruction().creditor;
            return [
              one(
                ScreenPartyRequest.encode({
                  party: listedParty(rng, creditor),
                  bics: [],
                  card: undefined,
                  minScore: 0,
                }).finish(),
              ),
              one(
                ScreenPartyRequest.encode({
                  party: creditor,
                  bics: ['FUZZKZKA', HALYK],
                  card: undefined,
                  minScore: 0.5,
                }).finish(),
              ),
              one(
                ScreenPartyRequest.encode({
                  party: undefined,
                  bics: [],
                  card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '22001234', last4: '0000' },
                  minScore: 0,
                }).finish(),
              ),
              one(
                ScreenPartyRequest.encode({
                  party: {
                    name: confusable(rng, rng.pick(ENTRY_NAMES)),
                    country: 'RU',
                    account: undefined,
                    identifiers: [],
                  },
                  bics: [],
                  card: undefined,
                  minScore: rng.pick([0, 0.3, 0.99, 1]),
                }).finish(),
              ),
            ];
          },
          weight: 2.5,
          observe: observeAll,
        },
        ListHolds: {
          seeds: () => [0, 1, 1000].map((pageSize) => one(ListHoldsRequest.encode({ pageSize }).finish())),
          weight: 0.5,
          observe: observeAll,
        },
        DecideHold: {
          seeds: (rng) =>
            [heldUetr, rng.uuid(), ...setup.map((s) => s.instruction.uetr)].map((uetr) =>
              one(
                DecideHoldRequest.encode({
                  uetr,
                  evidence: '',
                  decision: rng.pick([HoldDecision.HOLD_DECISION_RELEASE, HoldDecision.HOLD_DECISION_REJECT]),
                  reasonCode: rng.pick(['', 'RR04', 'NARR']),
                  comment: 'fuzz decision',
                }).finish(),
              ),
            ),
          weight: 1,
          observe: observeAll,
        },
        ListAuditEvents: {
          seeds: (rng) =>
            ['0', '1', '5', '18446744073709551615'].map((afterSequence) =>
              one(
                ListAuditEventsRequest.encode({ afterSequence, limit: rng.pick([0, 1, 10, 1000]) }).finish(),
              ),
            ),
          weight: 0.8,
          observe: observeAll,
        },
        VerifyAuditLog: {
          seeds: () => [one(VerifyAuditLogRequest.encode({}).finish())],
          weight: 0.3,
          observe: observeAll,
        },
      },
      officerChoices(['alice', 'bob'], 'olga'),
    );
    const operations = serviceTargets(
      schema,
      OPERATIONS,
      OperationsService,
      {
        ListRoutes: {
          seeds: () => [one(ListRoutesRequest.encode({}).finish())],
          weight: 0.5,
          observe: observeAll,
        },
        PutRoute: {
          seeds: (rng) =>
            ['fuzz-route-1', 'fuzz-route-2'].map((id) =>
              one(
                PutRouteRequest.encode({
                  route: routeToProto(
                    route(
                      id,
                      [counterparty('fuzz-cp', `127.0.0.1:${rng.range(1, 65535)}`, rng.pick([0, 1000]))],
                      {
                        currency: rng.pick(['USD', 'EUR']),
                        creditorAgent: rng.pick(['', 'GE', 'TBCBGE22']),
                      },
                    ),
                  ),
                }).finish(),
              ),
            ),
          weight: 1,
          observe: observeAll,
        },
        RemoveRoute: {
          seeds: () =>
            ['fuzz-route-1', 'fuzz-route-2', 'missing'].map((id) =>
              one(RemoveRouteRequest.encode({ id }).finish()),
            ),
          weight: 0.7,
          observe: observeAll,
        },
        ListInstructions: {
          seeds: (rng) => [
            one(
              ListInstructionsRequest.encode({
                problems: [
                  InstructionProblem.INSTRUCTION_PROBLEM_FAILED,
                  InstructionProblem.INSTRUCTION_PROBLEM_HELD,
                ],
                stuckAfterMs: rng.pick(['0', '1000', '31536000000']),
                participant: rng.pick(['', HALYK]),
                limit: rng.pick([0, 10, 1000]),
                filter: undefined,
              }).finish(),
            ),
            one(
              ListInstructionsRequest.encode({
                problems: [],
                stuckAfterMs: '0',
                participant: '',
                limit: 50,
                filter: {
                  states: [
                    InstructionState.INSTRUCTION_STATE_ACCEPTED,
                    InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW,
                  ],
                  reasonCodes: rng.pick([[], ['AB05'], ['AG01', 'RR04']]),
                  counterparty: '',
                  since: { seconds: String(Math.floor(Date.now() / 1000) - 3600), nanos: 0 },
                  until: undefined,
                  traceId: rng.chance(0.5) ? '' : rng.bytes(16).toString('hex'),
                },
              }).finish(),
            ),
          ],
          weight: 1,
          observe: observeAll,
        },
        ReplayInstruction: {
          seeds: (rng) =>
            knownUetrs(rng).map((uetr) =>
              one(ReplayInstructionRequest.encode({ uetr, comment: 'INC-0000: fuzz' }).finish()),
            ),
          weight: 0.7,
          observe: observeAll,
        },
        ExplainInstruction: {
          seeds: (rng) =>
            knownUetrs(rng).map((uetr) => one(ExplainInstructionRequest.encode({ uetr }).finish())),
          weight: 0.7,
          observe: observeAll,
        },
      },
      officerChoices(['olga'], 'alice'),
    );
    const all = [
      ...settlement,
      ...compliance,
      ...operations,
      ...healthTargets([SETTLEMENT, COMPLIANCE, OPERATIONS]),
      ...reflectionTargets(
        [
          SETTLEMENT,
          COMPLIANCE,
          OPERATIONS,
          'caravan.settlement.v1.Party',
          'google.rpc.BadRequest',
          'grpc.health.v1.Health',
          'nope.Nothing',
        ],
        [
          'caravan/settlement/v1/gateway.proto',
          'caravan/compliance/v1/compliance.proto',
          'google/protobuf/timestamp.proto',
          'missing.proto',
        ],
      ),
    ];
    const only = process.env.FUZZ_TARGETS;
    return only === undefined || only === '' ? all : all.filter((t) => new RegExp(only).test(t.name));
  }

  before(async function () {
    redis = testRedis();
    await putRoutes(prefix, [catchAllRoute()]);
    server = spawnCaravan(
      ['serve'],
      {
        CARAVAN_DEV_INSECURE: 'true',
        REDIS_URL: TEST_REDIS_URL,
        CARAVAN_REDIS_PREFIX: prefix,
        CARAVAN_LISTEN: '127.0.0.1:0',
        CARAVAN_LOG_LEVEL: 'info',
        CARAVAN_DISPATCHER: 'off',
        CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
        CARAVAN_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
        CARAVAN_LIST_POLL_MS: '500',
        // For diagnosis only, e.g. FUZZ_SERVER_NODE_OPTIONS=--trace-gc (the output is saved below).
        NODE_OPTIONS: process.env.FUZZ_SERVER_NODE_OPTIONS,
      },
      GATEWAY_LISTENING,
      60_000,
    );
    address = `127.0.0.1:${(await server.ready)[1]}`;

    // Lists to screen against: a listed person, a card scheme, a jurisdiction.
    const compliance = complianceClient(address);
    const alice = asOfficer('alice');
    const soon = () => new Date(Date.now() + 30_000);
    await callUnary(
      compliance.upsertEntry.bind(compliance),
      {
        list: SCREENING_LIST,
        entry: entry({
          id: 'listed-person',
          kind: EntryKind.ENTRY_KIND_NAME,
          name: LISTED_PERSON,
          aliases: [{ name: 'Иван Петрович Сидоров', kind: 'aka' }],
          partyType: PartyType.PARTY_TYPE_PERSON,
          countries: ['RU'],
        }),
        note: 'fuzz setup',
      },
      alice,
      soon(),
    );
    await callUnary(
      compliance.upsertEntry.bind(compliance),
      { list: SCREENING_LIST, entry: entrySeeds(new Rng(seed, 0x7fff0000))[5], note: 'fuzz setup' },
      alice,
      soon(),
    );
    // Wait until the gateway screens with them.
    const until = Date.now() + 30_000;
    for (;;) {
      const res = await callUnary(
        compliance.screenParty.bind(compliance),
        {
          party: { name: LISTED_PERSON, country: 'RU', account: undefined, identifiers: [] },
          bics: [],
          card: undefined,
          minScore: 0,
        },
        alice,
        soon(),
      );
      if (res.decision !== ScreeningDecision.SCREENING_DECISION_CLEAR) break;
      if (Date.now() > until) throw new Error('the gateway never screened against the fuzz list');
      await new Promise((r) => setTimeout(r, 200));
    }
    compliance.close();

    // Instructions to read, watch, decide and replay: accepted, held, rejected.
    const client = devClient(address);
    const rng = new Rng(seed, 0x7fff0001);
    const plain = validInstruction({ uetr: rng.uuid() });
    const held = validInstruction({ uetr: rng.uuid() });
    held.creditor = { ...held.creditor!, name: LISTED_PERSON };
    const mir = validInstruction({
      uetr: rng.uuid(),
      card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '22001234', last4: '0000' },
    });
    const other = validInstruction({
      uetr: rng.uuid(),
      debtor: {
        name: 'Қазақ Өнімдері ЖШС',
        country: 'KZ',
        account: { kind: { $case: 'iban', value: 'KZ86125KZT5004100100' } },
        identifiers: [
          { type: IdentifierType.IDENTIFIER_TYPE_KZ_BIN, value: '940140000385', issuerCountry: 'KZ' },
        ],
      },
    });
    for (const instruction of [plain, held, mir, other]) {
      const res = await submit(client, instruction, asParticipant(HALYK), 30_000);
      setup.push({ instruction, state: res.state });
      accepted.add(res.uetr);
      if (res.state === InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW) heldUetr = res.uetr;
    }
    client.close();
    assert.ok(heldUetr !== '', 'the instruction to a listed person was not held');

    before_.instructionRecords = await instructionRecords();
    before_.audit = await redis.xlen(keys.auditLog());
    before_.listSequences = await listSequences();
    before_.routesVersion = await routesVersion();

    console.log(
      `[fuzz gateway] FUZZ_SEED=${seed}, ${onlyCases === null ? `${seconds} s` : `cases ${onlyCases.join(',')}`}, pid ${server.pid}, ${address}, prefix ${prefix}`,
    );
    report = await runFuzz({
      label: 'gateway',
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
    console.log(
      `  SubmitInstruction answers by state: ${[...states.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`,
    );
  });

  after(async function () {
    if (server !== null) await server.stop('SIGKILL');
    if (server !== null && process.env.FUZZ_SERVER_NODE_OPTIONS) {
      const file = join(tmpdir(), `caravan-fuzz-gateway-${seed}.log`);
      writeFileSync(file, server.stdout());
      console.log(`[fuzz gateway] its output: ${file}`);
    }
    if (redis !== undefined) {
      await deleteUnder(redis, prefix);
      redis.disconnect();
    }
  });

  it('keeps the gateway process running and answering health', async function () {
    await checks.stillServing(report, address);
  });

  it('answers every call with a well-formed status: a known code, never INTERNAL or UNKNOWN, details that decode', function () {
    checks.wellFormedAnswers(report);
  });

  it('exercises every method of every service', function () {
    assert.ok(report !== null);
    if (onlyCases !== null) this.skip();
    const missing = targets()
      .map((t) => t.name)
      .filter((name) => !report!.codes.has(name));
    assert.deepEqual(missing, [], 'methods never called');
  });

  it('stores nothing for a refused request', async function () {
    assert.ok(report !== null);
    const found = await keysUnder(redis, prefix);
    const instructionKeys = found
      .map((k) => /:\{p\d+\}:(ins|ev|att|rel):(.*)$/.exec(k))
      .filter((m): m is RegExpExecArray => m !== null);
    const strays = instructionKeys.filter((m) => !accepted.has(m[2])).map((m) => m[0]);
    assert.deepEqual(strays, [], 'instruction keys for UETRs no SubmitInstruction accepted');

    // Partition indexes hold only accepted UETRs too.
    for (let p = 0; p < 16; p++) {
      for (const set of [keys.holds(p), keys.open(p), keys.recent(p)]) {
        const members = await redis.zrange(set, 0, -1);
        assert.deepEqual(
          members.filter((u) => !accepted.has(u)),
          [],
          `${set} lists UETRs that were never accepted`,
        );
      }
      const traced = (await redis.zrange(keys.traces(p), 0, -1)).map((m) => m.slice(m.indexOf(':') + 1));
      assert.deepEqual(
        traced.filter((u) => !accepted.has(u)),
        [],
        `${keys.traces(p)} lists UETRs that were never accepted`,
      );
      const outbox = await redis.xrange(keys.outbox(p), '-', '+');
      const queued = outbox.map(([, f]) => f[f.indexOf('uetr') + 1] ?? '');
      assert.deepEqual(
        queued.filter((u) => !accepted.has(u)),
        [],
        `${keys.outbox(p)} queues UETRs that were never accepted`,
      );
    }

    const records = await instructionRecords();
    const audit = await redis.xlen(keys.auditLog());
    const sequences = await listSequences();
    const version = await routesVersion();
    const ok = (names: string[]) => names.reduce((sum, n) => sum + (okCalls.get(n) ?? 0), 0);
    console.log(
      `  stored: instruction records ${before_.instructionRecords} → ${records} (${accepted.size} distinct UETRs accepted in all), audit events +${audit - before_.audit} for ${ok(AUDITED)} OK changes, list versions +${sequences - before_.listSequences} for ${ok(LIST_CHANGES)} OK list changes, route table version +${version - before_.routesVersion} for ${ok([`${OPERATIONS}/PutRoute`, `${OPERATIONS}/RemoveRoute`])} OK route changes`,
    );
    assert.equal(
      records,
      accepted.size,
      'one instruction record per accepted UETR, none for refused submissions',
    );
    assert.ok(audit - before_.audit <= ok(AUDITED), 'audit events without an OK change behind them');
    const built = LIST_CHANGES.reduce((sum, n) => sum + (versionsBuilt.get(n) ?? 0), 0);
    assert.ok(
      sequences - before_.listSequences <= built,
      'list versions made by calls refused before activation',
    );
    assert.ok(
      version - before_.routesVersion <= ok([`${OPERATIONS}/PutRoute`, `${OPERATIONS}/RemoveRoute`]),
      'route table changes made by refused calls',
    );
  });

  it(`keeps the gateway's memory bounded (RSS growth after warm-up < ${mib(RSS_GROWTH_BOUND)})`, function () {
    if (onlyCases !== null) this.skip();
    checks.memoryBounded(report);
  });

  it('logs no unexpected failure and still accepts a valid instruction afterwards', async function () {
    assert.ok(server !== null);
    checks.noErrorLogs(server);
    const client = devClient(address);
    try {
      const instruction = validInstruction();
      const res = await submit(client, instruction, asParticipant(HALYK), 30_000);
      accepted.add(res.uetr);
      assert.equal(res.uetr, instruction.uetr);
    } finally {
      client.close();
    }
  });
  it('stops cleanly on SIGTERM after the run (nothing left running)', async function () {
    await checks.stopsCleanly(server);
  });
});
