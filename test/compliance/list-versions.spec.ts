import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createListMaintenance, type ListMaintenance } from '../../src/compliance/list-maintenance';
import { createScreeningSync } from '../../src/compliance/screening-sync';
import type { ListEntry } from '../../src/screening/list-entry';
import { createAuditLog } from '../../src/store/audit-log';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { createListStore, type ListStore } from '../../src/store/list-store';
import { createLogger } from '../../src/telemetry/logger';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

const bic = (id: string, value: string): ListEntry => ({
  kind: 'bic',
  id,
  ref: id,
  subject: '',
  programs: [],
  bic: value,
});

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
});
