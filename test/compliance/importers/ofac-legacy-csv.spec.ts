import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  OFAC_COLUMNS,
  readOfacCsv,
  type OfacCsvItem,
  type OfacRole,
} from '../../../src/compliance/importers/ofac-legacy-csv';
import type { ImportError } from '../../../src/compliance/importers/import-result';
import type { TextSource } from '../../../src/compliance/importers/text-lines';
import { chunked, fixture, garbage } from './fixtures';

async function readAll(
  source: TextSource,
  role: OfacRole,
  maxLineLength?: number,
): Promise<{ records: { line: number; fields: string[] }[]; errors: ImportError[] }> {
  const records: { line: number; fields: string[] }[] = [];
  const errors: ImportError[] = [];
  const items: AsyncIterable<OfacCsvItem> = readOfacCsv(source, {
    file: `${role}.csv`,
    columns: OFAC_COLUMNS[role],
    maxLineLength,
  });
  for await (const item of items) {
    if (item.error) errors.push(item.error);
    else records.push(item.record);
  }
  return { records, errors };
}

const SAMPLE =
  '306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. \'BNC\'."\r\n' +
  '173,"ANGLO-CARIBBEAN CO., LTD.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n' +
  '9999,"THE ""QUOTED"" COMPANY","individual","SDGT] [IFSR",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"x, y"\r\n' +
  '\x1a';

