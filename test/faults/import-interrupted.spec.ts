import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type Redis from 'ioredis';
import {
  ListFormat,
  type ComplianceClient,
  type ImportHeader,
  type ImportListResponse,
} from '../../src/gen/caravan/compliance/v1/compliance';
import type { SettlementGatewayClient } from '../../src/gen/caravan/settlement/v1/gateway';
import { IdentifierType, type SettlementInstruction } from '../../src/gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../../src/gen/caravan/settlement/v1/status';
import { parseEvidence } from '../../src/settlement/screening-step';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { createListStore, STAGING_TTL_MS, type ListStore } from '../../src/store/list-store';
import { asOfficer, complianceClient, fixture, importFiles, ROLE_TOKENS_ENV } from '../support/compliance';
import { closedPort } from '../support/delivery';
import { HALYK, sleep, startServe } from '../support/fault-load';
import { catchAllRoute, devClient, grpcError, putRoutes, submit } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { pacedImport } from '../support/paced-import';
import type { ServerProcess } from '../support/processes';
import { startRedisRelay } from '../support/redis-relay';
import { TEST_REDIS_URL, deleteUnder, keysUnder, testRedis, uniquePrefix } from '../support/redis';

const LIST = 'ofac-sdn';
const FILE = 'sdn.csv';
const ALICE = asOfficer('alice');

/**
 * What screening must keep answering whatever happens to an import: a listed BIC (ref 18723 of
 * the 2024-05-03 SDN list), a listed Kazakh BIN, a Cyrillic spelling of a listed company, and a
 * clean instruction.
 */
const PROBES: Record<string, () => SettlementInstruction> = {
  'listed BIC': () =>
    validInstruction({ creditorAgent: { bic: 'VTBAKZKZ' }, instructedAgent: { bic: 'VTBAKZKZ' } }),
  'listed BIN': () => {
    const ins = validInstruction();
    ins.creditor!.country = 'KZ';
    ins.creditor!.identifiers = [
      { type: IdentifierType.IDENTIFIER_TYPE_KZ_BIN, value: '110140012405', issuerCountry: 'KZ' },
    ];
    return ins;
  },
  'listed name in Cyrillic': () => {
    const ins = validInstruction();
    ins.creditor!.name = 'ТОО Сбер Восток';
    return ins;
  },
  clean: () => validInstruction(),
};
const EXPECTED: Record<string, string> = {
  'listed BIC': 'REJECTED RR04',
  'listed BIN': 'REJECTED RR04',
  'listed name in Cyrillic': 'HELD_FOR_REVIEW -',
  clean: 'ACCEPTED -',
};

interface GatewayProcess {
  name: string;
  process: ServerProcess;
  compliance: ComplianceClient;
  settlement: SettlementGatewayClient;
}

/** The list as Redis holds it: what an interrupted import must leave exactly as it was. */
interface ListState {
  current: number;
  sequence: number;
  activated: number[];
  meta: Record<string, string>;
  entryCount: number;
  /** SHA-256 over the current version's entries, sorted by id. */
  fingerprint: string;
}

/**
 * The fault tests of a sanctions list import interrupted half-way: the client cancels the upload,
 * the file fails to parse in the middle, the gateway process is SIGKILLed while writing the new
 * version. Real `caravan serve` processes (plaintext development mode, officers by token) share
 * one Redis key prefix like replicas do; the list is the real OFAC SDN file of 2024-05-03.
 */
