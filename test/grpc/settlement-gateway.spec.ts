import { strict as assert } from 'node:assert';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { InstructionState, IsoStatus } from '../../src/gen/caravan/settlement/v1/status';
import {
  CardScheme,
  IdentifierType,
  SettlementInstruction,
} from '../../src/gen/caravan/settlement/v1/instruction';
import {
  SubmitInstructionRequest,
  SubmitInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/gateway';
import { MAX_INSTRUCTION_REQUEST_BYTES } from '../../src/grpc/request-limits';
import { decodeStatusDetails } from '../../src/grpc/status';
import { createKeySpace } from '../../src/store/keys';
import { validInstruction } from '../support/instructions';
import {
  asParticipant,
  devClient,
  getInstruction,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { asField1, rawUnary, splitFields } from '../support/raw-grpc';
import { deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';

const SUBMIT = '/caravan.settlement.v1.SettlementGateway/SubmitInstruction';
const HALYK = asParticipant('HSBKKZKX');

describe('SettlementGateway intake', function () {
  const prefix = uniquePrefix('intake');
  const keys = createKeySpace(prefix, 16);
  let redis: Redis;
  let gw: TestGateway;
  let client: ReturnType<typeof devClient>;

  before(async () => {
    redis = testRedis();
    gw = await startTestGateway(prefix);
    client = devClient(gw.address);
  });

  after(async () => {
    client.close();
    await gw.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  async function outboxUetrs(): Promise<string[]> {
    const uetrs: string[] = [];
    for (let p = 0; p < 16; p++) {
      for (const [, fields] of await redis.xrange(keys.outbox(p), '-', '+')) uetrs.push(fields[1]);
    }
    return uetrs;
  }

  it('accepts a valid instruction, records it with its history and puts it on the outbox', async () => {
    const instruction = validInstruction();
    const res = await submit(client, instruction, HALYK);
    assert.equal(res.uetr, instruction.uetr);
    assert.equal(res.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(res.isoStatus, IsoStatus.ISO_STATUS_ACSP);
    assert.equal(res.replayed, false);
    assert.match(res.traceId, /^[0-9a-f]{32}$/);

    const k = keys.instruction(instruction.uetr);
    assert.equal(await redis.hget(k.record, 'state'), 'ACCEPTED');
    assert.equal(await redis.xlen(k.events), 2);
    assert.deepEqual(
      (await outboxUetrs()).filter((u) => u === instruction.uetr),
      [instruction.uetr],
    );

    const record = await getInstruction(client, instruction.uetr, HALYK);
    assert.equal(record.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    assert.equal(record.participant, 'HSBKKZKX');
    assert.equal(record.traceId, res.traceId);
    assert.deepEqual(record.instruction, instruction);
    assert.deepEqual(
      record.history.map((e) => [e.sequence, e.state, e.isoStatus]),
      [
        ['1', InstructionState.INSTRUCTION_STATE_RECEIVED, IsoStatus.ISO_STATUS_RCVD],
        ['2', InstructionState.INSTRUCTION_STATE_ACCEPTED, IsoStatus.ISO_STATUS_ACSP],
      ],
    );
  });

  it('continues the caller trace from traceparent', async () => {
    const metadata = asParticipant('HSBKKZKX');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    metadata.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    const res = await submit(client, validInstruction(), metadata);
    assert.equal(res.traceId, traceId);
  });

  it('answers a resubmission with the first answer and replayed = true, even in another field order', async () => {
    const instruction = validInstruction();
    const first = await submit(client, instruction, HALYK);
    const reordered = asField1(
      Buffer.concat(splitFields(SettlementInstruction.encode(instruction).finish()).reverse()),
    );
    assert.notDeepEqual(reordered, asField1(SettlementInstruction.encode(instruction).finish()));
    const again = SubmitInstructionResponse.decode(await rawUnary(gw.address, SUBMIT, reordered, HALYK));
    assert.equal(again.replayed, true);
    assert.equal(again.state, first.state);
    assert.equal(again.traceId, first.traceId);
    assert.equal(await redis.xlen(keys.instruction(instruction.uetr).events), 2);
    assert.equal((await outboxUetrs()).filter((u) => u === instruction.uetr).length, 1);
  });

  it('refuses the same UETR with a different body with ALREADY_EXISTS and keeps the first', async () => {
    const instruction = validInstruction();
    await submit(client, instruction, HALYK);
    const changed = { ...instruction, amount: { currency: 'KZT', value: '999.00' } };
    const err = await grpcError(submit(client, changed, HALYK));
    assert.equal(err.code, status.ALREADY_EXISTS);
    const { errorInfo } = decodeStatusDetails(err.metadata);
    assert.equal(errorInfo?.reason, 'UETR_CONFLICT');
    assert.match(errorInfo?.metadata.trace_id ?? '', /^[0-9a-f]{32}$/);
    const record = await getInstruction(client, instruction.uetr, HALYK);
    assert.equal(record.instruction?.amount?.value, '125000.50');
  });

  it('records an amount in its one written form, so a retry writing it otherwise replays', async () => {
    const short = validInstruction({ amount: { currency: 'KZT', value: '125000.5' } });
    const first = await submit(client, short, HALYK);
    assert.equal(first.replayed, false);
    const full = { ...short, amount: { currency: 'KZT', value: '125000.50' } };
    const again = await submit(client, full, HALYK);
    assert.equal(again.replayed, true);
    assert.equal(again.state, first.state);
    assert.equal((await getInstruction(client, short.uetr, HALYK)).instruction?.amount?.value, '125000.50');
    assert.equal((await outboxUetrs()).filter((u) => u === short.uetr).length, 1);
    const padded = { ...short, amount: { currency: 'KZT', value: '0125000.50' } };
    assert.equal((await grpcError(submit(client, padded, HALYK))).code, status.INVALID_ARGUMENT);
  });

  it('turns 50 concurrent submissions of one UETR into one record and one outbox entry', async () => {
    const instruction = validInstruction();
    const answers = await Promise.all(Array.from({ length: 50 }, () => submit(client, instruction, HALYK)));
    assert.equal(answers.filter((a) => !a.replayed).length, 1);
    assert.equal(answers.filter((a) => a.replayed).length, 49);
    assert.equal(new Set(answers.map((a) => a.traceId)).size, 1);
    assert.ok(answers.every((a) => a.state === InstructionState.INSTRUCTION_STATE_ACCEPTED));
    assert.equal(await redis.xlen(keys.instruction(instruction.uetr).events), 2);
    assert.equal((await outboxUetrs()).filter((u) => u === instruction.uetr).length, 1);
  });

  it('answers an invalid instruction with every field violation and stores nothing', async () => {
    const instruction = validInstruction();
    instruction.amount = { currency: 'KZT', value: '1e5' };
    instruction.creditorAgent = { bic: 'SABRRU' };
    instruction.debtor!.account = { kind: { $case: 'iban', value: 'KZ86125KZT5004100101' } };
    const before = (await keysUnder(redis, prefix)).length;
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const { badRequest, errorInfo } = decodeStatusDetails(err.metadata);
    assert.deepEqual(badRequest?.fieldViolations.map((v) => v.field).sort(), [
      'instruction.amount.value',
      'instruction.creditor_agent.bic',
      'instruction.debtor.account.iban',
    ]);
    assert.equal(errorInfo?.reason, 'INVALID_INSTRUCTION');
    assert.equal((await keysUnder(redis, prefix)).length, before);
  });

  it('answers a request without an instruction with INVALID_ARGUMENT', async () => {
    const err = await grpcError(submit(client, undefined, HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.deepEqual(
      decodeStatusDetails(err.metadata).badRequest?.fieldViolations.map((v) => v.field),
      ['instruction'],
    );
  });

  it('refuses a card number without echoing it', async () => {
    const instruction = validInstruction();
    instruction.remittanceInformation = 'card 4111 1111 1111 1111 refund';
    instruction.card = { scheme: 1, bin: '4111111111111111', last4: '1111' };
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const text = JSON.stringify(decodeStatusDetails(err.metadata)) + err.details;
    assert.doesNotMatch(text.replace(/\s/g, ''), /4111111111111111/);
    assert.equal(await redis.exists(keys.instruction(instruction.uetr).record), 0);
  });

  it('refuses an instruction whose instructing agent is not the caller', async () => {
    const instruction = validInstruction({ instructingAgent: { bic: 'SABRRUMM' } });
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.equal(await redis.exists(keys.instruction(instruction.uetr).record), 0);
  });

  it('lets an institution certificate instruct for its branches but not a branch for another', async () => {
    const branch = validInstruction({ instructingAgent: { bic: 'HSBKKZKXALM' } });
    assert.equal((await submit(client, branch, HALYK)).state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
    const other = validInstruction({ instructingAgent: { bic: 'HSBKKZKXAST' } });
    const err = await grpcError(submit(client, other, asParticipant('HSBKKZKXALM')));
    assert.equal(err.code, status.PERMISSION_DENIED);
  });

  it('requires a participant and hides other participants’ instructions', async () => {
    const instruction = validInstruction();
    await submit(client, instruction, HALYK);
    const none = await grpcError(submit(client, validInstruction(), asParticipant('')));
    assert.equal(none.code, status.UNAUTHENTICATED);
    const other = await grpcError(getInstruction(client, instruction.uetr, asParticipant('SABRRUMM')));
    const absent = await grpcError(
      getInstruction(client, validInstruction().uetr, asParticipant('SABRRUMM')),
    );
    assert.equal(other.code, status.NOT_FOUND);
    assert.equal(absent.code, status.NOT_FOUND);
    assert.equal(other.details.replace(instruction.uetr, 'U'), absent.details.replace(/[0-9a-f-]{36}/, 'U'));
  });

  it('answers GetInstruction with a malformed UETR as INVALID_ARGUMENT', async () => {
    const err = await grpcError(getInstruction(client, 'not-a-uuid', HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(decodeStatusDetails(err.metadata).badRequest?.fieldViolations[0]?.field, 'uetr');
  });

  it('answers malformed protobuf bytes with INVALID_ARGUMENT and keeps serving', async () => {
    const garbage = [
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // length far beyond the buffer
      Buffer.from([0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd]), // uetr with invalid UTF-8
      Buffer.from([0x0f, 0x01]), // wire type 7 does not exist
      Buffer.from('this is not protobuf at all, just text'),
    ];
    for (const body of garbage) {
      const err = await grpcError(rawUnary(gw.address, SUBMIT, body, HALYK));
      assert.equal(err.code, status.INVALID_ARGUMENT, `for ${body.toString('hex')}`);
    }
    assert.equal(
      (await submit(client, validInstruction(), HALYK)).state,
      InstructionState.INSTRUCTION_STATE_ACCEPTED,
    );
  });

  it('answers a request over the message size limit with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const instruction = validInstruction();
    instruction.remittanceInformation = 'x'.repeat(1024 * 1024 + 10);
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.equal(await redis.exists(keys.instruction(instruction.uetr).record), 0);
    assert.equal(
      (await submit(client, validInstruction(), HALYK)).state,
      InstructionState.INSTRUCTION_STATE_ACCEPTED,
    );
  });

  it('answers a huge field under the size limits with a violation that does not echo it', async () => {
    const instruction = validInstruction();
    instruction.debtor!.name = 'A'.repeat(12_000);
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.equal(
      decodeStatusDetails(err.metadata).badRequest?.fieldViolations[0]?.field,
      'instruction.debtor.name',
    );
    assert.ok((err.metadata.get('grpc-status-details-bin')[0] as Buffer).length < 2_000);
  });

  it('refuses a request over the SubmitInstruction limit before decoding it, and stores nothing', async () => {
    // Many small repeated elements: the shape that costs the most heap per byte to decode.
    const instruction = validInstruction();
    instruction.debtor!.identifiers = Array.from({ length: 2_000 }, () => ({
      ...instruction.debtor!.identifiers[0],
    }));
    const size = SubmitInstructionRequest.encode({ instruction }).finish().length;
    assert.ok(size > MAX_INSTRUCTION_REQUEST_BYTES);
    const err = await grpcError(submit(client, instruction, HALYK));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const violation = decodeStatusDetails(err.metadata).badRequest?.fieldViolations[0];
    assert.equal(
      violation?.description,
      `the request is ${size} bytes; a caravan.settlement.v1.SubmitInstructionRequest is at most ${MAX_INSTRUCTION_REQUEST_BYTES} bytes`,
    );
    assert.equal(await redis.exists(keys.instruction(instruction.uetr).record), 0);
  });

  it('accepts the largest valid instruction, well under the SubmitInstruction limit', async () => {
    const wide = (n: number) => '\u{1D504}'.repeat(n); // 4 bytes each in UTF-8
    const instruction = validInstruction({
      instructionId: wide(35),
      endToEndId: wide(35),
      remittanceInformation: wide(140),
      card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '41111111', last4: '1111' },
    });
    for (const party of [instruction.debtor!, instruction.creditor!]) {
      party.name = wide(140);
      party.identifiers = Array.from({ length: 10 }, () => ({
        type: IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID,
        value: 'A'.repeat(35),
        issuerCountry: 'KZ',
      }));
      party.account = {
        kind: { $case: 'wallet', value: { network: 'ABCDEFGHIJKL', address: 'E'.repeat(128) } },
      };
    }
    const size = SubmitInstructionRequest.encode({ instruction }).finish().length;
    assert.ok(size < MAX_INSTRUCTION_REQUEST_BYTES / 4, `the largest valid instruction is ${size} bytes`);
    const answer = await submit(client, instruction, HALYK);
    assert.equal(answer.replayed, false);
    assert.notEqual(answer.state, InstructionState.INSTRUCTION_STATE_UNSPECIFIED);
  });

  it('never leaves a half-written instruction when deadlines expire mid-call', async () => {
    const instructions = Array.from({ length: 200 }, () => validInstruction());
    const outcomes = await Promise.allSettled(
      instructions.map((ins, i) => submit(client, ins, HALYK, 1 + (i % 15))),
    );
    const expired = outcomes.filter((o) => o.status === 'rejected').length;
    // The server may still be finishing calls whose client already gave up; every snapshot taken
    // meanwhile, and the final one, must show each instruction whole or absent.
    for (let round = 0; round < 5; round++) {
      for (const ins of instructions) {
        const k = keys.instruction(ins.uetr);
        const [[, record], [, events]] = (await redis.multi().exists(k.record).xlen(k.events).exec()) as [
          [null, number],
          [null, number],
        ];
        assert.ok(
          (record === 0 && events === 0) || (record === 1 && events === 2),
          `${ins.uetr}: ${record}/${events}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every client retries with the same UETR; each instruction then exists exactly once.
    const retried = await Promise.all(instructions.map((ins) => submit(client, ins, HALYK)));
    assert.ok(retried.every((r) => r.state === InstructionState.INSTRUCTION_STATE_ACCEPTED));
    const outbox = await outboxUetrs();
    for (const ins of instructions) assert.equal(outbox.filter((u) => u === ins.uetr).length, 1);
    assert.ok(expired > 0, 'some calls should have hit their deadline');
  });
});
