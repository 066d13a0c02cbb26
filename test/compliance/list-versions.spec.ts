import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type Redis from 'ioredis';
import { parseListFiles } from '../../src/compliance/importers';
import { emptyStats } from '../../src/compliance/importers/import-result';
import {
  createListMaintenance,
  type ImportOutcome,
  type ListMaintenance,
} from '../../src/compliance/list-maintenance';
import type { SettlementError } from '../../src/settlement/errors';
import { createScreeningSync } from '../../src/compliance/screening-sync';
import type { ListEntry } from '../../src/screening/list-entry';
import { createAuditLog } from '../../src/store/audit-log';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { createListStore, type ListStore } from '../../src/store/list-store';
import { createLogger } from '../../src/telemetry/logger';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';
import { fixture } from './importers/fixtures';

const bic = (id: string, value: string): ListEntry => ({
  kind: 'bic',
  id,
  ref: id,
  subject: '',
  programs: [],
  bic: value,
});

const TAIL =
  '; without force at most 20% of the entries, names or aliases and 5% of any kind of identifier may go; check the files, or use force';
describe('list versions: rollbacks, refusals and loading', function () {
  this.timeout(30_000);
  let redis: Redis;
  let subscriber: Redis;
  let prefix: string;
  let keys: KeySpace;
  let lists: ListStore;
  let maintenance: ListMaintenance;

  beforeEach(() => {
    redis = testRedis();
    subscriber = testRedis();
    prefix = uniquePrefix('list-versions');
    keys = createKeySpace(prefix, 4);
    lists = createListStore(redis, keys);
    maintenance = createListMaintenance({
      lists,
      audit: createAuditLog(redis, keys),
      parse: () => Promise.reject(new Error('no imports here')),
      now: Date.now,
      maxDropShare: 0.5,
      keepVersions: 5,
    });
  });
  afterEach(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
    subscriber.disconnect();
  });

  /** Versions 1, 2 and 3 of `list`, with one, two and three entries; 3 is current. */
  async function twoVersions(list: string): Promise<void> {
    await maintenance.upsertEntry(list, bic('a', 'AAAAKZKA'), 'first', 'alice');
    await maintenance.upsertEntry(list, bic('b', 'BBBBKZKA'), 'second', 'alice');
    await maintenance.upsertEntry(list, bic('c', 'CCCCKZKA'), 'third', 'alice');
    assert.equal(await lists.currentVersion(list), 3);
  }

  it('keeps the version two officers roll back to at once, with every entry', async () => {
    await twoVersions('internal');
    const answers = await Promise.all([
      maintenance.rollback('internal', 2, 'bad change', 'alice'),
      maintenance.rollback('internal', 2, 'bad change', 'bob'),
    ]);
    const refused = answers.filter((a) => 'kind' in a);
    assert.equal(refused.length, 1, 'one rollback wins, the other is told the list moved');
    assert.equal(await lists.currentVersion('internal'), 2);
    const meta = await lists.meta('internal', 2);
    assert.equal(meta?.status, 'activated');
    assert.equal((await lists.loadEntries('internal', 2)).length, meta?.entryCount);
    assert.equal(meta?.entryCount, 2);
  });

  it('never refuses a version that is or was current', async () => {
    await twoVersions('internal');
    await lists.refuse('internal', 3);
    await lists.refuse('internal', 1);
    // A version whose keys expired already leaves nothing behind when refused.
    await lists.refuse('internal', 99);
    assert.equal(await redis.exists(keys.list('internal').meta(99)), 0);
    assert.equal((await lists.meta('internal', 3))?.status, 'activated');
    assert.equal((await lists.loadEntries('internal', 3)).length, 3);
    assert.equal((await lists.loadEntries('internal', 1)).length, 1);
  });

  it('prunes old versions but never the one a rollback made current', async () => {
    await twoVersions('internal');
    assert.deepEqual(await lists.activate('internal', 1, 3), { kind: 'ok' });
    assert.equal(await lists.prune('internal', 1), 1);
    assert.equal((await lists.loadEntries('internal', 1)).length, 1);
    assert.equal((await lists.loadEntries('internal', 2)).length, 0);
  });

  it('does not screen with a version whose entries are not all in Redis', async () => {
    await twoVersions('internal');
    const sync = await createScreeningSync({
      lists,
      keys,
      subscriber,
      log: createLogger('silent'),
      now: Date.now,
      stalenessMs: 60_000,
      pollMs: 60_000,
    });
    try {
      const before = sync.snapshot();
      assert.equal(before.kind === 'current' && before.lists[0].version, 3);
      const entries = ['a', 'b', 'c', 'd'].map((id) => bic(id, `${id.repeat(4).toUpperCase()}KZKA`));
      const origin = { createdBy: 'alice', origin: 'test', note: '', nowMs: Date.now() };
      const built = await lists.createVersion('internal', entries, origin);
      // An entry lost before activation (a bad restore, a stray HDEL): four expected, three there.
      await redis.hdel(keys.list('internal').entries(built.version), 'b');
      assert.deepEqual(await lists.activate('internal', built.version, 3), { kind: 'ok' });
      await assert.rejects(sync.refresh(), /incomplete/);
      const after = sync.snapshot();
      assert.equal(after.kind === 'current' && after.lists[0].version, 3);
    } finally {
      await sync.close();
    }
  });

  it('keeps screening with a list that lost its current version, unconfirmed, until intake refuses', async () => {
    await twoVersions('internal');
    await twoVersions('other');
    const clock = { ms: 0 };
    const sync = await createScreeningSync({
      lists,
      keys,
      subscriber,
      log: createLogger('silent'),
      now: () => clock.ms,
      stalenessMs: 15_000,
      pollMs: 60_000,
    });
    try {
      const listed = () => {
        const snapshot = sync.snapshot();
        return snapshot.kind === 'current' ? snapshot.lists.map((l) => l.list).sort() : snapshot.kind;
      };
      assert.deepEqual(listed(), ['internal', 'other']);
      // A failover that lost a write, a stray DEL or SREM: nothing in Caravan removes a list.
      await redis.del(keys.list('internal').current);
      await assert.rejects(sync.refresh(), /internal lost their current version/);
      await redis.set(keys.list('internal').current, '3');
      await redis.srem(keys.listNames(), 'other');
      clock.ms = 10_000;
      await assert.rejects(sync.refresh(), /other lost their current version/);
      assert.deepEqual(listed(), ['internal', 'other'], 'the lists are kept');
      clock.ms = 20_000;
      assert.equal(listed(), 'stale', 'and unconfirmed, so intake refuses to decide');
    } finally {
      await sync.close();
    }
  });

  it('does not rebuild the indexes for a list that was never made current', async () => {
    await twoVersions('internal');
    await redis.sadd(keys.listNames(), 'never-imported');
    const sync = await createScreeningSync({
      lists,
      keys,
      subscriber,
      log: createLogger('silent'),
      now: () => performance.now(),
      stalenessMs: 60_000,
      pollMs: 60_000,
    });
    try {
      const generation = () => {
        const snapshot = sync.snapshot();
        return snapshot.kind === 'current' ? snapshot.generation : -1;
      };
      const first = generation();
      for (let i = 0; i < 3; i++) await sync.refresh();
      assert.equal(generation(), first);
    } finally {
      await sync.close();
    }
  });
});

