import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { Metadata, credentials, status, type ChannelCredentials } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import {
  DeliverInstructionRequest,
  SettlementReceiverClient,
  type DeliverInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/receiver';
import type { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../src/gen/grpc/health/v1/health';
import { MAX_INSTRUCTION_REQUEST_BYTES } from '../../src/grpc/request-limits';
import { decodeStatusDetails } from '../../src/grpc/status';
import {
  answerFor,
  createReceiverLog,
  loadReceiverConfig,
  startReceiver,
  type ReceiverLog,
  type ReceiverSettings,
  type RunningReceiver,
} from '../../src/receiver';
import { createLogger } from '../../src/telemetry/logger';
import { createTestPki, type CertificateFiles, type TestPki } from '../support/certificates';
import { grpcError } from '../support/gateway';
import { samples, validInstruction } from '../support/instructions';
import { rawUnary } from '../support/raw-grpc';
import { TEST_REDIS_URL, deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';

const DELIVER = '/caravan.settlement.v1.SettlementReceiver/DeliverInstruction';

interface TestReceiver {
  name: string;
  receiver: RunningReceiver;
  address: string;
  client: SettlementReceiverClient;
  log: ReceiverLog;
  /** The receiver's log lines, parsed. */
  lines: Record<string, unknown>[];
}

function deliver(
  client: SettlementReceiverClient,
  instruction: SettlementInstruction | undefined,
  attempt: number,
  deadlineMs = 5_000,
): Promise<DeliverInstructionResponse> {
  return new Promise((resolve, reject) =>
    client.deliverInstruction(
      { instruction, attempt },
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

function healthOf(address: string, service: string): Promise<HealthCheckResponse_ServingStatus> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A TCP relay to the test Redis that the test can cut, to play a Redis outage. */
async function redisRelay(): Promise<{ url: string; cut(): Promise<void> }> {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no relay port');
  const url = new URL(TEST_REDIS_URL);
  url.host = `127.0.0.1:${address.port}`;
  return {
    url: url.toString(),
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe('reference receiver (caravan.settlement.v1.SettlementReceiver)', function () {
  const prefix = uniquePrefix('receiver');
  let redis: Redis;
  const running: TestReceiver[] = [];
  let receivers = 0;

  before(function () {
    redis = testRedis();
  });

  afterEach(async function () {
    for (const r of running.splice(0)) {
      r.client.close();
      await r.receiver.stop();
    }
  });

  after(async function () {
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  /** A receiver with a name of its own, so each test reads only its own records. */
  async function start(
    settings: ReceiverSettings = {},
    options: { env?: Record<string, string>; name?: string; creds?: ChannelCredentials } = {},
  ): Promise<TestReceiver> {
    receivers += 1;
    const name = options.name ?? `r${receivers}`;
    const config = loadReceiverConfig(
      { bic: 'RZBMRUMM', name, listen: '127.0.0.1:0', redisUrl: TEST_REDIS_URL, prefix, ...settings },
      { CARAVAN_DEV_INSECURE: 'true', ...options.env },
    );
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
    const receiver = await startReceiver({ config, log });
    const address = `127.0.0.1:${receiver.port}`;
    const client = new SettlementReceiverClient(address, options.creds ?? credentials.createInsecure(), {
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
    });
    const started = { name, receiver, address, client, log: createReceiverLog(redis, prefix, name), lines };
    running.push(started);
    return started;
  }

  async function keysOf(r: TestReceiver): Promise<string[]> {
    return keysUnder(redis, `${prefix}:{recv:${r.name}}`);
  }

  it('accepts and records the first delivery of a UETR, and serves health', async function () {
    const r = await start();
    const instruction = validInstruction();
    const before = Date.now();

    const answer = await deliver(r.client, instruction, 1);

    assert.deepEqual(answer, { accepted: true, reason: undefined });
    const receipts = await r.log.received();
    assert.equal(receipts.length, 1);
    const [receipt] = receipts;
    assert.deepEqual(
      { ...receipt, atMs: 0 },
      {
        uetr: instruction.uetr,
        attempt: 1,
        accepted: true,
        code: '',
        atMs: 0,
      },
    );
    assert.ok(receipt.atMs >= before && receipt.atMs <= Date.now(), `atMs ${receipt.atMs}`);
    assert.equal(await r.log.deliveries(instruction.uetr), 1);
    assert.deepEqual(await r.log.counts(), { received: 1, accepted: 1, rejected: 0, deliveries: 1 });
    assert.equal(
      await healthOf(r.address, 'caravan.settlement.v1.SettlementReceiver'),
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it('answers a repeated delivery like the first: one receipt, the delivery counter grows', async function () {
    const r = await start({ rejectShare: 1, rejectCode: 'AC06' });
    const instruction = validInstruction();

    const first = await deliver(r.client, instruction, 1);
    const second = await deliver(r.client, instruction, 2);
    const third = await deliver(r.client, instruction, 2);

    assert.equal(first.accepted, false);
    assert.deepEqual(second, first);
    assert.deepEqual(third, first);
    const receipts = await r.log.received();
    assert.equal(receipts.length, 1);
    assert.equal(receipts[0].attempt, 1, 'the receipt is the first delivery');
    assert.equal(await r.log.deliveries(instruction.uetr), 3);
    assert.deepEqual(await r.log.counts(), { received: 1, accepted: 0, rejected: 1, deliveries: 3 });
  });

  describe('reject share', function () {
    it('at 1 refuses every UETR with the configured ISO code, and records the refusal', async function () {
      const r = await start({ rejectShare: '1', rejectCode: 'AM04' });
      const instruction = validInstruction();

      const answer = await deliver(r.client, instruction, 1);

      assert.equal(answer.accepted, false);
      assert.equal(answer.reason?.code, 'AM04');
      assert.match(answer.reason?.description ?? '', /reference receiver/);
      const [receipt] = await r.log.received();
      assert.equal(receipt.accepted, false);
      assert.equal(receipt.code, 'AM04');
    });

    it('at 0 (the default) accepts every UETR', async function () {
      const r = await start();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => deliver(r.client, validInstruction(), 1)),
      );
      assert.ok(answers.every((a) => a.accepted));
    });

    it('picks the refused UETRs by the UETR alone: the same answer every time, on every receiver', async function () {
      const settings = { rejectShare: 0.5, rejectCode: 'AC04' };
      const one = await start(settings);
      const other = await start(settings);
      const instructions = Array.from({ length: 30 }, () => validInstruction());

      for (const instruction of instructions) {
        const expected = answerFor(instruction.uetr, { ...settings, failShare: 0, delayMs: 0, hangShare: 0 });
        const answers = [
          await deliver(one.client, instruction, 1),
          await deliver(one.client, instruction, 2),
          await deliver(other.client, instruction, 1),
        ];
        for (const answer of answers) assert.equal(answer.accepted, expected.accepted, instruction.uetr);
      }
      const accepted = (await one.log.received()).filter((receipt) => receipt.accepted).length;
      assert.ok(accepted > 0 && accepted < 30, `${accepted} of 30 accepted: both answers occur at 0.5`);
    });

    it('keeps the recorded answer when the receiver restarts with another reject share', async function () {
      const refusing = await start({ rejectShare: 1 }, { name: 'restarted' });
      const instruction = validInstruction();
      assert.equal((await deliver(refusing.client, instruction, 1)).accepted, false);
      refusing.client.close();
      await refusing.receiver.stop();
      running.splice(running.indexOf(refusing), 1);

      const accepting = await start({ rejectShare: 0 }, { name: 'restarted' });

      const retry = await deliver(accepting.client, instruction, 2);
      assert.equal(retry.accepted, false);
      assert.equal(retry.reason?.code, 'AC04');
      assert.equal((await deliver(accepting.client, validInstruction(), 1)).accepted, true);
      assert.equal(await accepting.log.deliveries(instruction.uetr), 2);
    });
  });

  it('at fail share 1 answers UNAVAILABLE with RetryInfo and records nothing', async function () {
    const r = await start({ failShare: 1 });
    const instruction = validInstruction();

    const err = await grpcError(deliver(r.client, instruction, 1));

    assert.equal(err.code, status.UNAVAILABLE, err.message);
    assert.ok(decodeStatusDetails(err.metadata).retryInfo, 'RetryInfo tells the dispatcher to retry');
    assert.deepEqual(await keysOf(r), []);
  });

  it('records a delivery before its delay: a caller past its deadline gets the answer on retry', async function () {
    const r = await start({ delayMs: 3_000 });
    const instruction = validInstruction();

    const late = await grpcError(deliver(r.client, instruction, 1, 300));

    assert.equal(late.code, status.DEADLINE_EXCEEDED, late.message);
    const receipts = await r.log.received();
    assert.deepEqual(
      receipts.map((receipt) => [receipt.uetr, receipt.attempt, receipt.accepted]),
      [[instruction.uetr, 1, true]],
    );
    // A deadline far shorter than the delay: the retry is answered from the record, not delayed.
    assert.equal((await deliver(r.client, instruction, 2, 1_000)).accepted, true);
    assert.equal((await r.log.received()).length, 1);
    assert.equal(await r.log.deliveries(instruction.uetr), 2);
  });

  describe('hang share', function () {
    it('at 1 records a first delivery and never answers it; the retry gets the recorded answer', async function () {
      const r = await start({ hangShare: 1 });
      const instruction = validInstruction();

      const hung = await grpcError(deliver(r.client, instruction, 1, 300));

      assert.equal(hung.code, status.DEADLINE_EXCEEDED, hung.message);
      assert.equal((await r.log.received()).length, 1);
      assert.equal((await deliver(r.client, instruction, 2, 1_000)).accepted, true);
      assert.equal((await r.log.received()).length, 1);
      assert.equal(await r.log.deliveries(instruction.uetr), 2);
    });

    it('does not hold up a stop: a hung call is answered UNAVAILABLE and stop returns', async function () {
      const r = await start({ hangShare: 1 });
      const instruction = validInstruction();
      const call = grpcError(deliver(r.client, instruction, 1, 30_000));
      await until(
        async () => (await r.log.deliveries(instruction.uetr)) === 1,
        'the delivery to be recorded',
      );

      await r.receiver.stop();

      const err = await call;
      assert.equal(err.code, status.UNAVAILABLE, err.message);
      assert.match(err.details, /recorded/);
    });
  });

  describe('hostile requests', function () {
    let r: TestReceiver;
    beforeEach(async function () {
      r = await start();
    });

    async function refusal(body: Buffer): Promise<string[]> {
      const err = await grpcError(rawUnary(r.address, DELIVER, body, new Metadata()));
      assert.equal(err.code, status.INVALID_ARGUMENT, err.message);
      return decodeStatusDetails(err.metadata).badRequest?.fieldViolations.map((v) => v.field) ?? [];
    }

    const encode = (request: DeliverInstructionRequest) =>
      Buffer.from(DeliverInstructionRequest.encode(request).finish());

    it('refuses bytes that are not a DeliverInstructionRequest, recording nothing', async function () {
      const valid = encode({ instruction: validInstruction(), attempt: 1 });
      assert.deepEqual(
        await refusal(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
        [''],
      );
      assert.deepEqual(await refusal(valid.subarray(0, valid.length - 7)), ['']);
      assert.deepEqual(await refusal(Buffer.from([0x0a, 0xf0, 0xff, 0xff, 0xff, 0x0f])), ['']);
      assert.deepEqual(await keysOf(r), []);
    });

    it('refuses a request without an instruction, UETR or attempt, naming each field', async function () {
      assert.deepEqual(await refusal(Buffer.alloc(0)), ['instruction', 'attempt']);
      assert.deepEqual(await refusal(encode({ instruction: validInstruction({ uetr: '' }), attempt: 1 })), [
        'instruction.uetr',
      ]);
      assert.deepEqual(await refusal(encode({ instruction: validInstruction(), attempt: 0 })), ['attempt']);
      assert.deepEqual(await keysOf(r), []);
    });

    it('refuses a UETR that is not a lower-case UUID v4, however large, and never logs it', async function () {
      const bad = [
        randomUUID().toUpperCase(),
        '6ba7b810-9dad-11d1-80b4-00c04fd430c8', // version 1
        'TOO Caravan Test Trading',
        // As large as the request size limit lets a field be (larger requests are refused whole).
        'x'.repeat(12 * 1024),
      ];
      for (const uetr of bad) {
        assert.deepEqual(await refusal(encode({ instruction: validInstruction({ uetr }), attempt: 1 })), [
          'instruction.uetr',
        ]);
      }
      assert.deepEqual(await keysOf(r), []);
      const logged = JSON.stringify(r.lines);
      assert.ok(!logged.includes('TOO Caravan') && !logged.includes('xxxxxxxx'), logged.slice(0, 500));
    });

    it('refuses a message over its 4 MiB limit with RESOURCE_EXHAUSTED, recording nothing', async function () {
      const huge = encode({
        instruction: validInstruction({ remittanceInformation: 'x'.repeat(4 * 1024 * 1024) }),
        attempt: 1,
      });
      const err = await grpcError(rawUnary(r.address, DELIVER, huge, new Metadata()));
      assert.equal(err.code, status.RESOURCE_EXHAUSTED, err.message);
      assert.deepEqual(await keysOf(r), []);
    });

    it('refuses a request over the instruction size limit before decoding it, recording nothing', async function () {
      const instruction = validInstruction();
      instruction.debtor!.identifiers = Array.from({ length: 2_000 }, () => ({
        ...instruction.debtor!.identifiers[0],
      }));
      const body = encode({ instruction, attempt: 1 });
      assert.ok(body.length > MAX_INSTRUCTION_REQUEST_BYTES);
      const err = await grpcError(rawUnary(r.address, DELIVER, body, new Metadata()));
      assert.equal(err.code, status.INVALID_ARGUMENT, err.message);
      assert.match(err.details, new RegExp(`is at most ${MAX_INSTRUCTION_REQUEST_BYTES} bytes`));
      assert.deepEqual(await keysOf(r), []);
    });
  });

  it('records exactly one receipt for 20 concurrent deliveries of one UETR', async function () {
    const r = await start({ rejectShare: 0.5 });
    const instruction = validInstruction();

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => deliver(r.client, instruction, i + 1)),
    );

    assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'one answer for all');
    assert.equal((await r.log.received()).length, 1);
    assert.equal(await r.log.deliveries(instruction.uetr), 20);
  });

  it('answers UNAVAILABLE when Redis is unreachable, so the dispatcher retries', async function () {
    const relay = await redisRelay();
    const r = await start({ redisUrl: relay.url });
    assert.equal((await deliver(r.client, validInstruction(), 1)).accepted, true, 'the control');

    await relay.cut();

    const instruction = validInstruction();
    const err = await grpcError(deliver(r.client, instruction, 1, 10_000));
    assert.equal(err.code, status.UNAVAILABLE, err.message);
    assert.ok(decodeStatusDetails(err.metadata).retryInfo);
    assert.equal(await r.log.deliveries(instruction.uetr), 0);
  });

  it('logs the UETR, attempt, agent BICs and outcome, never names, accounts or remittance text', async function () {
    const r = await start();
    const instruction = validInstruction();

    await deliver(r.client, instruction, 1);
    await deliver(r.client, instruction, 2);

    const received = r.lines.filter((line) => line.uetr === instruction.uetr);
    assert.deepEqual(
      received.map(({ msg, attempt, instructingAgent, creditorAgent, accepted, first, deliveries }) => ({
        msg,
        attempt,
        instructingAgent,
        creditorAgent,
        accepted,
        first,
        deliveries,
      })),
      [
        {
          msg: 'instruction received',
          attempt: 1,
          instructingAgent: 'HSBKKZKX',
          creditorAgent: 'RZBMRUMM',
          accepted: true,
          first: true,
          deliveries: 1,
        },
        {
          msg: 'repeated delivery answered from the record',
          attempt: 2,
          instructingAgent: 'HSBKKZKX',
          creditorAgent: 'RZBMRUMM',
          accepted: true,
          first: false,
          deliveries: 2,
        },
      ],
    );
    const logged = JSON.stringify(r.lines);
    for (const secret of [
      instruction.debtor!.name,
      instruction.creditor!.name,
      samples.kzIban,
      samples.ruAccountNumber,
      samples.kzBin,
      samples.ruInn10,
      instruction.remittanceInformation,
      instruction.amount!.value,
    ]) {
      assert.ok(!logged.includes(secret), `the log contains ${secret}`);
    }
  });

  describe('under mTLS', function () {
    let pki: TestPki;

    before(function () {
      pki = createTestPki();
    });
    after(function () {
      pki?.cleanup();
    });

    function tlsCredentials(identity: CertificateFiles | null): ChannelCredentials {
      const ca = readFileSync(pki.caFile);
      return identity === null
        ? credentials.createSsl(ca)
        : credentials.createSsl(ca, readFileSync(identity.keyFile), readFileSync(identity.certFile));
    }

    const tlsEnv = () => ({
      CARAVAN_DEV_INSECURE: 'false',
      CARAVAN_TLS_CERT: pki.serverCertFile,
      CARAVAN_TLS_KEY: pki.serverKeyFile,
      CARAVAN_TLS_CA: pki.caFile,
    });

    it('takes a delivery from a client whose certificate the CA signed', async function () {
      const r = await start({}, { env: tlsEnv(), creds: tlsCredentials(pki.issueClient('CARAVAN')) });
      assert.equal((await deliver(r.client, validInstruction(), 1)).accepted, true);
    });

    it('refuses a client without a certificate, or with one from another CA, recording nothing', async function () {
      const anonymous = await start({}, { env: tlsEnv(), creds: tlsCredentials(null) });
      const err = await grpcError(deliver(anonymous.client, validInstruction(), 1));
      assert.equal(err.code, status.UNAVAILABLE, err.message);
      assert.deepEqual(await keysOf(anonymous), []);

      const rogue = await start(
        {},
        { env: tlsEnv(), creds: tlsCredentials(pki.issueClient('CARAVAN', { ca: 'rogue' })) },
      );
      const rogueErr = await grpcError(deliver(rogue.client, validInstruction(), 1));
      assert.equal(rogueErr.code, status.UNAVAILABLE, rogueErr.message);
      assert.deepEqual(await keysOf(rogue), []);
    });
  });
});