describe('readOfacCsv', () => {
  it('reads quoted fields, doubled quotes, commas inside quotes and -0- nulls', async () => {
    const { records, errors } = await readAll(Readable.from([SAMPLE]), 'sdn');
    assert.deepEqual(errors, []);
    assert.equal(records.length, 3);
    assert.deepEqual(records[0], {
      line: 1,
      fields: ['306', 'BANCO NACIONAL DE CUBA', '', 'CUBA', '', '', '', '', '', '', '', "a.k.a. 'BNC'."],
    });
    assert.equal(records[1].fields[1], 'ANGLO-CARIBBEAN CO., LTD.');
    assert.equal(records[1].fields[11], '');
    assert.equal(records[2].line, 3);
    assert.equal(records[2].fields[1], 'THE "QUOTED" COMPANY');
    assert.equal(records[2].fields[3], 'SDGT] [IFSR');
    assert.equal(records[2].fields[11], 'x, y');
  });

  it('gives the same records for LF line ends, without the 0x1A (an error apart), and fed one byte at a time', async () => {
    const expected = (await readAll(Readable.from([SAMPLE]), 'sdn')).records;
    const lf = SAMPLE.replace(/\r\n/g, '\n').replace('\x1a', '');
    assert.deepEqual((await readAll(Readable.from([lf]), 'sdn')).records, expected);
    assert.deepEqual((await readAll(chunked(SAMPLE, 1), 'sdn')).records, expected);
    assert.deepEqual((await readAll(chunked(SAMPLE, 7), 'sdn')).records, expected);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const text = '1,"Қасым-Жомарт ТОКАЕВ"\n\x1a';
    const { records, errors } = await readAll(chunked(text, 1), 'comments');
    assert.deepEqual(errors, []);
    assert.equal(records[0].fields[1], 'Қасым-Жомарт ТОКАЕВ');
  });

  for (const [path, role, rows] of [
    ['ofac_sdn_2024-05-03/sdn.csv', 'sdn', 14965],
    ['ofac_sdn_2021-07-07/sdn.csv', 'sdn', 8976],
    ['ofac_sdn_2021-07-07/add.csv', 'add', 13837],
    ['ofac_sdn_2021-07-07/alt.csv', 'alt', 11910],
    ['ofac_sdn_2021-07-07/sdn_comments.csv', 'comments', 5],
    ['ofac_sdn_aliases_2025-12-24/alt.csv', 'alt', 20107],
    ['ofac_sdn_aliases_2025-12-24/add.csv', 'add', 24244],
    ['ofac_sdn_aliases_2025-12-24/sdn_comments.csv', 'comments', 28],
    ['ofac_non_sdn_2025-12-19/cons_prim.csv', 'sdn', 442],
    ['ofac_non_sdn_2025-12-19/cons_add.csv', 'add', 574],
    ['ofac_non_sdn_2025-12-19/cons_alt.csv', 'alt', 1073],
    ['ofac_non_sdn_2025-12-19/cons_comments.csv', 'comments', 10],
  ] as const) {
    it(`reads all ${rows} records of ${path} without an error`, async () => {
      const { records, errors } = await readAll(fixture(path), role);
      assert.deepEqual(errors, []);
      assert.equal(records.length, rows);
      assert.ok(records.every((r) => r.fields.length === OFAC_COLUMNS[role]));
    });
  }

  it('counts the alt_type values of the 2021-07-07 alt.csv as the README does', async () => {
    const { records } = await readAll(fixture('ofac_sdn_2021-07-07/alt.csv'), 'alt');
    const types: Record<string, number> = {};
    for (const { fields } of records) types[fields[2]] = (types[fields[2]] ?? 0) + 1;
    assert.deepEqual(types, { aka: 11523, fka: 369, nka: 18 });
  });

  describe('on malformed input', () => {
    it('reports an unbalanced quote with its line and goes on with the next line', async () => {
      const text = '1,"ok"\n2,"not closed\n3,"ok again"\n\x1a';
      const { records, errors } = await readAll(Readable.from([text]), 'comments');
      assert.deepEqual(
        records.map((r) => r.line),
        [1, 3],
      );
      assert.equal(errors.length, 1);
      assert.equal(errors[0].file, 'comments.csv');
      assert.equal(errors[0].line, 2);
      assert.match(errors[0].message, /unbalanced quote/);
    });

    it('reports text after a closing quote and a stray quote in an unquoted field', async () => {
      const { errors } = await readAll(Readable.from(['1,"a"b\n2,a"b\n\x1a']), 'comments');
      assert.deepEqual(
        errors.map((e) => e.line),
        [1, 2],
      );
      assert.match(errors[0].message, /after the closing quote/);
      assert.match(errors[1].message, /stray quote/);
    });

    it('reports a wrong column count for the file type', async () => {
      const { records, errors } = await readAll(Readable.from(['1,"a","b"\n2,"ok"\n\x1a']), 'comments');
      assert.equal(records.length, 1);
      assert.deepEqual(errors, [{ file: 'comments.csv', line: 1, message: 'expected 2 columns, found 3' }]);
    });

    it('reports an ent_num that is not a number', async () => {
      const { errors } = await readAll(Readable.from(['x12,"a"\n\x1a']), 'comments');
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /ent_num must be a number/);
    });

    it('reports binary garbage line by line without crashing', async () => {
      const bytes = Buffer.concat([garbage(200_000), Buffer.from('\n7,"after the garbage"\n\x1a')]);
      const { records, errors } = await readAll(chunked(bytes, 4096), 'comments');
      assert.ok(errors.length > 0);
      assert.ok(errors.every((e) => e.line >= 1 && e.message.length > 0));
      // Lines are counted through the garbage, so the good line after it keeps its real number.
      const lines = bytes.toString('latin1').split('\n').length - 1;
      assert.deepEqual(records.at(-1), { line: lines, fields: ['7', 'after the garbage'] });
    });

    it('reports an empty file, and reads one holding only the end-of-file mark as no records', async () => {
      const empty = [{ file: 'sdn.csv', line: 0, message: 'file is empty' }];
      assert.deepEqual(await readAll(Readable.from([]), 'sdn'), { records: [], errors: empty });
      assert.deepEqual(await readAll(Readable.from(['\r\n \n']), 'sdn'), { records: [], errors: empty });
      assert.deepEqual(await readAll(Readable.from(['\x1a']), 'sdn'), { records: [], errors: [] });
    });

    it('reports a file cut off at a line end, which lacks the 0x1A OFAC ends its files with', async () => {
      const cut = SAMPLE.slice(0, SAMPLE.indexOf('\r\n', SAMPLE.indexOf('\r\n') + 1) + 2);
      const { records, errors } = await readAll(chunked(cut, 7), 'sdn');
      assert.equal(records.length, 2);
      assert.deepEqual(errors, [
        {
          file: 'sdn.csv',
          line: 2,
          message:
            "the file ends without OFAC's end-of-file mark (0x1A): it looks truncated after its last line, 2 (ent_num 173)",
        },
      ]);
      // Blank lines after the cut do not hide it, and a line cut short is reported as well.
      const blanks = await readAll(Readable.from([`${cut}\r\n\r\n`]), 'sdn');
      assert.deepEqual(
        blanks.errors.map((e) => e.line),
        [2],
      );
      const midLine = await readAll(Readable.from([SAMPLE.slice(0, 100)]), 'sdn');
      assert.deepEqual(
        midLine.errors.map((e) => `${e.line} ${e.message.split(':')[0]}`),
        ['2 unbalanced quote', "2 the file ends without OFAC's end-of-file mark (0x1A)"],
      );
    });

    it("takes the 0x1A OFAC writes after the last CRLF, or after a last line without one, as the file's end", async () => {
      assert.deepEqual((await readAll(Readable.from([SAMPLE]), 'sdn')).errors, []);
      const noCrlf = `${SAMPLE.slice(0, -3)}\x1a`;
      const { records, errors } = await readAll(Readable.from([noCrlf]), 'sdn');
      assert.deepEqual(errors, []);
      assert.equal(records.length, 3);
    });

    it('skips a huge line without holding it, and reads the line after it', async () => {
      function* huge(): Generator<string> {
        yield '1,"';
        // 8 MB without a newline, in 64 KB chunks, as a stream would deliver it.
        const chunk = 'x'.repeat(65536);
        for (let i = 0; i < 128; i++) yield chunk;
        yield '"\n2,"fine"\n\x1a';
      }
      const { records, errors } = await readAll(Readable.from(huge()), 'comments', 1 << 20);
      assert.deepEqual(records, [{ line: 2, fields: ['2', 'fine'] }]);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].line, 1);
      assert.match(errors[0].message, /characters long; the limit is 1048576/);
    });
  });
});
