import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { callUnary } from '../../src/cli/grpc-call';
import { EntryKind } from '../../src/gen/caravan/compliance/v1/lists';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { CardScheme, type SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { createReceiverLog } from '../../src/receiver';
import { asOfficer, complianceClient, entry, ROLE_TOKENS_ENV } from '../support/compliance';
import { closedPort, counterparty, route, waitForState } from '../support/delivery';
import { asParticipant, devClient, putRoutes, submit } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { startOtlpSink, type AttributeValue, type ExportedSpan, type OtlpSink } from '../support/otlp';
import { spawnCaravan, type ServerProcess } from '../support/processes';
import { scrape, total, type Sample } from '../support/prometheus';
import { TEST_REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const PARTICIPANT = 'HSBKKZKX';
const FAST_BANK = 'RZBMRUMM';
const SLOW_BANK = 'SABRRUMM';
/** Longer than the claim idle bound below, so the first dispatcher dies with the call in flight. */
const SLOW_DELAY_MS = 20_000;
const CLAIM_IDLE_MS = 1_500;
const LIST = 'telemetry-test';
/** A valid IBAN put on the test's sanctions list: the instruction paying from it is rejected (RR04). */
const LISTED_IBAN = 'GB82WEST12345698765432';

const GATEWAY_LISTENING = /"port":(\d+).*"msg":"caravan gateway listening"/;
const DISPATCHER_RUNNING = /"msg":"caravan dispatcher running"/;
const RECEIVER_LISTENING = /"port":(\d+).*"msg":"caravan receiver listening"/;

interface Running {
  role: string;
  process: ServerProcess;
  metricsPort: number;
}

/** A W3C traceparent of a span of the test's own (the bank's client), sampled. */
function clientSpan(): { traceId: string; spanId: string; metadata: Metadata } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const metadata = asParticipant(PARTICIPANT);
  metadata.set('traceparent', `00-${traceId}-${spanId}-01`);
  return { traceId, spanId, metadata };
}

/** An instruction whose party names are unique to it, so a leak is traced to the instruction. */
function instruction(tag: string, overrides: Partial<SettlementInstruction> = {}): SettlementInstruction {
  const i = validInstruction(overrides);
  i.debtor!.name = `TOO Aral Telemetry ${tag} Trading`;
  i.creditor!.name = `OOO Kama Telemetry ${tag} Supplies`;
  i.remittanceInformation = `Invoice for ${tag} pipes to Kama Telemetry`;
  return i;
}

/** Everything about the parties that must never reach a span or a log line. */
function secretsOf(i: SettlementInstruction): string[] {
  const secrets: string[] = [i.remittanceInformation];
  for (const party of [i.debtor, i.creditor]) {
    if (party === undefined) continue;
    secrets.push(party.name, ...(party.identifiers ?? []).map((id) => id.value));
    const kind = party.account?.kind;
    if (kind?.$case === 'iban' || kind?.$case === 'accountNumber') secrets.push(kind.value);
    if (kind?.$case === 'wallet') secrets.push(kind.value.address);
  }
  // The last four digits alone are any 4-digit number (a port, a count); the BIN is distinctive.
  if (i.card !== undefined) secrets.push(i.card.bin, `${i.card.bin}${i.card.last4}`);
  return secrets.filter((s) => s !== '');
}

/** Every string an exported span carries: attribute values, event names and attributes, status. */
function stringsOf(span: ExportedSpan): string[] {
  const flat = (v: AttributeValue): string[] =>
    Array.isArray(v)
      ? v.flatMap(flat)
      : typeof v === 'object'
        ? Object.entries(v).flatMap(([k, x]) => [k, ...flat(x)])
        : [String(v)];
  const attributes = (a: Record<string, AttributeValue>) =>
    Object.entries(a).flatMap(([k, v]) => [k, ...flat(v)]);
  return [
    span.name,
    span.status.message,
    ...attributes(span.attributes),
    ...attributes(span.resource),
    ...span.events.flatMap((e) => [e.name, ...attributes(e.attributes)]),
  ];
}

describe('telemetry end to end: gateway, dispatcher and receiver processes exporting OTLP', function () {
  this.timeout(240_000);
  let sink: OtlpSink;
  let redis: Redis;
  const prefix = uniquePrefix('telemetry');
  const running: Running[] = [];
  const finished: { role: string; output: string }[] = [];
  const sent: SettlementInstruction[] = [];
  let client: SettlementGatewayClient;
  let gateway: Running;
  let dispatcher: Running;
  let listedAtMs = 0;
  let address = '';

  const env = async (extra: Record<string, string>) => {
    const metricsPort = await closedPort();
    return {
      metricsPort,
      env: {
        CARAVAN_DEV_INSECURE: 'true',
        REDIS_URL: TEST_REDIS_URL,
        CARAVAN_REDIS_PREFIX: prefix,
        CARAVAN_LOG_LEVEL: 'debug',
        OTEL_SERVICE_NAME: undefined,
        OTEL_RESOURCE_ATTRIBUTES: undefined,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        ...extra,
      },
    };
  };
  const start = async (role: string, args: string[], ready: RegExp, extra: Record<string, string> = {}) => {
    const { env: e, metricsPort } = await env(extra);
    const child = spawnCaravan(args, e, ready, 60_000);
    const r = { role, process: child, metricsPort };
    running.push(r);
    return { running: r, match: await child.ready };
  };
  const startReceiver = async (name: string, delayMs: number) => {
    const { match } = await start(
      `receiver-${name}`,
      ['receiver', '--name', name, '--listen', '127.0.0.1:0', '--delay-ms', String(delayMs)],
      RECEIVER_LISTENING,
    );
    return `127.0.0.1:${match[1]}`;
  };
  const startDispatcher = async (role: string) =>
    (
      await start(role, ['dispatch'], DISPATCHER_RUNNING, {
        CARAVAN_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
        CARAVAN_DELIVERY_DEADLINE_MS: '60000',
      })
    ).running;
  const stop = async (r: Running, signal: NodeJS.Signals) => {
    const ended = await r.process.stop(signal);
    running.splice(running.indexOf(r), 1);
    finished.push({ role: r.role, output: r.process.stdout() + ended.stderr });
    return ended;
  };
  const submitted = async (i: SettlementInstruction, metadata: Metadata) => {
    sent.push(i);
    return submit(client, i, metadata, 30_000);
  };
  const delivered = (uetr: string) =>
    waitForState(
      client,
      uetr,
      asParticipant(PARTICIPANT),
      InstructionState.INSTRUCTION_STATE_DELIVERED,
      60_000,
    );
  const inTrace = (traceId: string) => sink.spans().filter((s) => s.traceId === traceId);
  const one = (spans: readonly ExportedSpan[], what: string, match: (s: ExportedSpan) => boolean) => {
    const found = spans.filter(match);
    assert.equal(found.length, 1, `exactly one ${what}; found ${found.length}`);
    return found[0];
  };
  const service = (s: ExportedSpan) => {
    const name = s.resource['service.name'];
    return typeof name === 'string' ? name : '';
  };
  const rpc = (method: string) => (s: ExportedSpan) => s.attributes['rpc.method'] === method;

  before(async () => {
    redis = testRedis();
    sink = await startOtlpSink();
    const fast = await startReceiver('fast-bank', 0);
    const slow = await startReceiver('slow-bank', SLOW_DELAY_MS);
    await putRoutes(prefix, [
      route('ru-fast', [counterparty('fast-bank', fast)], { creditorAgent: FAST_BANK }),
      route('ru-slow', [counterparty('slow-bank', slow)], { creditorAgent: SLOW_BANK }),
    ]);
    const started = await start('gateway', ['serve'], GATEWAY_LISTENING, {
      CARAVAN_LISTEN: '127.0.0.1:0',
      CARAVAN_DISPATCHER: 'off',
      CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV,
      CARAVAN_LIST_POLL_MS: '200',
    });
    gateway = started.running;
    address = `127.0.0.1:${started.match[1]}`;
    client = devClient(address);
    dispatcher = await startDispatcher('dispatcher-1');

    listedAtMs = Date.now();
    const compliance = complianceClient(address);
    try {
      await callUnary(
        compliance.upsertEntry.bind(compliance),
        {
          list: LIST,
          entry: entry({
            id: 'listed-iban',
            kind: EntryKind.ENTRY_KIND_IBAN,
            iban: LISTED_IBAN,
            subject: 'test',
          }),
          note: 'telemetry test',
        },
        asOfficer('alice'),
        new Date(Date.now() + 30_000),
      );
    } finally {
      compliance.close();
    }
  });

  after(async () => {
    client?.close();
    for (const r of [...running]) await stop(r, 'SIGKILL');
    await sink?.close();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it("puts one instruction's hops, from the bank's client to the receiver, in one trace with the right parents", async () => {
    const bank = clientSpan();
    const i = instruction('one');
    const answer = await submitted(i, bank.metadata);
    assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(answer.traceId, bank.traceId, 'the submission continues the client trace');
    await delivered(i.uetr);
    await sink.waitFor('receiver and dispatcher spans', (spans) => {
      const t = spans.filter((s) => s.traceId === bank.traceId);
      return (
        t.some((s) => service(s) === 'caravan-receiver' && s.kind === 'SERVER') &&
        t.some((s) => s.name === 'caravan.dispatch')
      );
    });
    const trace = inTrace(bank.traceId);
    const gw = trace.filter((s) => service(s) === 'caravan-gateway');
    const disp = trace.filter((s) => service(s) === 'caravan-dispatcher');
    const recv = trace.filter((s) => service(s) === 'caravan-receiver');

    // The gateway: one SERVER span (the grpc-js instrumentation's, with Caravan's attributes).
    const server = one(gw, 'gateway SERVER span', (s) => s.kind === 'SERVER');
    assert.equal(server.parentSpanId, bank.spanId, "the gateway's span is a child of the client's");
    assert.deepEqual(
      [server.attributes['rpc.system'], server.attributes['rpc.service'], server.attributes['rpc.method']],
      ['grpc', 'caravan.settlement.v1.SettlementGateway', 'SubmitInstruction'],
    );
    assert.equal(server.attributes['rpc.grpc.status_code'], 0);
    assert.equal(server.attributes['caravan.uetr'], i.uetr);
    assert.equal(server.attributes['caravan.participant'], PARTICIPANT);
    assert.equal(server.attributes['caravan.state'], 'ACCEPTED');
    for (const step of ['caravan.validate', 'caravan.screen', 'caravan.record']) {
      assert.equal(
        one(gw, step, (s) => s.name === step).parentSpanId,
        server.spanId,
        `${step} under the call`,
      );
    }
    const record = one(gw, 'caravan.record', (s) => s.name === 'caravan.record');
    const recordRedis = gw.filter((s) => s.parentSpanId === record.spanId);
    assert.ok(recordRedis.length >= 1, 'the record step has its Redis command span');
    for (const r of gw.concat(disp, recv).filter((s) => s.attributes['db.system.name'] === 'redis')) {
      assert.equal(r.kind, 'CLIENT');
      assert.equal(r.attributes['db.query.text'], r.name, 'the statement is the command name alone');
      assert.equal(r.attributes['server.address'], '127.0.0.1');
    }

    // The dispatcher, in its own process: a child of the submission's span, stored with the entry.
    const dispatch = one(disp, 'caravan.dispatch', (s) => s.name === 'caravan.dispatch');
    assert.equal(dispatch.kind, 'CONSUMER');
    assert.equal(dispatch.parentSpanId, server.spanId);
    assert.equal(dispatch.attributes['caravan.uetr'], i.uetr);
    assert.equal(dispatch.attributes['caravan.participant'], PARTICIPANT);
    assert.equal(dispatch.attributes['caravan.state'], 'DELIVERED');
    assert.equal(dispatch.attributes['messaging.consumer.group.name'], 'dispatch');
    const claim = one(disp, 'caravan.outbox.claim', (s) => s.name === 'caravan.outbox.claim');
    assert.equal(claim.parentSpanId, dispatch.spanId);
    assert.equal(claim.attributes['caravan.claim'], 'read');
    assert.ok(
      disp.some((s) => s.parentSpanId === claim.spanId && s.attributes['db.system.name'] === 'redis'),
      'reading the claimed instruction shows its Redis commands',
    );
    const routeSpan = one(disp, 'caravan.route', (s) => s.name === 'caravan.route');
    assert.equal(routeSpan.parentSpanId, dispatch.spanId);
    assert.equal(routeSpan.attributes['caravan.route'], 'ru-fast');
    const attempt = one(
      trace,
      'DeliverInstruction CLIENT span',
      (s) => s.kind === 'CLIENT' && rpc('DeliverInstruction')(s),
    );
    assert.equal(service(attempt), 'caravan-dispatcher');
    assert.equal(attempt.parentSpanId, dispatch.spanId);
    assert.equal(attempt.attributes['caravan.attempt'], 1);
    assert.equal(attempt.attributes['caravan.counterparty'], 'fast-bank');
    assert.equal(attempt.attributes['caravan.outcome'], 'accepted');
    assert.equal(attempt.attributes['server.address'], '127.0.0.1');

    // The receiver continues the attempt's context sent as gRPC metadata.
    const received = one(recv, 'receiver SERVER span', (s) => s.kind === 'SERVER');
    assert.equal(received.parentSpanId, attempt.spanId);
    assert.equal(received.attributes['rpc.method'], 'DeliverInstruction');
    assert.equal(received.attributes['caravan.uetr'], i.uetr);
    assert.ok(
      recv.some((s) => s.parentSpanId === received.spanId && s.attributes['db.system.name'] === 'redis'),
      "the receiver's Redis command is under its call",
    );

    const ids = new Set(trace.map((s) => s.spanId).concat(bank.spanId));
    for (const s of trace) assert.ok(ids.has(s.parentSpanId), `${s.name} has its parent in the trace`);
  });

  it('keeps the trace across a dispatcher killed mid-delivery: the next dispatcher joins it', async () => {
    const bank = clientSpan();
    const i = instruction('restart', { creditorAgent: { bic: SLOW_BANK } });
    assert.equal((await submitted(i, bank.metadata)).state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    const first = dispatcher.process.pid;
    const log = createReceiverLog(redis, prefix, 'slow-bank');
    while ((await log.deliveries(i.uetr)) === 0) await new Promise((r) => setTimeout(r, 50));
    await sink.waitFor("the first dispatcher's claim span", (spans) =>
      spans.some(
        (s) =>
          s.traceId === bank.traceId &&
          s.name === 'caravan.outbox.claim' &&
          s.resource['process.pid'] === first,
      ),
    );
    await stop(dispatcher, 'SIGKILL');
    dispatcher = await startDispatcher('dispatcher-2');
    await delivered(i.uetr);
    const second = dispatcher.process.pid;
    await sink.waitFor("the second dispatcher's dispatch span and the receiver's answer", (spans) => {
      const t = spans.filter((s) => s.traceId === bank.traceId);
      return (
        t.some((s) => s.name === 'caravan.dispatch' && s.resource['process.pid'] === second) &&
        t.some((s) => service(s) === 'caravan-receiver' && s.attributes['caravan.attempt'] === 2)
      );
    });

    const trace = inTrace(bank.traceId);
    const server = one(
      trace,
      'gateway SERVER span',
      (s) => service(s) === 'caravan-gateway' && s.kind === 'SERVER',
    );
    assert.equal(server.parentSpanId, bank.spanId);
    const before = trace.filter((s) => s.resource['process.pid'] === first);
    const after = trace.filter((s) => s.resource['process.pid'] === second);
    const claim1 = one(before, 'first claim', (s) => s.name === 'caravan.outbox.claim');
    assert.equal(claim1.attributes['caravan.claim'], 'read');

    const dispatch = one(after, 'second caravan.dispatch', (s) => s.name === 'caravan.dispatch');
    assert.equal(dispatch.parentSpanId, server.spanId, 'the second dispatcher continues the stored context');
    const claim2 = one(after, 'second claim', (s) => s.name === 'caravan.outbox.claim');
    assert.equal(claim2.parentSpanId, dispatch.spanId);
    assert.equal(claim2.attributes['caravan.claim'], 'takeover');
    const attempt = one(after, 'second attempt', (s) => s.kind === 'CLIENT' && rpc('DeliverInstruction')(s));
    assert.equal(attempt.parentSpanId, dispatch.spanId);
    assert.equal(attempt.attributes['caravan.attempt'], 2);
    assert.equal(attempt.attributes['caravan.outcome'], 'accepted');
    const answered = one(
      trace,
      'receiver span of attempt 2',
      (s) => service(s) === 'caravan-receiver' && s.attributes['caravan.attempt'] === 2,
    );
    assert.equal(answered.parentSpanId, attempt.spanId);

    // The retry is counted against the counterparty by the dispatcher that made it.
    const metrics = await scrape(dispatcher.metricsPort);
    assert.equal(total(metrics, 'caravan_delivery_retries_total', { caravan_counterparty: 'slow-bank' }), 1);
    assert.equal(total(metrics, 'caravan_instructions_total', { caravan_state: 'DELIVERED' }), 1);
  });

  it('counts a known workload: instructions by state and reason, latency histograms, outbox and circuits', async () => {
    const beforeGateway = await scrape(gateway.metricsPort);
    const beforeDispatcher = await scrape(dispatcher.metricsPort);
    const accepted = [
      instruction('metrics-a'),
      instruction('metrics-b'),
      instruction('metrics-c', {
        card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '45398217', last4: '8263' },
      }),
    ];
    accepted[2].creditor!.account = {
      kind: {
        $case: 'wallet',
        value: { network: 'ETH', address: '0x5aeda56215b167893e80b4fe645ba6d5bab767de' },
      },
    };
    const rejected = instruction('metrics-rejected');
    rejected.debtor!.account = { kind: { $case: 'iban', value: LISTED_IBAN } };
    for (const i of accepted) {
      assert.equal(
        (await submitted(i, asParticipant(PARTICIPANT))).state,
        InstructionState.INSTRUCTION_STATE_ACCEPTED,
      );
    }
    const refusal = await submitted(rejected, asParticipant(PARTICIPANT));
    assert.equal(refusal.state, InstructionState.INSTRUCTION_STATE_REJECTED);
    assert.equal(refusal.reason?.code, 'RR04');
    for (const i of accepted) await delivered(i.uetr);
    // A second version of the list after the first was exported: its age replaces the first's.
    const compliance = complianceClient(address);
    try {
      await callUnary(
        compliance.upsertEntry.bind(compliance),
        {
          list: LIST,
          entry: entry({ id: 'second', kind: EntryKind.ENTRY_KIND_BIC, bic: 'ZZZZKZKA', subject: 'test' }),
          note: 'telemetry test: a second version',
        },
        asOfficer('alice'),
        new Date(Date.now() + 30_000),
      );
    } finally {
      compliance.close();
    }

    const g = await scrape(gateway.metricsPort);
    const d = await scrape(dispatcher.metricsPort);
    const delta = (after: Sample[], before: Sample[], name: string, labels: Record<string, string>) =>
      total(after, name, labels) - total(before, name, labels);
    assert.equal(delta(g, beforeGateway, 'caravan_instructions_total', { caravan_state: 'ACCEPTED' }), 3);
    assert.equal(
      delta(g, beforeGateway, 'caravan_instructions_total', {
        caravan_state: 'REJECTED',
        caravan_reason: 'RR04',
      }),
      1,
    );
    assert.equal(delta(g, beforeGateway, 'caravan_intake_duration_count', { caravan_state: 'ACCEPTED' }), 3);
    assert.equal(delta(g, beforeGateway, 'caravan_intake_duration_count', { caravan_state: 'REJECTED' }), 1);
    assert.equal(
      delta(g, beforeGateway, 'caravan_intake_duration_bucket', { caravan_state: 'ACCEPTED', le: '+Inf' }),
      3,
    );
    const age = g.filter((s) => s.name === 'caravan_list_version_age' && s.labels.caravan_list === LIST);
    assert.equal(age.length, 1, 'one age for the current version of the list');
    const sinceListed = (Date.now() - listedAtMs) / 1000;
    assert.ok(age[0].value >= 0 && age[0].value <= sinceListed, `list version age ${age[0].value} s`);

    assert.equal(delta(d, beforeDispatcher, 'caravan_instructions_total', { caravan_state: 'DELIVERED' }), 3);
    const fast = { caravan_counterparty: 'fast-bank' };
    assert.equal(
      delta(d, beforeDispatcher, 'caravan_delivery_attempt_duration_count', {
        ...fast,
        caravan_outcome: 'accepted',
      }),
      3,
    );
    assert.equal(delta(d, beforeDispatcher, 'caravan_delivery_latency_count', fast), 3);
    assert.equal(delta(d, beforeDispatcher, 'caravan_delivery_latency_bucket', { ...fast, le: '+Inf' }), 3);
    assert.equal(delta(d, beforeDispatcher, 'caravan_delivery_retries_total', fast), 0);
    const lag = d.filter((s) => s.name === 'caravan_outbox_lag');
    assert.equal(lag.length, 16 * 2, 'unread and pending for each of the 16 partitions');
    assert.equal(
      lag.reduce((sum, s) => sum + s.value, 0),
      0,
      'nothing left in the outbox',
    );
    const circuits = d.filter((s) => s.name === 'caravan_delivery_circuit_state');
    assert.deepEqual(
      circuits.map((s) => [s.labels.caravan_counterparty, s.value]).sort(),
      [
        ['fast-bank', 0],
        ['slow-bank', 0],
      ],
      'one closed circuit per counterparty this dispatcher called',
    );
  });

  it('never exports or logs a party name, account, wallet or card number', async () => {
    // A graceful stop flushes what each process still holds; then everything exported is here.
    for (const r of [...running])
      assert.equal((await stop(r, 'SIGTERM')).code, 0, `${r.role} stopped cleanly`);
    const spans = sink.spans();
    assert.deepEqual(sink.requests().rejected, []);
    const secrets = sent
      .flatMap(secretsOf)
      .concat(LISTED_IBAN)
      .map((s) => s.toLowerCase());
    assert.ok(
      secrets.some((s) => s.startsWith('0x')) && secrets.includes('45398217'),
      'a wallet and a card were sent',
    );
    const exported = spans.map((s) => ({
      where: `${service(s)} span ${s.name}`,
      text: stringsOf(s).join('\n'),
    }));
    const logged = finished.map((f) => ({ where: `${f.role} output`, text: f.output }));
    // The walk does see what it looks for: every UETR sent is in both spans and logs.
    for (const i of sent) {
      assert.ok(
        exported.some((e) => e.text.includes(i.uetr)),
        `${i.uetr} in a span`,
      );
      assert.ok(
        logged.some((l) => l.text.includes(i.uetr)),
        `${i.uetr} in a log line`,
      );
    }
    const leaks = exported.concat(logged).flatMap(({ where, text }) => {
      const haystack = text.toLowerCase();
      return secrets.filter((s) => haystack.includes(s)).map((s) => `${where}: ${s}`);
    });
    assert.deepEqual(leaks, []);
    assert.ok(spans.length > 50, `${spans.length} spans walked`);
  });
});