const SET_2021 = 'ofac_sdn_2021-07-07';

/**
 * The 2021-07-07 OFAC SDN set's files, as an upload names them; `replace` gives other contents for
 * some of them, or null to leave one out.
 */
function ofacSet(replace: Record<string, Readable | null> = {}): { name: string; stream: Readable }[] {
  const files: { name: string; stream: Readable }[] = [];
  for (const name of ['sdn.csv', 'alt.csv', 'add.csv', 'sdn_comments.csv']) {
    const stream = Object.hasOwn(replace, name) ? replace[name] : fixture(`${SET_2021}/${name}`);
    if (stream) files.push({ name, stream });
  }
  return files;
}

const wallet = (i: number): ListEntry => ({
  kind: 'wallet',
  id: `w${i}`,
  ref: `w${i}`,
  subject: '',
  programs: [],
  network: 'XBT',
  address: `1Address${String(i).padStart(6, '0')}`,
});

const person = (i: number, aliases = 0): ListEntry => ({
  kind: 'name',
  id: `n${i}`,
  ref: `n${i}`,
  subject: `PERSON ${i}`,
  programs: [],
  name: `PERSON ${i}`,
  aliases: Array.from({ length: aliases }, (_, a) => ({ name: `ALIAS ${i} ${a}`, kind: 'aka' as const })),
  type: 'person',
  countries: [],
});

