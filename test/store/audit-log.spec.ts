import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { auditIntent, createAuditLog, type AuditLog } from '../../src/store/audit-log';
import { createInstructionStore, type InstructionStore } from '../../src/store/instruction-store';
import { createKeySpace, type KeySpace } from '../../src/store/keys';
import { createListStore } from '../../src/store/list-store';
import { createRouteStore } from '../../src/store/route-store';
import { catchAllRoute } from '../support/gateway';
import { validInstruction } from '../support/instructions';
import { moveDirectly, recordDirectly } from '../support/records';
import { deleteUnder, testRedis, uniquePrefix } from '../support/redis';

describe('store: audit log pages', () => {
  let redis: Redis;
  let prefix: string;
  let audit: AuditLog;
  const EVENTS = 30;
  const DETAIL_BYTES = 100_000;

  before(async () => {
    redis = testRedis();
    prefix = uniquePrefix('audit-pages');
    audit = createAuditLog(redis, createKeySpace(prefix, 4));
    for (let i = 1; i <= EVENTS; i++) {
      await audit.write(
        auditIntent(
          {
            actor: 'alice',
            action: 'list.upsert',
            subject: `l@${i}`,
            details: { pad: 'x'.repeat(DETAIL_BYTES) },
          },
          1_000 + i,
        ),
      );
    }
  });
  after(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('keeps a page of large events near 1 MiB and pages on from the last sequence', async () => {
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < EVENTS; pages++) {
      const page = await audit.list(after, 1000);
      if (page.length === 0) break;
      const bytes = page.reduce((n, e) => n + e.detailsJson.length, 0);
      assert.ok(bytes <= 1024 * 1024 + DETAIL_BYTES + 100, `page of ${bytes} bytes`);
      assert.ok(page.length < EVENTS, 'a single page carried every large event');
      seen.push(...page.map((e) => e.sequence));
      after = page[page.length - 1].sequence;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: EVENTS }, (_, i) => i + 1),
    );
  });

  it('starts right after the sequence asked for and honours the limit', async () => {
    assert.deepEqual(
      (await audit.list(25, 100)).map((e) => e.sequence),
      [26, 27, 28, 29, 30],
    );
    assert.deepEqual(
      (await audit.list(3, 2)).map((e) => e.sequence),
      [4, 5],
    );
    assert.deepEqual(await audit.list(EVENTS, 10), []);
    assert.deepEqual(await audit.list(Number('18446744073709551615'), 10), []);
    assert.deepEqual((await audit.verify()).intact, true);
  });
});

