import { strict as assert } from 'node:assert';
import path from 'node:path';
import type { NameEntry } from '../../src/screening/list-entry';
import {
  DEFAULT_MIN_THRESHOLD,
  bruteForceSearch,
  buildNameIndex,
  buildSharedNameIndex,
  type NameIndex,
  type NameMatch,
  type NameSearchOptions,
} from '../../src/screening/name-index';
import { DEFAULT_REVIEW_THRESHOLD as T } from '../../src/screening/name-score';
import { readCsvRecords } from '../support/screening-csv';
import { nameEntry } from '../support/name-entries';
import { loadAllLists } from '../support/screening-lists';
import { perturbedQueries, randomNames } from '../support/screening-queries';

describe('name index', () => {
  describe('on a small list', () => {
    const entries = [
      nameEntry('1', 'SBER VOSTOK LLP', { aliases: [{ name: 'ТОО Сбер Восток', kind: 'original-script' }] }),
      nameEntry('2', '11420 CORP.'),
      nameEntry('3', 'ACME CORP.'),
      nameEntry('4', 'LUKASHENKA, Alyaksandr Ryhorovich', {
        type: 'person',
        aliases: [{ name: 'LUKASHENKO, Aleksandr Grigorevich', kind: 'aka' }],
        programs: ['BELARUS'],
      }),
      nameEntry('5', 'VLADIMIROV, Vladimir', { type: 'person' }),
      nameEntry('6', 'ALHOSSEIN SHIPPING'),
      nameEntry('7', 'ABDUL RAHMAN HOLDOR'),
    ];
    const index = buildNameIndex(entries);

    it('counts primaries and aliases', () => {
      assert.equal(index.size, 9);
    });

    it('finds names written together or apart', () => {
      assert.deepEqual(
        index.search('Al Hossein Shipping', { threshold: T }).map((m) => m.entryId),
        ['6'],
      );
      assert.deepEqual(
        index.search('Abdulrahman Holdor', { threshold: T }).map((m) => m.entryId),
        ['7'],
      );
    });

    it('returns one explained match per entry, from its best-scoring name', () => {
      const [match, ...rest] = index.search('Lukashenko Aleksandr', { threshold: T });
      assert.equal(rest.length, 0);
      assert.deepEqual(
        { ...match, pairs: match.pairs.length },
        {
          entryId: '4',
          ref: '4',
          subject: 'LUKASHENKA, Alyaksandr Ryhorovich',
          matchedName: 'LUKASHENKO, Aleksandr Grigorevich',
          nameKind: 'aka',
          score: match.score,
          pairs: 2,
          unmatchedQuery: [],
          unmatchedCandidate: ['GRIGOREVICH'],
          programs: ['BELARUS'],
        },
      );
      assert.equal(index.search('ТОО Сбер Восток', { threshold: T })[0].entryId, '1');
    });

    it('keeps numbered companies apart', () => {
      assert.deepEqual(
        index.search('11420 CORP', { threshold: T }).map((m) => m.entryId),
        ['2'],
      );
      assert.deepEqual(index.search('11421 CORP', { threshold: T }), []);
      assert.deepEqual(index.search('CORP', { threshold: T }), []);
    });

    it('filters by party type', () => {
      assert.equal(index.search('Lukashenko Aleksandr', { threshold: T, type: 'entity' }).length, 0);
      assert.equal(index.search('Lukashenko Aleksandr', { threshold: T, type: 'person' }).length, 1);
    });

    it('honours the limit and orders by score', () => {
      const all = index.search('Vladimir Lukashenko Sber Vostok', { threshold: 0.3, limit: 100 });
      assert.ok(all.length >= 2);
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score);
      assert.equal(index.search('Vladimir Lukashenko Sber Vostok', { threshold: 0.3, limit: 1 }).length, 1);
    });

    it('returns nothing, quickly, for empty, garbage and huge queries', () => {
      const started = performance.now();
      for (const query of ['', '   ', '\u200B', '!!!', 'x'.repeat(100_000), 'Ж '.repeat(50_000)]) {
        assert.deepEqual(index.search(query, { threshold: T }), []);
      }
      assert.ok(performance.now() - started < 500);
    });

    it('finds a name whose initials a query spells out when its other words are too common to read', () => {
      // "MOHAMAD S. A." reached through nothing but its initials: the query's commonest word is
      // read only for names its other words reach, and those reach it only through the initials.
      const people = [
        nameEntry('m1', 'MOHAMAD S. A.', { type: 'person' }),
        ...['KARIMI', 'RAHIMI', 'TEHRANI', 'NASSER', 'HADDAD', 'JABER'].map((surname, i) =>
          nameEntry(`f${i}`, `MOHAMAD ${surname}`, { type: 'person' }),
        ),
      ];
      const small = buildNameIndex(people);
      for (const threshold of [DEFAULT_MIN_THRESHOLD, T]) {
        const options = { threshold, limit: Infinity };
        const expected = bruteForceSearch(people, 'SALEH Ali Mohamad', options);
        assert.ok(
          expected.some((m) => m.entryId === 'm1'),
          `the scan matches MOHAMAD S. A. at ${threshold}`,
        );
        assert.deepEqual(small.search('SALEH Ali Mohamad', options), expected, `at ${threshold}`);
      }
    });

    it('works on an empty list', () => {
      assert.deepEqual(buildNameIndex([]).search('Vladimir Putin', { threshold: T }), []);
    });
  });

  describe('on the OFAC SDN, OFAC consolidated and UN lists', function () {
    this.timeout(120_000);
    let entries: NameEntry[];
    let index: NameIndex;

    before(() => {
      entries = loadAllLists();
      index = buildNameIndex(entries);
    });

    /**
     * Every query against both, all matches (no limit): the index must find every name that
     * scoring every name finds, with the same score and explanation. Returns the misses.
     */
    function compare(
      queries: string[],
      threshold: number,
    ): { found: number; misses: string[]; indexMs: number; scanMs: number } {
      let found = 0;
      let indexMs = 0;
      let scanMs = 0;
      const misses: string[] = [];
      for (const query of queries) {
        let started = performance.now();
        const expected = bruteForceSearch(entries, query, { threshold, limit: Infinity });
        scanMs += performance.now() - started;
        started = performance.now();
        const actual = index.search(query, { threshold, limit: Infinity });
        indexMs += performance.now() - started;
        found += expected.length;
        const byId = new Map(actual.map((m) => [m.entryId, m]));
        for (const m of expected) {
          if (!byId.has(m.entryId)) misses.push(`${query} → ${m.matchedName} (${m.score})`);
        }
        assert.deepEqual(actual, expected, query);
        // With the default limit the index stops early; it must still return the same top ten.
        assert.deepEqual(index.search(query, { threshold }), expected.slice(0, 10), query);
      }
      return { found, misses, indexMs, scanMs };
    }

    it('finds every match a full scan finds, for perturbed list names', () => {
      const queries = perturbedQueries(entries, 60, 1);
      const { found, misses, indexMs, scanMs } = compare(queries, T);
      assert.deepEqual(misses, []);
      assert.ok(found >= 40, `only ${found} matches: the queries should hit the lists`);
      assert.ok(scanMs / indexMs >= 20, `index ${indexMs.toFixed(0)} ms, scan ${scanMs.toFixed(0)} ms`);
    });

    it('finds every match a full scan finds, for the nomenklatura bench names and random names', () => {
      const bench = readCsvRecords(
        path.join(__dirname, '..', 'fixtures', 'sanctions', 'fixtures', 'nomenklatura_name_bench_cases.csv'),
      );
      const queries = [...bench.filter((_, i) => i % 25 === 0).map((r) => r.name1), ...randomNames(15, 2)];
      assert.deepEqual(compare(queries, T).misses, []);
    });

    it('stays exact down to its minimum threshold', () => {
      const queries = perturbedQueries(entries, 20, 3);
      assert.deepEqual(compare(queries, DEFAULT_MIN_THRESHOLD).misses, []);
    });

    it('finds every match a full scan finds for queries with initials, for every party type', () => {
      const queries = [
        'V. Putin',
        'Putin V V',
        'Ali A. Velayati',
        'A. B. Smith',
        'Kim J. Un',
        'AL-TAMIMI Muhamad JUMA Y',
        'M. Sh. Ahmadov',
        'J. Doe Trading',
      ];
      for (const query of queries) {
        for (const type of [undefined, 'person', 'entity', 'unknown'] as const) {
          for (const threshold of [DEFAULT_MIN_THRESHOLD, T]) {
            const options = { threshold, limit: Infinity, type };
            assert.deepEqual(
              index.search(query, options),
              bruteForceSearch(entries, query, options),
              `${query}, ${type ?? 'any type'}, ${threshold}`,
            );
          }
        }
      }
    });

    it('returns the same top matches as a full scan when many names tie at the limit', () => {
      // A given name alone scores the same against every "SURNAME, Given" name: dozens tie at
      // the lowest score the limit keeps, and the scan orders them by entry id.
      const queries = [
        'Ali',
        'Mohammad',
        'DE S.A. DE C.V.',
        'ABU ADAM',
        'Kim',
        'Ivan',
        'LIMITED LIABILITY COMPANY',
      ];
      for (const query of queries) {
        const all = bruteForceSearch(entries, query, { threshold: T, limit: Infinity });
        for (const limit of [1, 3, 5, 10, 25]) {
          assert.deepEqual(
            index.search(query, { threshold: T, limit }),
            all.slice(0, limit),
            `${query}, limit ${limit}`,
          );
        }
      }
    });

    it('finds list names with initials for queries that spell those initials out, for every party type', () => {
      // "SIDDIQUI, Aafia S." asked as "Aafia Salman Siddiqui": a query word pairs with a list
      // initial that starts one of its keys, a pair the index retrieves through the initials' keys.
      const spelled = [
        'SALMAN',
        'MUHAMMAD',
        'ABDUL',
        'IVANOVICH',
        'KHALID',
        'YUSUF',
        'EDUARD',
        'OMAR',
        'VIKTOR',
      ];
      const queries: string[] = [];
      for (const entry of entries) {
        if (queries.length >= 24) break;
        if (!/(^|\s)[A-Z]\.?(\s|$)/.test(entry.name)) continue;
        const query = entry.name.replace(
          /(^|\s)([A-Z])\.?(?=\s|$)/g,
          (whole, space: string, letter: string) => {
            const word = spelled.find((w) => w.startsWith(letter));
            return word === undefined ? whole : `${space}${word}`;
          },
        );
        if (query !== entry.name) queries.push(query);
      }
      assert.ok(
        queries.length >= 24,
        `only ${queries.length} queries: the lists should hold names with initials`,
      );
      let matched = 0;
      for (const query of queries) {
        for (const [type, threshold] of [
          [undefined, DEFAULT_MIN_THRESHOLD],
          [undefined, T],
          ['person', T],
        ] as const) {
          const options = { threshold, limit: Infinity, type };
          const expected = bruteForceSearch(entries, query, options);
          assert.deepEqual(
            index.search(query, options),
            expected,
            `${query}, ${type ?? 'any type'}, ${threshold}`,
          );
          matched += expected.filter((m) => m.pairs.some((p) => /^[A-Z]$/.test(p.candidate))).length;
        }
      }
      assert.ok(matched >= 20, `only ${matched} matches pair a query word with a list initial`);
    });

    it('answers the same whether lookups of unknown words are kept between searches or not', () => {
      const some = entries.slice(0, 4_000);
      const kept = buildNameIndex(some);
      const evicting = buildNameIndex(some, { unknownWordsKept: 3 });
      const none = buildNameIndex(some, { unknownWordsKept: 0 });
      const queries = [...perturbedQueries(some, 40, 4), ...randomNames(20, 5), 'Zyxwvut Trading Qqqq'];
      // Twice over: the second pass finds what the first kept (or, evicting, what it did not).
      for (const query of [...queries, ...queries]) {
        for (const threshold of [DEFAULT_MIN_THRESHOLD, T]) {
          const expected = none.search(query, { threshold, limit: Infinity });
          assert.deepEqual(kept.search(query, { threshold, limit: Infinity }), expected, query);
          assert.deepEqual(evicting.search(query, { threshold, limit: Infinity }), expected, query);
        }
      }
    });

    it("answers, shared by the three lists, what each list's own index answers", () => {
      const bySource = new Map<string, NameEntry[]>();
      for (const e of entries) {
        const source = e.id.slice(0, e.id.indexOf(':'));
        bySource.set(source, [...(bySource.get(source) ?? []), e]);
      }
      const lists = [...bySource.values()];
      assert.equal(lists.length, 3);
      const shared = buildSharedNameIndex(lists);
      assert.equal(shared.size, index.size);
      assert.equal(shared.lists, 3);
      const own = lists.map((list) => buildNameIndex(list));
      // Common words and ties at the limit (Ali, Mohammad) on every list, names on one list only,
      // and the scan below the index's minimum threshold.
      const queries = [
        ...perturbedQueries(entries, 60, 21),
        ...randomNames(20, 22),
        'Ali',
        'Mohammad',
        'ABU ADAM',
        'DE S.A. DE C.V.',
        '',
        '!!!',
      ];
      const settings: NameSearchOptions[] = [
        { threshold: T },
        { threshold: T, limit: 1 },
        { threshold: DEFAULT_MIN_THRESHOLD, limit: 3, type: 'person' },
      ];
      let matched = 0;
      queries.forEach((query, q) => {
        // A scan of every name, for a few.
        for (const options of q % 10 === 0 ? [...settings, { threshold: 0.5, limit: 2 }] : settings) {
          const expected = own.map((list) => list.search(query, options));
          assert.deepEqual(shared.search(query, options), expected, `${query}, ${JSON.stringify(options)}`);
          matched += expected.filter((found) => found.length > 0).length;
        }
      });
      assert.ok(matched >= 100, `only ${matched} searches found anything`);
    });

    it('matches Kazakh and Russian Cyrillic queries against the Latin listings', () => {
      const top = (query: string): NameMatch | undefined => index.search(query, { threshold: T })[0];
      assert.match(top('ТОО Сбер Восток')?.subject ?? '', /SBER VOSTOK/);
      assert.match(top('Банк ВТБ (Казахстан) АО')?.subject ?? '', /VTB KAZAKHSTAN/);
      assert.match(top('Лукашенко Александр Григорьевич')?.subject ?? '', /LUKASHENKA/);
      assert.match(top('SBERB\u0410NK')?.subject ?? '', /SBERBANK/);
    });
  });
});
