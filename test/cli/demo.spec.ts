import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { ROOT, startCaravan, type CliResult } from '../support/cli';
import { deleteUnder, keysUnder, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis';

/** What each case must end as: the brief of the demo, independent of the demo's own case table. */
const EXPECTED: readonly { state: string; code: string; delivery: RegExp | null }[] = [
  { state: 'DELIVERED', code: '-', delivery: /rzbm-moscow recorded it once/ },
  { state: 'DELIVERED', code: '-', delivery: /tbcb-tbilisi recorded it once/ },
  { state: 'REJECTED', code: 'RR04', delivery: null },
  { state: 'HELD_FOR_REVIEW', code: '-', delivery: null },
  { state: 'REJECTED', code: 'AG01', delivery: null },
  { state: 'REJECTED', code: 'CNOR', delivery: null },
  { state: 'FAILED', code: 'AB06', delivery: /3 attempts to ameria-yerevan, none answered/ },
];

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Row {
  cells: string[];
  uetr: string;
  traceId: string;
  detail: string;
}

/** The outcome table: a row per case (columns two spaces apart), then its uetr/trace line. */
function rowsOf(stdout: string): Row[] {
  const lines = stdout.split('\n');
  const rows: Row[] = [];
  lines.forEach((line, i) => {
    if (!/^\d+ {2}/.test(line)) return;
    const next = /^ {3}uetr (\S+) {2}trace (\S+)(?: {2}(.*))?$/.exec(lines[i + 1] ?? '');
    assert.ok(next, `no uetr/trace line after ${JSON.stringify(line)}`);
    rows.push({ cells: line.split(/ {2,}/), uetr: next[1], traceId: next[2], detail: next[3] ?? '' });
  });
  return rows;
}

function describeRun(result: CliResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('caravan demo (the CLI process)', function () {
  this.timeout(120_000);
  let redis: Redis;
  const prefixes: string[] = [];

  before(function () {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first (npm test does)');
    redis = testRedis();
  });

  after(async function () {
    // Only reached with keys left when a test failed: never leave them on the shared Redis.
    for (const prefix of prefixes) await deleteUnder(redis, prefix);
    await redis.quit();
  });

  it('runs every case through the real pipeline, prints each outcome, and leaves no key behind', async function () {
    const prefix = uniquePrefix('demo');
    prefixes.push(prefix);
    const started = Date.now();
    const result = await startCaravan(
      ['demo', '--prefix', prefix],
      { REDIS_URL: TEST_REDIS_URL },
      { timeoutMs: 60_000 },
    ).done;
    const elapsedMs = Date.now() - started;
    assert.equal(result.code, 0, describeRun(result));

    const rows = rowsOf(result.stdout);
    assert.equal(rows.length, EXPECTED.length, describeRun(result));
    rows.forEach((row, i) => {
      const [number, , state, code] = row.cells;
      const expected = EXPECTED[i];
      assert.equal(number, String(i + 1));
      assert.equal(state, expected.state, `case ${i + 1}: ${row.cells.join(' | ')}`);
      assert.equal(code, expected.code, `case ${i + 1}: ${row.cells.join(' | ')}`);
      assert.match(row.uetr, UUID_V4);
      assert.match(row.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(row.traceId, '0'.repeat(32), 'a real trace id, not the no-op one');
      if (expected.delivery) assert.match(row.detail, expected.delivery, `case ${i + 1}`);
      else assert.equal(row.detail, '', `case ${i + 1} was never sent to a counterparty`);
    });
    assert.equal(new Set(rows.map((r) => r.uetr)).size, rows.length, 'every case is its own instruction');
    assert.match(result.stdout, /What to try next\./);
    assert.match(result.stdout, new RegExp(`deleted every key under ${prefix}\\.`));
    assert.ok(elapsedMs < 45_000, `the demo took ${elapsedMs} ms`);

    assert.deepEqual(await keysUnder(redis, prefix), []);
  });

  it('refuses a prefix that already holds keys, and leaves them alone', async function () {
    const prefix = uniquePrefix('demo-taken');
    prefixes.push(prefix);
    await redis.set(`${prefix}:someone-else`, 'kept');

    const result = await startCaravan(
      ['demo', '--prefix', prefix],
      { REDIS_URL: TEST_REDIS_URL },
      { timeoutMs: 30_000 },
    ).done;

    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /already holds keys under/);
    assert.deepEqual(await keysUnder(redis, prefix), [`${prefix}:someone-else`]);
  });
});