describe('list versions: imports that would silently lose entries, aliases or identifiers', function () {
  this.timeout(60_000);
  let redis: Redis;
  let prefix: string;
  let keys: KeySpace;
  let lists: ListStore;
  /** What the injected parser answers, for imports that are not about the files. */
  let parsed: ListEntry[];
  let maintenance: ListMaintenance;

  const importing = (list: string, files: { name: string; stream: Readable }[], force = false) =>
    maintenance.importList({ list, format: 'ofac-sdn', files, force, note: 'daily', actor: 'alice' });

  beforeEach(() => {
    redis = testRedis();
    prefix = uniquePrefix('list-drops');
    keys = createKeySpace(prefix, 4);
    lists = createListStore(redis, keys);
    parsed = [];
    maintenance = createListMaintenance({
      lists,
      audit: createAuditLog(redis, keys),
      parse: (format, files) =>
        files.length > 0
          ? parseListFiles(format, files)
          : Promise.resolve({ entries: parsed, errors: [], stats: emptyStats() }),
      now: Date.now,
      maxDropShare: 0.2,
      keepVersions: 5,
    });
  });
  afterEach(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  function outcomeOf(outcome: ImportOutcome | SettlementError): ImportOutcome {
    assert.ok(!('kind' in outcome), JSON.stringify(outcome));
    return outcome;
  }

  it('refuses an OFAC set whose alt.csv and sdn_comments.csv came empty, keeping the current version', async () => {
    const full = outcomeOf(await importing('ofac-sdn', ofacSet()));
    assert.equal(full.activated, true, full.refusal);
    const next = outcomeOf(
      await importing(
        'ofac-sdn',
        ofacSet({ 'alt.csv': Readable.from([]), 'sdn_comments.csv': Readable.from(['\x1a']) }),
        // Not even force activates files with problems.
        true,
      ),
    );
    assert.equal(next.activated, false);
    assert.deepEqual(
      next.problems.map((p) => `${p.file}:${p.line} ${p.message}`),
      [
        'sdn_comments.csv:0 file holds no records; leave a file the set does not have out of the import',
        'alt.csv:0 file is empty',
      ],
    );
    assert.equal(await lists.currentVersion('ofac-sdn'), full.version?.version);
  });

  it('needs force for a set that leaves out the file of most aliases, and says what dropped', async () => {
    const full = outcomeOf(await importing('ofac-sdn', ofacSet()));
    assert.equal(full.activated, true, full.refusal);
    assert.deepEqual(full.version?.content, {
      aliases: 14345,
      kinds: { name: 8976, 'national-id': 6715, wallet: 97, bic: 82 },
    });
    // Entries barely change (15,870 → 15,851); the aliases of alt.csv and 17 wallet addresses of
    // sdn_comments.csv go.
    const partial = () => ofacSet({ 'alt.csv': null, 'sdn_comments.csv': null });
    const refused = outcomeOf(await importing('ofac-sdn', partial()));
    assert.equal(refused.activated, false);
    assert.equal(
      refused.refusal,
      'the new version loses too much: aliases (2438 against 14345 now), wallet entries (80 against 97 now)' +
        TAIL,
    );
    assert.equal(await lists.currentVersion('ofac-sdn'), full.version?.version);
    const forced = outcomeOf(await importing('ofac-sdn', partial(), true));
    assert.equal(forced.activated, true, forced.refusal);
  });

  it('needs force when one kind of identifier drops, whatever the entry count does', async () => {
    parsed = [
      ...Array.from({ length: 100 }, (_, i) => person(i)),
      ...Array.from({ length: 5 }, (_, i) => wallet(i)),
    ];
    assert.equal(outcomeOf(await importing('internal', [])).activated, true);
    parsed = Array.from({ length: 100 }, (_, i) => person(i));
    const refused = outcomeOf(await importing('internal', []));
    assert.equal(refused.refusal, 'the new version loses too much: wallet entries (0 against 5 now)' + TAIL);
    parsed = [...Array.from({ length: 60 }, (_, i) => person(i)), wallet(0)];
    assert.equal(
      outcomeOf(await importing('internal', [])).refusal,
      'the new version loses too much: entries (61 against 105 now), name entries (60 against 100 now), ' +
        'wallet entries (1 against 5 now)' +
        TAIL,
    );
  });

  it('compares with a version whose meta predates the content counts by counting its entries', async () => {
    parsed = Array.from({ length: 10 }, (_, i) => person(i, 3));
    const first = outcomeOf(await importing('internal', []));
    assert.equal(first.activated, true);
    // As a version written before the counts were recorded.
    const v = first.version?.version ?? 0;
    await redis.hdel(keys.list('internal').meta(v), 'content');
    assert.equal((await lists.meta('internal', v))?.content, undefined);
    assert.deepEqual(await lists.content('internal', v), { aliases: 30, kinds: { name: 10 } });
    parsed = Array.from({ length: 10 }, (_, i) => person(i, 1));
    assert.equal(
      outcomeOf(await importing('internal', [])).refusal,
      'the new version loses too much: aliases (10 against 30 now)' + TAIL,
    );
  });

  it("keeps the counts of a version made by one entry's change", async () => {
    parsed = [person(1, 2), person(2, 2), wallet(1)];
    outcomeOf(await importing('internal', []));
    const upserted = await maintenance.upsertEntry('internal', person(1, 5), 'more aliases', 'alice');
    assert.ok(!('kind' in upserted));
    assert.deepEqual(upserted.content, { aliases: 7, kinds: { name: 2, wallet: 1 } });
    const removed = await maintenance.removeEntry('internal', 'w1', 'delisted', 'alice');
    assert.ok(!('kind' in removed));
    assert.deepEqual(removed.content, { aliases: 7, kinds: { name: 2, wallet: 0 } });
    assert.deepEqual((await lists.meta('internal', removed.version))?.content, removed.content);
  });

  it('refuses a truncated sdn.csv on the first import of the list, where no count is there to compare', async () => {
    const whole = fixture(`${SET_2021}/sdn.csv`);
    const chunks: Buffer[] = [];
    for await (const chunk of whole) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const cut = bytes.subarray(0, bytes.indexOf('\r\n', Math.floor(bytes.length / 10)) + 2);
    const outcome = outcomeOf(
      await importing('ofac-sdn', [{ name: 'sdn.csv', stream: Readable.from([cut]) }], true),
    );
    assert.equal(outcome.activated, false);
    assert.match(
      outcome.problems[0]?.message ?? '',
      /^the file ends without OFAC's end-of-file mark \(0x1A\)/,
    );
    assert.equal(await lists.currentVersion('ofac-sdn'), 0);
  });

  it('refuses a version whose staging keys expired between two batches, never activating the rest', async () => {
    parsed = Array.from({ length: 2500 }, (_, i) => wallet(i));
    // The TTL running out during a pause after the first batch (a stalled connection, a long GC
    // pause): the half-built entries hash disappears, as it would on expiry.
    const client = redis as unknown as { stageHash: (...args: (string | number)[]) => Promise<number> };
    const stage = client.stageHash.bind(redis);
    let batches = 0;
    client.stageHash = async (...args) => {
      const reply = await stage(...args);
      if (String(args[0]).endsWith(':entries') && ++batches === 1) await redis.del(String(args[0]));
      return reply;
    };
    const outcome = outcomeOf(await importing('wallets', []));
    assert.equal(outcome.activated, false);
    assert.match(outcome.refusal, /^version 1 of wallets was not written whole: its keys in Redis expired/);
    assert.equal(await lists.currentVersion('wallets'), 0);
    assert.equal(batches, 2, 'the batch after the expiry wrote nothing and the build stopped');
    assert.equal(await redis.exists(keys.list('wallets').entries(1)), 0);
    assert.equal(await redis.exists(keys.list('wallets').meta(1)), 0);
  });

  it('has stage-hash.lua write nothing when the hash does not hold what the build wrote before', async () => {
    const client = redis as unknown as { stageHash: (...args: (string | number)[]) => Promise<number> };
    const key = `${prefix}:stage-test`;
    assert.equal(await client.stageHash(key, 60_000, 0, 'a', '1', 'b', '2'), 2);
    assert.equal(await client.stageHash(key, 60_000, 2, 'b', '2', 'c', '3'), 3);
    assert.equal(await client.stageHash(key, 60_000, 2, 'd', '4'), -1);
    await redis.del(key);
    assert.equal(await client.stageHash(key, 60_000, 3, 'd', '4'), -1);
    assert.equal(await redis.exists(key), 0);
  });
});
