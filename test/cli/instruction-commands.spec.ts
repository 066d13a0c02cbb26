import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import type { State } from '../../src/store/instruction-record';
import { createInstructionStore } from '../../src/store/instruction-store';
import { createKeySpace } from '../../src/store/keys';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { closedPort } from '../support/delivery';
import { validInstruction } from '../support/instructions';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { ROOT, startCaravan, type CliResult, type Env } from '../support/cli';

const TRACE_ID_LINE = /^trace id\s+[0-9a-f]{32}$/m;

function caravan(args: string[], env: Env, options: { stdin?: string } = {}): Promise<CliResult> {
  return startCaravan(args, env, options).done;
}

/** The process output, for assertion messages: an exit code alone rarely says what went wrong. */
function describeRun(result: CliResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** A TCP relay to the gateway that can go silent: its sockets stay open, bytes stop. */
async function silenceableRelay(targetPort: number) {
  let silent = false;
  const sockets: Socket[] = [];
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    sockets.push(inbound, outbound);
    inbound.on('data', (chunk) => silent || outbound.write(chunk));
    outbound.on('data', (chunk) => silent || inbound.write(chunk));
    inbound.on('error', () => undefined);
    outbound.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    silence: () => {
      silent = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, describeRun(result));
}

describe('caravan submit / status / watch (the CLI process)', function () {
  let gateway: TestGateway;
  let prefix: string;
  let redis: Redis;
  let dir: string;
  let env: Env;
  let fileCount = 0;

  before(async function () {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first (npm test does)');
    prefix = uniquePrefix('cli');
    gateway = await startTestGateway(prefix);
    redis = testRedis();
    dir = mkdtempSync(join(tmpdir(), 'caravan-cli-'));
    env = {
      CARAVAN_DEV_INSECURE: 'true',
      CARAVAN_PARTICIPANT: 'HSBKKZKX',
      CARAVAN_ADDR: gateway.address,
    };
  });

  after(async function () {
    await gateway?.gateway.stop();
    if (redis) {
      await deleteUnder(redis, prefix);
      await redis.quit();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function writeFile(content: string): string {
    fileCount += 1;
    const file = join(dir, `instruction-${fileCount}.json`);
    writeFileSync(file, content);
    return file;
  }

  function writeInstruction(instruction: SettlementInstruction): string {
    return writeFile(JSON.stringify(SettlementInstruction.toJSON(instruction), null, 2));
  }

  /** Submits through the CLI and returns the UETR of an ACCEPTED instruction. */
  async function submitted(): Promise<string> {
    const instruction = validInstruction();
    assertExit(await caravan(['submit', writeInstruction(instruction)], env), 0);
    return instruction.uetr;
  }

  /** Moves an instruction on as delivery would, by writing to the store directly. */
  async function moveTo(uetr: string, to: State, reason = { code: '', description: '' }): Promise<void> {
    const store = createInstructionStore(redis, createKeySpace(prefix, gateway.config.partitions));
    const result = await store.transition({
      uetr,
      from: ['ACCEPTED'],
      to,
      reason,
      traceId: '',
      traceparent: '',
      nowMs: Date.now(),
    });
    assert.equal(result.kind, 'ok', JSON.stringify(result));
  }

  describe('submit', function () {
    it('submits a file and prints the UETR, ACCEPTED and the trace id; again, it says replayed', async function () {
      const instruction = validInstruction();
      const file = writeInstruction(instruction);

      const first = await caravan(['submit', file], env);
      assertExit(first, 0);
      assert.match(first.stdout, new RegExp(`^uetr\\s+${instruction.uetr}$`, 'm'));
      assert.match(first.stdout, /^state\s+ACCEPTED$/m);
      assert.match(first.stdout, /^iso status\s+ACSP$/m);
      assert.match(first.stdout, TRACE_ID_LINE);
      assert.equal(first.stderr, '');

      const again = await caravan(['submit', file], env);
      assertExit(again, 0);
      assert.match(again.stdout, /^state\s+ACCEPTED\s+\(replayed: submitted before\)$/m);
      // A replay answers with the first submission's trace id, so both runs point at one trace.
      const traceOf = (out: string) => TRACE_ID_LINE.exec(out)?.[0];
      assert.equal(traceOf(again.stdout), traceOf(first.stdout));
    });

    it('prints the answer as JSON with --json', async function () {
      const instruction = validInstruction();
      const result = await caravan(['submit', '--json', writeInstruction(instruction)], env);
      assertExit(result, 0);
      const answer = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal(answer.uetr, instruction.uetr);
      assert.equal(answer.state, 'INSTRUCTION_STATE_ACCEPTED');
      assert.equal(answer.isoStatus, 'ISO_STATUS_ACSP');
      assert.match(String(answer.traceId), /^[0-9a-f]{32}$/);
    });

    it('reads the instruction from stdin with -, also wrapped as {"instruction": ...}', async function () {
      const instruction = validInstruction();
      const stdin = JSON.stringify({ instruction: SettlementInstruction.toJSON(instruction) });
      const result = await caravan(['submit', '-'], env, { stdin });
      assertExit(result, 0);
      assert.match(result.stdout, new RegExp(`^uetr\\s+${instruction.uetr}$`, 'm'));
    });

    it('exits 2 listing every invalid field path, with the trace id', async function () {
      const instruction = validInstruction();
      instruction.debtor!.account = { kind: { $case: 'iban', value: 'KZ00125KZT5004100100' } };
      instruction.amount = { currency: 'KZT', value: '-100.00' };
      const result = await caravan(['submit', writeInstruction(instruction)], env);
      assertExit(result, 2);
      assert.match(result.stderr, /INVALID_ARGUMENT/);
      assert.match(result.stderr, /^\s+instruction\.debtor\.account\.iban: /m);
      assert.match(result.stderr, /^\s+instruction\.amount\.value: /m);
      assert.match(result.stderr, /trace id: [0-9a-f]{32}/);
      assert.equal(result.stdout, '');
    });

    it('exits 2 naming a mistyped key, without calling the gateway', async function () {
      const json = SettlementInstruction.toJSON(validInstruction()) as Record<string, unknown>;
      const { instructingAgent, ...rest } = json;
      const file = writeFile(JSON.stringify({ ...rest, instructingAgnet: instructingAgent }));
      const result = await caravan(['submit', file], {
        ...env,
        CARAVAN_ADDR: `127.0.0.1:${await closedPort()}`,
      });
      assertExit(result, 2);
      assert.match(result.stderr, /unknown or mistyped field instructingAgnet/);
    });

    it('exits 2 for a file that does not exist', async function () {
      const file = join(dir, 'no-such-file.json');
      const result = await caravan(['submit', file], env);
      assertExit(result, 2);
      assert.ok(result.stderr.includes(`cannot read ${file}: ENOENT`), describeRun(result));
    });

    it('exits 2 for a file that is not JSON', async function () {
      const result = await caravan(['submit', writeFile('{"uetr": "3f1c2a4e-')], env);
      assertExit(result, 2);
      assert.match(result.stderr, /is not valid JSON/);
    });

    it('exits 2 when no file is given', async function () {
      const result = await caravan(['submit'], env);
      assertExit(result, 2);
      assert.match(result.stderr, /missing required argument 'file'/);
    });

    it('exits 7 when the UETR was already used for a different instruction', async function () {
      const instruction = validInstruction();
      assertExit(await caravan(['submit', writeInstruction(instruction)], env), 0);
      instruction.remittanceInformation = 'Invoice INV-2025-0043 for steel pipes';
      const result = await caravan(['submit', writeInstruction(instruction)], env);
      assertExit(result, 7);
      assert.match(result.stderr, /ALREADY_EXISTS/);
      assert.ok(result.stderr.includes(instruction.uetr), describeRun(result));
    });

    it('exits 6 when the instructing agent is not the participant', async function () {
      const result = await caravan(['submit', writeInstruction(validInstruction())], {
        ...env,
        CARAVAN_PARTICIPANT: 'SABRRUMM',
      });
      assertExit(result, 6);
      assert.match(result.stderr, /PERMISSION_DENIED/);
    });
  });

  describe('status', function () {
    it('prints the state and the history RECEIVED then ACCEPTED', async function () {
      const uetr = await submitted();
      // A UETR pasted in upper case, as some systems print it, is the same UETR.
      const result = await caravan(['status', uetr.toUpperCase()], env);
      assertExit(result, 0);
      assert.match(result.stdout, /^state\s+ACCEPTED$/m);
      assert.match(result.stdout, /^participant\s+HSBKKZKX$/m);
      assert.match(result.stdout, /^amount\s+125000\.50 KZT$/m);
      const history = result.stdout.slice(result.stdout.indexOf('\nhistory\n'));
      assert.match(history, /^ {2}\S+ {2}#1 {2}RECEIVED {2}\(RCVD\)$/m);
      assert.match(history, /^ {2}\S+ {2}#2 {2}ACCEPTED {2}\(ACSP\)$/m);
      assert.ok(history.indexOf('RECEIVED') < history.indexOf('ACCEPTED'), result.stdout);
    });

    it('prints the record as JSON with --json', async function () {
      const uetr = await submitted();
      const result = await caravan(['status', '--json', uetr], env);
      assertExit(result, 0);
      const record = JSON.parse(result.stdout) as {
        uetr: string;
        state: string;
        history: { state: string }[];
      };
      assert.equal(record.uetr, uetr);
      assert.equal(record.state, 'INSTRUCTION_STATE_ACCEPTED');
      assert.deepEqual(
        record.history.map((e) => e.state),
        ['INSTRUCTION_STATE_RECEIVED', 'INSTRUCTION_STATE_ACCEPTED'],
      );
    });

    it('exits 4 for an unknown UETR', async function () {
      const result = await caravan(['status', randomUUID()], env);
      assertExit(result, 4);
      assert.match(result.stderr, /NOT_FOUND/);
    });

    it("exits 4 for another participant's instruction, with the unknown UETR's message", async function () {
      const uetr = await submitted();
      const result = await caravan(['status', uetr], { ...env, CARAVAN_PARTICIPANT: 'SABRRUMM' });
      assertExit(result, 4);
      assert.ok(
        result.stderr.includes(`NOT_FOUND: no instruction with UETR ${uetr} for this participant`),
        describeRun(result),
      );
      assert.equal(result.stdout, '');
    });

    it('exits 2 for a UETR that is not a UUID', async function () {
      const result = await caravan(['status', 'not-a-uetr'], env);
      assertExit(result, 2);
      assert.match(result.stderr, /^\s+uetr: /m);
    });
  });

  describe('watch', function () {
    it('prints RECEIVED and ACCEPTED, then DELIVERED when it happens, and exits 0 by itself', async function () {
      const uetr = await submitted();
      const watching = startCaravan(['watch', uetr], env);
      await watching.waitForStdout(/ACCEPTED/);
      assert.doesNotMatch(watching.stdout(), /DELIVERED/);
      await moveTo(uetr, 'DELIVERED');
      const result = await watching.done;
      assertExit(result, 0);
      const states = [...result.stdout.matchAll(/#\d+ {2}(\w+)/g)].map((m) => m[1]);
      assert.deepEqual(states, ['RECEIVED', 'ACCEPTED', 'DELIVERED']);
      assert.match(result.stdout, /#3 {2}DELIVERED {2}\(ACSC\)/);
    });

    it('exits 3 when the instruction ends FAILED, printing the reason', async function () {
      const uetr = await submitted();
      const watching = startCaravan(['watch', uetr], env);
      await watching.waitForStdout(/ACCEPTED/);
      await moveTo(uetr, 'FAILED', { code: 'AC04', description: 'closed account number' });
      const result = await watching.done;
      assertExit(result, 3);
      assert.match(result.stdout, /#3 {2}FAILED {2}\(RJCT\) {2}AC04 closed account number$/m);
    });

    it('prints one JSON object per event with --json', async function () {
      const uetr = await submitted();
      await moveTo(uetr, 'DELIVERED');
      const result = await caravan(['watch', '--json', uetr], env);
      assertExit(result, 0);
      const events = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { uetr: string; terminal?: boolean; event: { state: string } });
      assert.deepEqual(
        events.map((e) => e.event.state),
        ['INSTRUCTION_STATE_RECEIVED', 'INSTRUCTION_STATE_ACCEPTED', 'INSTRUCTION_STATE_DELIVERED'],
      );
      assert.equal(events.at(-1)?.terminal, true);
    });

    it('exits 5 when the gateway goes silent mid-watch, found by keepalive pings', async function () {
      this.timeout(60_000);
      const uetr = await submitted();
      const relay = await silenceableRelay(gateway.gateway.port);
      try {
        const watching = startCaravan(
          ['watch', uetr],
          {
            ...env,
            CARAVAN_ADDR: `127.0.0.1:${relay.port}`,
            CARAVAN_KEEPALIVE_TIME_MS: '5000',
            CARAVAN_KEEPALIVE_TIMEOUT_MS: '1000',
          },
          { timeoutMs: 45_000 },
        );
        await watching.waitForStdout(/ACCEPTED/);
        // A frozen host or a partition: the connection stays open and nothing more arrives.
        relay.silence();
        const result = await watching.done;
        assertExit(result, 5);
        assert.match(result.stderr, /UNAVAILABLE/);
      } finally {
        relay.close();
      }
    });

    it("exits 4 for another participant's instruction", async function () {
      const uetr = await submitted();
      const result = await caravan(['watch', uetr], { ...env, CARAVAN_PARTICIPANT: 'SABRRUMM' });
      assertExit(result, 4);
      assert.match(result.stderr, /NOT_FOUND/);
      assert.equal(result.stdout, '');
    });
  });

  describe('configuration and connectivity', function () {
    it('exits 5 and points at CARAVAN_ADDR when no gateway is listening', async function () {
      const address = `127.0.0.1:${await closedPort()}`;
      for (const args of [
        ['submit', writeInstruction(validInstruction())],
        ['status', randomUUID()],
      ]) {
        const result = await caravan(args, { ...env, CARAVAN_ADDR: address, CARAVAN_DEADLINE_MS: '2000' });
        assertExit(result, 5);
        assert.match(result.stderr, /UNAVAILABLE/);
        assert.ok(result.stderr.includes(`is the gateway running at ${address}?`), describeRun(result));
        assert.match(result.stderr, /CARAVAN_ADDR/);
      }
    });

    it('exits 78 for an invalid configuration, naming the variable', async function () {
      const result = await caravan(['status', randomUUID()], { ...env, CARAVAN_ADDR: 'nonsense' });
      assertExit(result, 78);
      assert.match(result.stderr, /invalid configuration/);
      assert.match(result.stderr, /CARAVAN_ADDR: /);
    });

    it('exits 78 in development mode without CARAVAN_PARTICIPANT', async function () {
      const result = await caravan(['status', randomUUID()], { ...env, CARAVAN_PARTICIPANT: undefined });
      assertExit(result, 78);
      assert.match(result.stderr, /CARAVAN_PARTICIPANT is not set/);
    });

    it('exits 78 when neither mTLS nor development mode is configured', async function () {
      const result = await caravan(['status', randomUUID()], { CARAVAN_ADDR: gateway.address });
      assertExit(result, 78);
      assert.match(
        result.stderr,
        /CARAVAN_TLS_CERT, CARAVAN_TLS_KEY, CARAVAN_TLS_CA: mTLS is on by default and these are not set/,
      );
    });
  });

  describe('help', function () {
    for (const command of ['submit', 'status', 'watch', 'serve']) {
      it(`caravan ${command} --help exits 0 with an example`, async function () {
        const result = await caravan([command, '--help'], {});
        assertExit(result, 0);
        assert.match(result.stdout, new RegExp(`^Usage: caravan ${command} `, 'm'));
        assert.match(result.stdout, /^Example:$/m);
      });
    }

    it('caravan --help lists the commands and the exit codes', async function () {
      const result = await caravan(['--help'], {});
      assertExit(result, 0);
      for (const command of ['submit', 'status', 'watch', 'serve'])
        assert.match(result.stdout, new RegExp(`^ {2}${command}\\b`, 'm'));
      assert.match(result.stdout, /^Exit codes:$/m);
    });

    it('exits 2 for an unknown command', async function () {
      const result = await caravan(['sumbit'], {});
      assertExit(result, 2);
      assert.match(result.stderr, /unknown command 'sumbit'/);
    });
  });
});