describe('fault: a list import interrupted half-way', function () {
  this.timeout(180_000);
  let redis: Redis;
  let prefix: string;
  let keys: KeySpace;
  let lists: ListStore;
  let store: InstructionStore;
  let sdn: Buffer;
  let main: GatewayProcess;
  const gateways: GatewayProcess[] = [];
  /** The list before the current case's fault; each case ends by making a new one current. */
  let baseline: ListState;

  async function startGatewayProcess(name: string, redisUrl = TEST_REDIS_URL): Promise<GatewayProcess> {
    const port = await closedPort();
    const process = startServe({
      port,
      redisUrl,
      prefix,
      env: { CARAVAN_ROLE_TOKENS: ROLE_TOKENS_ENV, CARAVAN_LIST_POLL_MS: '200' },
    });
    await process.ready;
    const address = `127.0.0.1:${port}`;
    const g = { name, process, compliance: complianceClient(address), settlement: devClient(address) };
    gateways.push(g);
    return g;
  }

  async function stopGateway(g: GatewayProcess, signal: NodeJS.Signals) {
    g.compliance.close();
    g.settlement.close();
    gateways.splice(gateways.indexOf(g), 1);
    return g.process.stop(signal);
  }

  const header = (note: string): ImportHeader => ({
    list: LIST,
    format: ListFormat.LIST_FORMAT_OFAC_SDN,
    fileNames: [FILE],
    // Force waives only the entry-count check: were a cut-off upload taken for a complete file,
    // nothing else would stop its half list from becoming current.
    force: true,
    note,
  });

  async function listState(): Promise<ListState> {
    const k = keys.list(LIST);
    const current = await lists.currentVersion(LIST);
    const entries = await lists.loadEntries(LIST, current);
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      current,
      sequence: Number((await redis.get(k.sequence)) ?? 0),
      activated: (await redis.zrange(k.versions, 0, -1)).map(Number),
      meta: await redis.hgetall(k.meta(current)),
      entryCount: entries.length,
      fingerprint: createHash('sha256').update(JSON.stringify(entries)).digest('hex'),
    };
  }

  /**
   * The list's version keys, each with its PTTL: a version never activated is staging and must
   * carry a TTL (or be gone), an activated one must never expire.
   */
  async function versionKeys() {
    const activated = new Set((await redis.zrange(keys.list(LIST).versions, 0, -1)).map(Number));
    const found = await keysUnder(redis, `${prefix}:{L:${LIST}}`);
    const out: { key: string; version: number; activated: boolean; pttl: number }[] = [];
    for (const key of found) {
      const m = /:v(\d+):(entries|meta)$/.exec(key);
      if (m === null) continue;
      const version = Number(m[1]);
      out.push({ key, version, activated: activated.has(version), pttl: await redis.pttl(key) });
    }
    return {
      staging: out.filter((k) => !k.activated),
      activatedExpiring: out.filter((k) => k.activated && k.pttl !== -1),
    };
  }

  const describeKeys = (found: { key: string; pttl: number }[]) =>
    found.length === 0
      ? 'none'
      : found.map((k) => `${k.key.slice(prefix.length + 1)} ttl ${Math.round(k.pttl / 1000)} s`).join(', ');

  /** Each probe's answer from one gateway, with the list version its screening used. */
  async function answers(g: GatewayProcess): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [name, make] of Object.entries(PROBES)) {
      const ins = make();
      const res = await submit(g.settlement, ins, HALYK);
      const record = await store.get(ins.uetr);
      const versions = parseEvidence(record?.screening ?? '').versions.map((v) => `${v.list}@${v.version}`);
      out[name] =
        `${InstructionState[res.state].replace('INSTRUCTION_STATE_', '')} ${res.reason?.code || '-'} ${versions.join()}`;
    }
    return out;
  }

  const expectedAnswers = (version: number) =>
    Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, `${v} ${LIST}@${version}`]));

  /** Waits until the gateway screens with `version` (its index swaps on the list announcement). */
  async function screensWith(g: GatewayProcess, version: number, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    let last: Record<string, string> = {};
    while (Date.now() < until) {
      last = await answers(g);
      if (last.clean.endsWith(`${LIST}@${version}`)) return last;
      await sleep(200);
    }
    throw new Error(`${g.name} does not screen with ${LIST}@${version}: ${JSON.stringify(last)}`);
  }

  /** The list exactly as before the fault, and every running gateway screening as before. */
  async function assertUntouched(label: string) {
    const after = await listState();
    assert.equal(after.current, baseline.current, `${label}: current version pointer`);
    assert.deepEqual(after.activated, baseline.activated, `${label}: activated versions`);
    assert.deepEqual(after.meta, baseline.meta, `${label}: current version's meta`);
    assert.equal(after.entryCount, baseline.entryCount, `${label}: current version's entry count`);
    assert.equal(after.fingerprint, baseline.fingerprint, `${label}: current version's entries`);
    for (const g of gateways) {
      assert.deepEqual(await answers(g), expectedAnswers(baseline.current), `${label}: ${g.name} screening`);
    }
    const { staging, activatedExpiring } = await versionKeys();
    assert.deepEqual(activatedExpiring, [], `${label}: no activated version may expire`);
    for (const k of staging) assert.ok(k.pttl > 0, `${label}: ${k.key} is left without a TTL`);
    return { after, staging };
  }

  /** The complete import that must succeed after each fault; the new version becomes the baseline. */
  async function completeImport(via: GatewayProcess, label: string) {
    const started = Date.now();
    const res = await importFiles(via.compliance, ALICE, header(`${label}: complete import`), [
      { name: FILE, data: sdn },
    ]);
    const ms = Date.now() - started;
    assert.equal(res.activated, true, res.refusal);
    const version = Number(res.version?.version);
    for (const g of gateways) await screensWith(g, version);
    const next = await listState();
    assert.equal(next.current, version);
    assert.equal(next.entryCount, baseline.entryCount, 'the same file gives the same entries');
    assert.equal(next.fingerprint, baseline.fingerprint, 'the same file gives the same entries');
    for (const g of gateways) assert.deepEqual(await answers(g), expectedAnswers(version), g.name);
    assert.deepEqual((await versionKeys()).activatedExpiring, []);
    baseline = next;
    return { version, ms };
  }

  before(async function () {
    redis = testRedis();
    prefix = uniquePrefix('fault-import');
    keys = createKeySpace(prefix, 16);
    lists = createListStore(redis, keys);
    store = createInstructionStore(redis, keys);
    sdn = fixture('sanctions/ofac_sdn_2024-05-03/sdn.csv.gz');
    await putRoutes(prefix, [catchAllRoute()]);
    main = await startGatewayProcess('main');
    const res = await importFiles(main.compliance, ALICE, header('first import'), [
      { name: FILE, data: sdn },
    ]);
    assert.equal(res.activated, true, res.refusal);
    await screensWith(main, Number(res.version?.version));
    baseline = await listState();
    assert.deepEqual(await answers(main), expectedAnswers(baseline.current));
  });

  after(async () => {
    for (const g of [...gateways]) await stopGateway(g, 'SIGKILL');
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('the client cancels the upload half-way: nothing changes, and the next complete import succeeds', async () => {
    const sequenceBefore = baseline.sequence;
    const upload = pacedImport(main.compliance, ALICE, header('cancelled half-way'), sdn);
    const sent = await upload.sendUntil(sdn.length / 2);
    // Let the gateway take in what was sent, so the cancel reaches a call holding half the file.
    await sleep(500);
    upload.cancel();
    const err = await grpcError(upload.answer);
    // A gateway that took the cancel for the end of the file would now be parsing and writing it.
    await sleep(2_000);
    const { after, staging } = await assertUntouched('cancelled upload');
    const next = await completeImport(main, 'after the cancel');
    console.log(
      `      counts: cancelled after ${sent} of ${sdn.length} bytes (${status[err.code]}); ` +
        `current v${after.current} kept (${after.entryCount} entries, fingerprint unchanged), versions started ` +
        `by the cancelled upload ${after.sequence - sequenceBefore}, staging keys ${describeKeys(staging)}; ` +
        `next complete import v${next.version} current in ${next.ms} ms`,
    );
    assert.equal(err.code, status.CANCELLED);
    // The gateway notices the cancel before it writes the version, or at the latest before it
    // activates it: a version started and then refused keeps no entries.
    assert.deepEqual(
      staging.filter((k) => k.version > sequenceBefore && k.key.endsWith(':entries')),
      [],
      'no entries of the cancelled upload are left',
    );
  });

  it('the file fails to parse half-way: refused with the line number, nothing changes, and the next complete import succeeds', async () => {
    const sequenceBefore = baseline.sequence;
    const lines = sdn.toString('latin1').split('\r\n');
    const broken = Math.floor(lines.length / 2);
    // A line cut short, as a botched transfer or hand edit leaves it.
    lines[broken - 1] = lines[broken - 1].slice(0, Math.floor(lines[broken - 1].length / 2));
    const damaged = Buffer.from(lines.join('\r\n'), 'latin1');
    const started = Date.now();
    const res: ImportListResponse = await importFiles(main.compliance, ALICE, header('broken half-way'), [
      { name: FILE, data: damaged },
    ]);
    const refusedMs = Date.now() - started;
    const { after, staging } = await assertUntouched('parse error');
    const next = await completeImport(main, 'after the parse error');
    console.log(
      `      counts: parse problems ${res.problems.length} (+${res.problemsOmitted} omitted) at line(s) ` +
        `${res.problems.map((p) => `${p.file}:${p.line}`).join()} of ${lines.length} ("${res.problems[0]?.message}"), ` +
        `refused in ${refusedMs} ms: "${res.refusal}"; version built ${res.version?.version ?? 'none'}; current v${after.current} kept ` +
        `(${after.entryCount} entries, fingerprint unchanged), staging keys ${describeKeys(staging)}; next complete import v${next.version} current in ${next.ms} ms`,
    );
    assert.equal(res.activated, false);
    assert.equal(res.version, undefined, 'refused before any version was written');
    assert.deepEqual(
      res.problems.map((p) => [p.file, p.line]),
      [[FILE, broken]],
    );
    assert.match(res.refusal, /^1 problem\(s\) in the files/);
    assert.equal(after.sequence, sequenceBefore, 'the refused file never started a version');
    assert.deepEqual(
      staging.filter((k) => k.version > sequenceBefore),
      [],
    );
  });

  it('the gateway is SIGKILLed half-way through writing the new version: nothing becomes current, the half-built version expires, and the next complete import succeeds', async () => {
    // A second replica whose Redis traffic passes a relay, frozen at the third batch of the new
    // version's entries (each batch names the key once) so that the kill lands with the version
    // half written, wherever the machine's load puts that moment.
    const caseStarted = Date.now();
    const relay = await startRedisRelay();
    const replica = await startGatewayProcess('replica', relay.url);
    const replicaMs = Date.now() - caseStarted;
    assert.deepEqual(await answers(replica), expectedAnswers(baseline.current));
    const building = baseline.sequence + 1;
    const frozen = relay.freezeAt(keys.list(LIST).entries(building), 3);
    const upload = grpcError(
      importFiles(replica.compliance, ALICE, header('killed half-way'), [{ name: FILE, data: sdn }]),
    );
    const startedAt = Date.now();
    await Promise.race([
      frozen,
      sleep(60_000).then(() => {
        throw new Error('the replica never started writing the new version');
      }),
    ]);
    const killed = await stopGateway(replica, 'SIGKILL');
    const killedAfterMs = Date.now() - startedAt;
    await relay.close();
    const err = await upload;
    const written = await redis.hlen(keys.list(LIST).entries(building));
    const builtMeta = await redis.hgetall(keys.list(LIST).meta(building));

    const { after, staging } = await assertUntouched('killed replica');
    // A replica started after the crash loads the same current version, not the half-built one.
    const restartedAt = Date.now();
    const restarted = await startGatewayProcess('restarted');
    const restartMs = Date.now() - restartedAt;
    assert.deepEqual(await answers(restarted), expectedAnswers(baseline.current), 'restarted replica');
    const next = await completeImport(restarted, 'after the kill');
    const leftover = await versionKeys();
    const finalState = await listState();
    console.log(
      `      counts: replica (up in ${replicaMs} ms) SIGKILLed ${killedAfterMs} ms into the import (${killed.signal}; its client got ` +
        `${status[err.code]}) with ${written} of ${baseline.entryCount} entries of v${building} ` +
        `written, meta ${Object.keys(builtMeta).length === 0 ? 'absent' : builtMeta.status}; current v${after.current} kept ` +
        `(${after.entryCount} entries, fingerprint unchanged); the main gateway and a replica restarted after the kill (up in ${restartMs} ms) screen with it; staging keys ` +
        `${describeKeys(staging)}; ` +
        `next complete import v${next.version} current in ${next.ms} ms, activated versions ${finalState.activated.join()}; ` +
        `leftover staging keys ${leftover.staging.length} (all with TTL: ${leftover.staging.every((s) => s.pttl > 0)})`,
    );
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(err.code, status.UNAVAILABLE, 'the killed replica never answered the import');
    assert.ok(written > 0 && written < baseline.entryCount, `${written} entries written before the kill`);
    assert.equal(after.sequence, building, 'the killed import had started version ' + building);
    const halfBuilt = staging.find((k) => k.key === keys.list(LIST).entries(building));
    assert.ok(halfBuilt, 'the half-built version left its entries behind');
    assert.ok(
      halfBuilt.pttl > 0 && halfBuilt.pttl <= STAGING_TTL_MS,
      `its entries expire (${halfBuilt.pttl} ms)`,
    );
    assert.equal(next.version, building + 1);
    assert.ok(!finalState.activated.includes(building), 'the half-built version was never activated');
    for (const k of leftover.staging) assert.ok(k.pttl > 0, `${k.key} expires`);
  });
});
