import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { createAuditLog, type AuditLog } from '../../src/store/audit-log';
import { createKeySpace } from '../../src/store/keys';
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
      await audit.append(
        {
          actor: 'alice',
          action: 'list.upsert',
          subject: `l@${i}`,
          details: { pad: 'x'.repeat(DETAIL_BYTES) },
        },
        1_000 + i,
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
