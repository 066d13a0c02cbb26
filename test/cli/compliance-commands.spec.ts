import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type Redis from 'ioredis';
import { CardScheme } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { startCaravan, type CliResult, type Env } from '../support/cli';
import { OFFICERS, ROLE_TOKENS_ENV } from '../support/compliance';
import { asParticipant, devClient, startTestGateway, submit, type TestGateway } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const run = (args: string[], env: Env): Promise<CliResult> =>
  startCaravan(args, env, { timeoutMs: 30_000 }).done;
const explain = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('caravan lists / screen / holds / audit (the CLI process)', function () {
  this.timeout(60_000);
  const prefix = uniquePrefix('cli-compliance');
  const dir = mkdtempSync(join(tmpdir(), 'caravan-cli-compliance-'));
  let redis: Redis;
  let gw: TestGateway;
  let alice: Env;
  let bob: Env;

  before(async () => {
    redis = testRedis();
    gw = await startTestGateway(prefix, {
      env: { CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV, CARAVAN_LIST_POLL_MS: '200' },
    });
    const base = { CARAVAN_DEV_INSECURE: 'true', CARAVAN_ADDR: gw.address };
    alice = { ...base, CARAVAN_TOKEN: OFFICERS[0].token };
    bob = { ...base, CARAVAN_TOKEN: OFFICERS[1].token };
  });

  after(async () => {
    await gw.gateway.stop();
    await deleteUnder(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blocks the Mir card scheme with `lists add`, and intake rejects a Mir card', async () => {
    const added = await run(
      ['lists', 'add', 'card-schemes', '--scheme', 'MIR', '--iin', '2200-2204', '--note', 'Mir suspended'],
      alice,
    );
    assert.equal(added.code, 0, explain(added));
    assert.match(added.stdout, /added scheme:MIR:2200-2204 .*card-schemes@1 {2}1 entries/);
    await gw.gateway.screening!.refresh();
    const client = devClient(gw.address);
    const res = await submit(
      client,
      validInstruction({ card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '22021234', last4: '1111' } }),
      asParticipant('HSBKKZKX'),
    );
    client.close();
    assert.equal(res.state, InstructionState.INSTRUCTION_STATE_REJECTED);
    assert.equal(res.reason?.code, 'AG01');
  });

  it('gives every added name, wallet and scheme range an entry of its own', async () => {
    for (const name of ['Иван Петрович Сидоров', 'ТОО Сбер Восток Трейд', 'ТОО  сбер восток трейд']) {
      const added = await run(['lists', 'add', 'cli-names', '--name', name, '--note', 'case'], alice);
      assert.equal(added.code, 0, explain(added));
    }
    await run(
      [
        'lists',
        'add',
        'cli-names',
        '--wallet',
        'BCH:bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a',
        '--note',
        'x',
      ],
      alice,
    );
    await run(['lists', 'add', 'cli-names', '--scheme', 'MIR', '--iin', '2200-2201', '--note', 'x'], alice);
    await run(['lists', 'add', 'cli-names', '--scheme', 'MIR', '--iin', '2203-2204', '--note', 'x'], alice);
    const entries = await run(['lists', 'entries', 'cli-names', '--json'], alice);
    assert.equal(entries.code, 0, explain(entries));
    const shown = entries.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; address?: string });
    // The two Cyrillic names (the third is the second again, in other case and spacing), the
    // wallet with its own colon, and both Mir ranges.
    assert.equal(shown.length, 5, entries.stdout);
    assert.ok(shown.some((e) => e.address === 'bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a'));
    const iinOnly = await run(['lists', 'add', 'cli-names', '--iin', '2205-2206', '--note', 'x'], alice);
    assert.equal(iinOnly.code, 2, explain(iinOnly));
    assert.match(iinOnly.stderr, /--iin needs --scheme/);
  });

  it('imports a CSV list with a progress-free non-TTY run, shows lists and versions', async () => {
    const file = join(dir, 'internal.csv');
    writeFileSync(
      file,
      'kind,id,name,aliases,type\nname,p1,Zhetysu Orbita Holding LLP,ZHETYSU ORBITA,entity\n',
    );
    const imported = await run(
      ['lists', 'import', 'internal-counterparties', '--format', 'csv', file],
      alice,
    );
    assert.equal(imported.code, 0, explain(imported));
    assert.match(imported.stdout, /activated/);
    const shown = await run(['lists'], alice);
    assert.match(shown.stdout, /card-schemes@1/);
    assert.match(shown.stdout, /internal-counterparties@1 {2}1 entries .*\* current/);
    const json = await run(['lists', 'versions', 'internal-counterparties', '--json'], alice);
    assert.equal((JSON.parse(json.stdout) as unknown[]).length, 1);
  });

  it('refuses a bad import with exit 3 and line numbers, and a wrong format with exit 2', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'kind,id,bic\nbic,b1,NOT-A-BIC\n');
    const bad = await run(['lists', 'import', 'internal-counterparties', '--format', 'csv', file], alice);
    assert.equal(bad.code, 3, explain(bad));
    assert.match(bad.stdout, /bad\.csv:2/);
    const format = await run(['lists', 'import', 'x', '--format', 'pdf', file], alice);
    assert.equal(format.code, 2, explain(format));
  });

  it('refuses a gzipped list file with exit 3, saying to decompress it', async () => {
    const file = join(dir, 'internal.csv.gz');
    writeFileSync(file, gzipSync('kind,id,bic\nbic,b1,VTBAKZKZ\n'));
    const refused = await run(['lists', 'import', 'internal-gz', '--format', 'csv', file], alice);
    assert.equal(refused.code, 3, explain(refused));
    assert.match(
      refused.stdout,
      /internal\.csv\.gz:0 {2}internal\.csv\.gz is gzip-compressed; compressed files are not accepted: decompress it first/,
    );
  });

  it('explains a dry-run screening hit, in Cyrillic', async () => {
    await gw.gateway.screening!.refresh();
    const screened = await run(['screen', '--name', 'ТОО Жетысу Орбита Холдинг'], alice);
    assert.equal(screened.code, 3, explain(screened));
    assert.match(screened.stdout, /^REVIEW/);
    assert.match(screened.stdout, /party\.name +~ +Zhetysu Orbita Holding LLP/);
    assert.match(screened.stdout, /tokens: /);
    const clear = await run(['screen', '--name', 'Completely Unrelated Bakery'], alice);
    assert.equal(clear.code, 0, explain(clear));
  });

  it('screens a card scheme however its name is written, and refuses one it does not know', async () => {
    // The first spec blocked Mir by name and IIN range.
    const mir = await run(['screen', '--card-scheme', 'mir'], alice);
    assert.equal(mir.code, 3, explain(mir));
    assert.match(mir.stdout, /^BLOCK/);
    const unknown = await run(['screen', '--card-scheme', 'Diners Club'], alice);
    assert.equal(unknown.code, 2, explain(unknown));
    assert.match(unknown.stderr, /not a scheme Caravan knows; one of VISA, MASTERCARD, MIR/);
  });

  it('lists a hold and releases it with two officers', async () => {
    const ins = validInstruction();
    ins.creditor!.name = 'ZHETYSU ORBITA HOLDING TOO';
    const client = devClient(gw.address);
    const res = await submit(client, ins, asParticipant('HSBKKZKX'));
    client.close();
    assert.equal(res.state, InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW);
    const listed = await run(['holds'], alice);
    const evidence = new RegExp(`${ins.uetr}.* evidence ([0-9a-f]{16})`).exec(listed.stdout)?.[1];
    assert.ok(evidence, listed.stdout);
    const stale = await run(
      ['holds', 'release', ins.uetr, '--evidence', '0000000000000000', '--comment', 'seen before'],
      alice,
    );
    assert.equal(stale.code, 7, explain(stale));
    assert.match(stale.stderr, /screened again/);
    const first = await run(
      [
        'holds',
        'release',
        ins.uetr,
        '--evidence',
        evidence,
        '--comment',
        'different company, checked registry',
      ],
      alice,
    );
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /1 more release/);
    const second = await run(['holds', 'release', ins.uetr, '--comment', 'agree'], bob);
    assert.match(second.stdout, /ACCEPTED/);
    const noComment = await run(['holds', 'reject', ins.uetr], alice);
    assert.equal(noComment.code, 2, explain(noComment));
  });

  it('verifies the audit log', async () => {
    const listed = await run(['audit', 'list'], alice);
    assert.match(listed.stdout, /list\.upsert/);
    assert.match(listed.stdout, /hold\.release/);
    const verified = await run(['audit', 'verify'], alice);
    assert.equal(verified.code, 0, explain(verified));
    assert.match(verified.stdout, /intact/);
  });

  it('needs an officer token in development mode and the compliance role', async () => {
    const noToken = await run(['lists'], { CARAVAN_DEV_INSECURE: 'true', CARAVAN_ADDR: gw.address });
    assert.equal(noToken.code, 78, explain(noToken));
    const operator = await run(['lists'], { ...alice, CARAVAN_TOKEN: OFFICERS[2].token });
    assert.equal(operator.code, 6, explain(operator));
  });
});