describe('store: audit entries a change leaves pending', () => {
  let redis: Redis;
  let prefix: string;
  let keys: KeySpace;
  let audit: AuditLog;
  let store: InstructionStore;
  const intent = (action: string, subject: string, atMs = Date.now()) =>
    auditIntent({ actor: 'alice', action, subject, details: { comment: 'because' } }, atMs);

  beforeEach(() => {
    redis = testRedis();
    prefix = uniquePrefix('audit-pending');
    keys = createKeySpace(prefix, 4);
    audit = createAuditLog(redis, keys);
    store = createInstructionStore(redis, keys);
  });
  afterEach(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  const pendingEverywhere = async () => {
    const names = await redis.smembers(keys.listNames());
    const all = [...keys.auditPendingKeys(), ...names.map((n) => keys.list(n).auditPending)];
    let n = 0;
    for (const key of all) n += await redis.hlen(key);
    return n;
  };

  it('writes an entry once however many times, and from however many callers, it is written', async () => {
    const once = intent('hold.reject', 'u-1');
    const others = Array.from({ length: 10 }, (_, i) => intent('hold.reject', `u-${i + 2}`));
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => audit.write(once)),
      ...others.map((o) => audit.write(o)),
    ]);
    assert.equal(results.filter((r) => r !== null && r.subject === 'u-1').length, 1);
    assert.equal(results.filter((r) => r === null).length, 9);
    assert.equal(await audit.write(once), null);
    const events = await audit.list(0, 100);
    assert.equal(events.length, 11);
    assert.deepEqual(await audit.verify(), { intact: true, checked: 11 });
  });

  it('leaves the entry of a committed transition, list activation, release or route change pending until it is written', async () => {
    const instruction = validInstruction();
    await recordDirectly(store, instruction, { state: 'HELD_FOR_REVIEW' });
    const released = intent('hold.release-approval', instruction.uetr);
    const held = await store.get(instruction.uetr);
    await store.addRelease(instruction.uetr, 'alice', held!.screening, released);
    const rejected = intent('hold.reject', instruction.uetr);
    const moved = await moveDirectly(store, instruction.uetr, 'HELD_FOR_REVIEW', 'REJECTED', {
      reason: { code: 'RR04', description: 'rejected by compliance review' },
      audit: rejected,
    });
    assert.equal(moved.kind, 'ok');
    // A refused change leaves nothing pending.
    const refused = await moveDirectly(store, instruction.uetr, 'HELD_FOR_REVIEW', 'ACCEPTED', {
      audit: intent('hold.release', instruction.uetr),
    });
    assert.equal(refused.kind, 'stale');

    const lists = createListStore(redis, keys);
    const origin = { createdBy: 'alice', origin: 'test', note: '', nowMs: Date.now() };
    const built = await lists.createVersion('internal', [], origin);
    const activated = intent('list.import', `internal@${built.version}`);
    assert.deepEqual(await lists.activate('internal', built.version, 0, activated), { kind: 'ok' });
    assert.deepEqual(
      await lists.activate('internal', built.version, 0, intent('list.rollback', 'internal@1')),
      { kind: 'moved', current: built.version },
    );

    const routes = createRouteStore(redis, keys);
    const added = await routes.put(catchAllRoute(), (change) =>
      intent(change.replaced ? 'route.replace' : 'route.add', 'catch-all'),
    );
    assert.equal(added.audit?.action, 'route.add');
    const replaced = await routes.put(catchAllRoute(), (change) =>
      intent(change.replaced ? 'route.replace' : 'route.add', 'catch-all'),
    );
    assert.equal(replaced.audit?.action, 'route.replace');
    assert.equal(await routes.remove('absent', () => intent('route.remove', 'absent')), null);

    assert.equal(await pendingEverywhere(), 5);
    assert.deepEqual(await audit.list(0, 10), []);
    // A sweep leaves what is younger than its bound to the gateway that made it.
    assert.deepEqual((await audit.sweep(released.occurredAtMs)).written, []);
    const swept = await audit.sweep(Date.now() + 1);
    assert.deepEqual(swept.written.map((w) => w.action).sort(), [
      'hold.reject',
      'hold.release-approval',
      'list.import',
      'route.add',
      'route.replace',
    ]);
    assert.equal(await pendingEverywhere(), 0);
    const events = await audit.list(0, 10);
    assert.deepEqual(events.map((e) => e.subject).filter((s) => s === instruction.uetr).length, 2);
    assert.deepEqual(await audit.verify(), { intact: true, checked: 5 });
    // An entry written by its own gateway and then found by a sweep is not written twice.
    await audit.settle(store.auditPendingOf(instruction.uetr), rejected);
    assert.deepEqual(await audit.verify(), { intact: true, checked: 5 });
  });

  it('keeps an entry pending when the log cannot be written, without failing the change, and a sweep writes it later', async () => {
    const instruction = validInstruction();
    await recordDirectly(store, instruction, { state: 'HELD_FOR_REVIEW' });
    const rejected = intent('hold.reject', instruction.uetr);
    await moveDirectly(store, instruction.uetr, 'HELD_FOR_REVIEW', 'REJECTED', {
      reason: { code: 'RR04', description: 'rejected' },
      audit: rejected,
    });
    // The log's head is unusable (a wrong type: every write to it fails).
    await redis.set(keys.auditHead(), 'not a hash');
    await audit.settle(store.auditPendingOf(instruction.uetr), rejected);
    assert.equal(await redis.hlen(store.auditPendingOf(instruction.uetr)), 1);
    await assert.rejects(audit.sweep(Date.now() + 1), /WRONGTYPE/);
    await redis.del(keys.auditHead());
    const swept = await audit.sweep(Date.now() + 1);
    assert.deepEqual(
      swept.written.map((w) => w.id),
      [rejected.id],
    );
    assert.equal(await redis.hlen(store.auditPendingOf(instruction.uetr)), 0);
    assert.deepEqual(await audit.verify(), { intact: true, checked: 1 });
  });

  it('reports a pending entry it cannot read and leaves it, writing the others', async () => {
    const pending = keys.auditPendingKeys()[2];
    await redis.hset(pending, 'garbage', '{"id": 1');
    await redis.hset(pending, 'wrong', JSON.stringify({ id: 'wrong', actor: 'alice' }));
    const good = intent('route.remove', 'r-1', 1);
    await redis.hset(keys.routesAuditPending(), good.id, JSON.stringify(good));
    const swept = await audit.sweep(Date.now());
    assert.deepEqual(
      swept.written.map((w) => w.id),
      [good.id],
    );
    assert.deepEqual(swept.malformed.sort(), [`${pending} garbage`, `${pending} wrong`]);
    assert.equal(await redis.hlen(pending), 2);
  });
});

describe('store: audit log verification', () => {
  let redis: Redis;
  let prefix: string;
  let keys: KeySpace;
  let audit: AuditLog;
  const event = (i: number) =>
    auditIntent({ actor: 'alice', action: 'list.upsert', subject: `l@${i}`, details: { i } }, 1_000 + i);

  beforeEach(async () => {
    redis = testRedis();
    prefix = uniquePrefix('audit-verify');
    keys = createKeySpace(prefix, 4);
    audit = createAuditLog(redis, keys);
    for (let i = 1; i <= 1_200; i++) await audit.write(event(i));
  });
  afterEach(async () => {
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('finds an intact log intact while events are appended during the check', async () => {
    let appending = true;
    const appends = (async () => {
      for (let i = 1_201; appending; i++) await audit.write(event(i));
    })();
    const results = [];
    for (let n = 0; n < 5; n++) results.push(await audit.verify());
    appending = false;
    await appends;
    for (const r of results) assert.equal(r.intact, true, JSON.stringify(r));
    assert.ok(results[4].checked > 1_200);
  });

  it('finds a removed last event', async () => {
    await redis.xdel(keys.auditLog(), '1200-0');
    assert.match(JSON.stringify(await audit.verify()), /removed from the end/);
  });

  it('finds an event added past the head around the append script', async () => {
    const [last] = await redis.xrange(keys.auditLog(), '1200-0', '1200-0');
    const forged = last[1].map((v, i) => (last[1][i - 1] === 'actor' ? 'mallory' : v));
    await redis.xadd(keys.auditLog(), '1201-0', ...forged);
    assert.match(JSON.stringify(await audit.verify()), /past the log's head/);
  });

  it('finds a head rolled back, or removed', async () => {
    const [e1199] = await redis.xrange(keys.auditLog(), '1199-0', '1199-0');
    const hashOf1199 = e1199[1][e1199[1].indexOf('hash') + 1];
    await redis.hset(keys.auditHead(), 'seq', '1199', 'hash', hashOf1199);
    assert.match(JSON.stringify(await audit.verify()), /past the log's head/);
    await redis.del(keys.auditHead());
    assert.match(JSON.stringify(await audit.verify()), /past the log's head/);
  });
});
