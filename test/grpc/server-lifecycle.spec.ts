import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentials, status, type ClientReadableStream } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../src/gen/grpc/health/v1/health';
import { ServerReflectionClient } from '../../src/gen/grpc/reflection/v1/reflection';
import { healthCheck } from '../support/health';
import type { InstructionEvent } from '../../src/gen/caravan/settlement/v1/gateway';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import type { ScreenInstruction } from '../../src/settlement/screening-seam';
import { acceptWithoutScreening } from '../../src/settlement/screening-seam';
import { createInstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { validInstruction } from '../support/instructions';
import {
  asParticipant,
  devClient,
  grpcError,
  startTestGateway,
  submit,
  type TestGateway,
} from '../support/gateway';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const run = promisify(execFile);
const BUF = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'buf');
const HALYK = asParticipant('HSBKKZKX');

describe('gateway server: health, reflection, shutdown', function () {
  const prefix = uniquePrefix('lifecycle');
  let redis: Redis;

  before(() => {
    redis = testRedis();
  });
  after(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  describe('health and reflection', function () {
    let gw: TestGateway;
    before(async () => {
      gw = await startTestGateway(prefix);
    });
    after(() => gw.gateway.stop());

    it('reports SERVING for the server and the gateway service', async () => {
      assert.equal(await healthCheck(gw.address), HealthCheckResponse_ServingStatus.SERVING);
      assert.equal(
        await healthCheck(gw.address, 'caravan.settlement.v1.SettlementGateway'),
        HealthCheckResponse_ServingStatus.SERVING,
      );
    });

    it('lets buf curl list and call every method through reflection alone', async function () {
      this.timeout(60_000);
      const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
      const url = (method: string) => `http://${gw.address}/${method}`;
      const { stdout: list } = await run(BUF, [...base, '--list-methods', `http://${gw.address}`]);
      for (const method of [
        'caravan.settlement.v1.SettlementGateway/SubmitInstruction',
        'caravan.settlement.v1.SettlementGateway/GetInstruction',
        'caravan.settlement.v1.SettlementGateway/WatchInstruction',
        'grpc.health.v1.Health/Check',
      ]) {
        assert.ok(list.includes(method), `${method} missing from:\n${list}`);
      }

      const instruction = validInstruction();
      const dir = mkdtempSync(path.join(tmpdir(), 'caravan-bufcurl-'));
      const body = path.join(dir, 'submit.json');
      writeFileSync(body, JSON.stringify({ instruction: SettlementInstruction.toJSON(instruction) }));
      const header = ['-H', 'x-caravan-participant: HSBKKZKX'];
      const submitted = JSON.parse(
        (
          await run(BUF, [
            ...base,
            ...header,
            '-d',
            `@${body}`,
            url('caravan.settlement.v1.SettlementGateway/SubmitInstruction'),
          ])
        ).stdout,
      ) as { state: string; uetr: string };
      assert.equal(submitted.state, 'INSTRUCTION_STATE_ACCEPTED');
      const uetr = JSON.stringify({ uetr: instruction.uetr });
      const got = JSON.parse(
        (
          await run(BUF, [
            ...base,
            ...header,
            '-d',
            uetr,
            url('caravan.settlement.v1.SettlementGateway/GetInstruction'),
          ])
        ).stdout,
      ) as { history: unknown[]; createdAt: string };
      assert.equal(got.history.length, 2);
      assert.match(got.createdAt, /^\d{4}-\d{2}-\d{2}T/);
      // The watch streams until a terminal state: finish the settlement first so the stream ends.
      await createInstructionStore(redis, createKeySpace(prefix, 16)).transition({
        uetr: instruction.uetr,
        from: ['ACCEPTED'],
        to: 'DELIVERED',
        reason: { code: '', description: '' },
        traceId: '',
        traceparent: '',
        nowMs: Date.now(),
      });
      const { stdout: watched } = await run(BUF, [
        ...base,
        ...header,
        '-d',
        uetr,
        url('caravan.settlement.v1.SettlementGateway/WatchInstruction'),
      ]);
      for (const state of ['RECEIVED', 'ACCEPTED', 'DELIVERED'])
        assert.ok(watched.includes(`INSTRUCTION_STATE_${state}`), watched);
      const health = JSON.parse((await run(BUF, [...base, url('grpc.health.v1.Health/Check')])).stdout) as {
        status: string;
      };
      assert.equal(health.status, 'SERVING');
    });
  });

  describe('graceful shutdown', function () {
    it('finishes a call in flight, ends open watches, refuses new calls, and goes NOT_SERVING', async function () {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inScreening = new Promise<void>((r) => (entered = r));
      const slowScreen: ScreenInstruction = async (ins) => {
        if (ins.endToEndId === 'SLOW') {
          entered();
          await gate;
        }
        return acceptWithoutScreening(ins);
      };
      const gw = await startTestGateway(prefix, {
        screen: slowScreen,
        env: { CARAVAN_SHUTDOWN_GRACE_MS: '10000' },
      });
      const client = devClient(gw.address);
      const healthClient = new HealthClient(gw.address, credentials.createInsecure());

      const watched = validInstruction();
      await submit(client, watched, HALYK);
      const stream: ClientReadableStream<InstructionEvent> = client.watchInstruction(
        { uetr: watched.uetr },
        HALYK,
      );
      const watchEnded = new Promise<number>((resolve) => {
        stream.on('status', (s: { code: number }) => resolve(s.code));
        stream.on('error', () => undefined);
        stream.on('data', () => undefined);
      });
      const healthStates: HealthCheckResponse_ServingStatus[] = [];
      const healthWatch = healthClient.watch({ service: '' });
      healthWatch.on('data', (r: { status: HealthCheckResponse_ServingStatus }) =>
        healthStates.push(r.status),
      );
      healthWatch.on('error', () => undefined);
      const healthEnded = new Promise<number>((resolve) => healthWatch.on('status', (s) => resolve(s.code)));
      while (healthStates.length === 0) await new Promise((r) => setTimeout(r, 10));
      // A reflection stream left open by a tool: the stop must end it too, not wait out the grace.
      const reflection = new ServerReflectionClient(gw.address, credentials.createInsecure());
      const reflecting = reflection.serverReflectionInfo();
      const reflectionEnded = new Promise<number>((resolve) =>
        reflecting.on('status', (s) => resolve(s.code)),
      );
      reflecting.on('error', () => undefined);
      const answered = new Promise((resolve) => reflecting.once('data', resolve));
      reflecting.write({ host: '', messageRequest: { $case: 'listServices', value: '' } });
      await answered;

      const slow = validInstruction({ endToEndId: 'SLOW' });
      const inFlight = submit(client, slow, HALYK, 30_000);
      await inScreening;

      const stopped = gw.gateway.stop();
      assert.equal(await watchEnded, status.UNAVAILABLE);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(healthStates.includes(HealthCheckResponse_ServingStatus.NOT_SERVING));
      const refused = await grpcError(submit(devClient(gw.address), validInstruction(), HALYK, 2_000));
      assert.ok([status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(refused.code));

      release();
      const releasedAt = Date.now();
      const answer = await inFlight;
      assert.equal(answer.state, InstructionState.INSTRUCTION_STATE_ACCEPTED);
      await stopped;
      // Well inside the 10 s grace: nothing was left for it to cut off.
      assert.ok(Date.now() - releasedAt < 5_000, `stopped ${Date.now() - releasedAt} ms after the release`);
      assert.equal(await healthEnded, status.OK);
      assert.equal(await reflectionEnded, status.OK);
      client.close();
      healthClient.close();
      reflection.close();
    });

    it('cuts off calls still running after the grace period', async function () {
      const never: ScreenInstruction = () => new Promise(() => undefined);
      const gw = await startTestGateway(prefix, { screen: never, env: { CARAVAN_SHUTDOWN_GRACE_MS: '300' } });
      const client = devClient(gw.address);
      const hanging = grpcError(submit(client, validInstruction(), HALYK, 30_000));
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await gw.gateway.stop();
      assert.ok(Date.now() - started < 5_000);
      assert.ok([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL].includes((await hanging).code));
      client.close();
    });
  });
});
