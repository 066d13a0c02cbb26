import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { importList } from '../../../src/compliance/importers';
import {
  importInternalCsv,
  importInternalJsonLines,
  INTERNAL_CSV_COLUMNS,
} from '../../../src/compliance/importers/internal-list-import';
import type { ImportResult } from '../../../src/compliance/importers/import-result';
import type { ListEntry } from '../../../src/screening/list-entry';
import { chunked, FIXTURES, garbage } from './fixtures';

const HEADER = INTERNAL_CSV_COLUMNS.join(',');

/** One CSV row from the columns it fills. */
function row(cells: Partial<Record<(typeof INTERNAL_CSV_COLUMNS)[number], string>>): string {
  return INTERNAL_CSV_COLUMNS.map((column) => {
    const cell = cells[column] ?? '';
    return /[",]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
  }).join(',');
}

function csv(...rows: string[]): Readable {
  return Readable.from([[HEADER, ...rows].join('\r\n') + '\r\n']);
}

function errorsOf(result: ImportResult): string[] {
  return result.errors.map((e) => `${e.line}: ${e.message}`);
}

describe('internal list import', () => {
  describe('CSV', () => {
    it('imports the card schemes of the braintree IIN ranges, MIR as 2200-2204', async () => {
      const text = readFileSync(
        join(FIXTURES, 'cards', 'iin_ranges_braintree_credit-card-type_v10.3.0.csv'),
        'utf8',
      );
      const ranges = new Map<string, string[]>();
      for (const line of text.trim().split('\n').slice(1)) {
        const [scheme, , from, to] = line.split(',');
        const key = scheme.toUpperCase().replace(/-/g, '_');
        ranges.set(key, [...(ranges.get(key) ?? []), `${from}-${to}`]);
      }
      const rows = [...ranges].map(([scheme, list]) =>
        row({
          kind: 'card-scheme',
          ref: 'braintree-v10.3.0',
          scheme,
          iin_ranges: list.join(';'),
          programs: 'CARDS',
        }),
      );
      const result = await importInternalCsv(csv(...rows), { fileName: 'schemes.csv' });
      assert.deepEqual(result.errors, []);
      assert.equal(result.entries.length, 15);
      assert.equal(result.stats.records.rows, 15);
      assert.equal(
        result.entries.reduce((n, e) => n + (e.kind === 'card-scheme' ? e.iinRanges.length : 0), 0),
        161,
      );
      const mir = result.entries.find((e) => e.id === 'card-scheme/MIR');
      assert.deepEqual(mir, {
        kind: 'card-scheme',
        id: 'card-scheme/MIR',
        ref: 'braintree-v10.3.0',
        subject: '',
        programs: ['CARDS'],
        scheme: 'MIR',
        iinRanges: [{ from: '2200', to: '2204' }],
      });
    });

    it('imports every kind, normalising IBANs and document numbers', async () => {
      const result = await importInternalCsv(
        csv(
          row({
            kind: 'name',
            id: 'cp-17',
            ref: 'CASE-17',
            programs: 'INTERNAL;KZ-AML',
            name: 'ROGA I KOPYTA, TOO',
            aliases: 'РОГА И КОПЫТА|fka:HORNS AND HOOVES LLP|original-script:Рога и копыта',
            type: 'entity',
            countries: 'KZ;RU',
          }),
          row({ kind: 'bic', ref: 'CASE-9', subject: 'BANK VTB KAZAKHSTAN', bic: 'VTBAKZKZ' }),
          row({ kind: 'iban', ref: 'CASE-10', iban: 'kz86 125k zt50 0410 0100' }),
          row({
            kind: 'wallet',
            ref: 'CASE-11',
            network: 'TRX',
            address: 'TE3mCcPULjPUE7ykX7RArDPAhyahoy3d2j',
          }),
          row({
            kind: 'national-id',
            ref: 'CASE-12',
            scheme: 'kz-bin',
            country: 'KZ',
            value: '110140 012405',
          }),
          row({ kind: 'national-id', ref: 'CASE-13', scheme: 'lei', value: '253400V1H6ART1UQ0N98' }),
          row({ kind: 'jurisdiction', ref: 'CASE-14', country: 'KP' }),
          '# a comment line, skipped',
          '',
        ),
      );
      assert.deepEqual(result.errors, []);
      const byId = new Map<string, ListEntry>(result.entries.map((e) => [e.id, e]));
      assert.deepEqual(byId.get('cp-17'), {
        kind: 'name',
        id: 'cp-17',
        ref: 'CASE-17',
        subject: 'ROGA I KOPYTA, TOO',
        programs: ['INTERNAL', 'KZ-AML'],
        name: 'ROGA I KOPYTA, TOO',
        aliases: [
          { name: 'РОГА И КОПЫТА', kind: 'aka' },
          { name: 'HORNS AND HOOVES LLP', kind: 'fka' },
          { name: 'Рога и копыта', kind: 'original-script' },
        ],
        type: 'entity',
        countries: ['KZ', 'RU'],
      });
      assert.ok(byId.has('bic/VTBAKZKZ'));
      assert.equal(byId.get('iban/KZ86125KZT5004100100')?.kind, 'iban');
      assert.ok(byId.has('wallet/TRX/TE3mCcPULjPUE7ykX7RArDPAhyahoy3d2j'));
      assert.ok(byId.has('kz-bin/KZ/110140012405'));
      assert.ok(byId.has('lei/253400V1H6ART1UQ0N98'));
      assert.ok(byId.has('jurisdiction/KP'));
      assert.deepEqual(result.stats.entries, {
        name: 1,
        bic: 1,
        iban: 1,
        wallet: 1,
        'national-id': 2,
        jurisdiction: 1,
      });
    });

    it('reports each bad row with its line and imports the good ones', async () => {
      const result = await importInternalCsv(
        csv(
          row({ kind: 'bic', bic: 'VTBAKZKZ' }),
          row({ kind: 'blocklist', value: 'x' }),
          row({ kind: 'bic' }),
          row({ kind: 'bic', bic: 'vtbakzkz' }),
          row({ kind: 'jurisdiction', country: 'XX' }),
          row({ kind: 'card-scheme', scheme: 'MIR', iin_ranges: '2204-2200' }),
          row({ kind: 'card-scheme', scheme: 'MIR2', iin_ranges: '220-2204' }),
          row({ kind: 'card-scheme', scheme: 'MIR3', iin_ranges: '22a0-2204' }),
          row({ kind: 'jurisdiction', country: 'KP', bic: 'VTBAKZKZ' }),
          row({ kind: 'bic', bic: 'VTBAKZKZ' }),
          row({ kind: 'name', name: 'NO ID', type: 'entity' }),
          row({ kind: 'name', id: 'n1', name: 'BAD TYPE', type: 'company' }),
          row({ kind: 'national-id', scheme: 'ru-inn', country: 'RU', value: '12345' }),
          row({ kind: 'wallet', network: 'ETH', address: '0x1234' }),
          'bic,,,only three columns',
          'jurisdiction,"unclosed,,,,,,,,,,,,,,,',
          row({ kind: 'jurisdiction', country: 'IR' }),
        ),
        { fileName: 'internal.csv' },
      );
      assert.deepEqual(
        result.entries.map((e) => e.id),
        ['bic/VTBAKZKZ', 'jurisdiction/IR'],
      );
      const errors = errorsOf(result);
      assert.equal(errors.length, 15);
      assert.ok(result.errors.every((e) => e.file === 'internal.csv'));
      const at = (line: number) => errors.find((e) => e.startsWith(`${line}: `)) ?? `nothing on line ${line}`;
      assert.match(at(3), /kind: must be one of name, bic, iban/);
      assert.match(at(4), /bic: is required for kind bic/);
      assert.match(at(5), /bic: must be upper case/);
      assert.match(at(6), /country: must be an ISO 3166-1 alpha-2 code/);
      assert.match(at(7), /iin_ranges\[0\]: from must not be greater than to/);
      assert.match(at(8), /iin_ranges\[0\]: from and to must have as many digits/);
      assert.match(at(9), /iin_ranges\[0\]\.from: must be 1-11 digits/);
      assert.match(at(10), /bic: does not apply to kind jurisdiction/);
      assert.match(at(11), /id "bic\/VTBAKZKZ" is already used at internal.csv:2/);
      assert.match(at(12), /id: is required for kind name when ref is empty/);
      assert.match(at(13), /type: must be one of person, entity, vessel, aircraft, unknown/);
      assert.match(at(14), /value: "12345" is not a valid ru-inn/);
      assert.match(at(15), /address: a 0x address must have exactly 40 hex digits/);
      assert.match(at(16), /expected 17 columns as in the header, found 4/);
      assert.match(at(17), /unbalanced quote/);
    });

    it('refuses a header with unknown columns or no kind column', async () => {
      const unknown = await importInternalCsv(Readable.from(['kind,bic,colour\nbic,VTBAKZKZ,red\n']));
      assert.deepEqual(errorsOf(unknown).length, 1);
      assert.match(errorsOf(unknown)[0], /^1: unknown column "colour"/);
      assert.deepEqual(unknown.entries, []);
      const noKind = await importInternalCsv(Readable.from(['VTBAKZKZ,KZ\n']));
      assert.match(errorsOf(noKind).join(' '), /no kind column/);
    });

    it('accepts a header with only the columns it needs, in any order, and a UTF-8 BOM', async () => {
      const result = await importInternalCsv(
        Readable.from(['\ufeffcountry,kind\r\nKP,jurisdiction\r\nIR,jurisdiction\r\n']),
      );
      assert.deepEqual(result.errors, []);
      assert.deepEqual(
        result.entries.map((e) => e.id),
        ['jurisdiction/KP', 'jurisdiction/IR'],
      );
    });

    it('reports an empty file', async () => {
      const result = await importInternalCsv(Readable.from([]), { fileName: 'empty.csv' });
      assert.deepEqual(result.errors, [{ file: 'empty.csv', line: 0, message: 'file is empty' }]);
    });

    it('reports binary garbage and a huge line with line numbers, without crashing', async () => {
      const bytes = Buffer.concat([Buffer.from(`${HEADER}\n`), garbage(100_000, 7)]);
      const result = await importInternalCsv(chunked(bytes, 4096));
      assert.ok(result.errors.length > 0);
      assert.ok(result.errors.every((e) => e.line >= 2));
      assert.deepEqual(result.entries, []);

      function* huge(): Generator<string> {
        yield `${HEADER}\njurisdiction,`;
        for (let i = 0; i < 40; i++) yield 'x'.repeat(65536);
        yield `\n${row({ kind: 'jurisdiction', country: 'KP' })}\n`;
      }
      const long = await importInternalCsv(Readable.from(huge()), { maxLineLength: 1 << 20 });
      assert.deepEqual(errorsOf(long), ['2: line is 2621453 characters long; the limit is 1048576']);
      assert.deepEqual(
        long.entries.map((e) => e.id),
        ['jurisdiction/KP'],
      );
    });
  });

  describe('JSON Lines', () => {
    it('imports ListEntry-like objects, one per line', async () => {
      const lines = [
        '{"kind":"card-scheme","scheme":"MIR","iinRanges":["2200-2204"],"programs":["INTERNAL"]}',
        '{"kind":"card-scheme","id":"unionpay-ru","scheme":"UNIONPAY","iinRanges":[{"from":"62","to":"62"}]}',
        '',
        '{"kind":"name","id":"cp-17","name":"ROGA I KOPYTA TOO","type":"entity","countries":["KZ"],"aliases":["РОГА И КОПЫТА",{"name":"OLD NAME","kind":"fka"}]}',
        '{"kind":"wallet","network":"ETH","address":"0x098B716B8Aaf21512996dC57EB0615e2383E2f96"}',
      ];
      const result = await importInternalJsonLines(Readable.from([lines.join('\n')]));
      assert.deepEqual(result.errors, []);
      assert.deepEqual(
        result.entries.map((e) => e.id),
        ['card-scheme/MIR', 'unionpay-ru', 'cp-17', 'wallet/ETH/0x098B716B8Aaf21512996dC57EB0615e2383E2f96'],
      );
      const name = result.entries[2];
      assert.ok(name.kind === 'name');
      assert.deepEqual(name.aliases, [
        { name: 'РОГА И КОПЫТА', kind: 'aka' },
        { name: 'OLD NAME', kind: 'fka' },
      ]);
    });

    it('reports bad JSON, non-objects, unknown fields and wrong types with their lines', async () => {
      const lines = [
        '{"kind":"jurisdiction","country":"KP"}',
        '{"kind":"jurisdiction","country":',
        '"just a string"',
        '{"kind":"jurisdiction","country":"IR","colour":"red"}',
        '{"kind":"name","id":"x","name":"X","type":"entity","countries":"KZ"}',
        '{"kind":"card-scheme","scheme":"MIR","iinRanges":"2200-2204"}',
      ];
      const result = await importInternalJsonLines(Readable.from([lines.join('\n')]), {
        fileName: 'list.jsonl',
      });
      assert.deepEqual(
        result.entries.map((e) => e.id),
        ['jurisdiction/KP'],
      );
      const errors = errorsOf(result);
      assert.equal(errors.length, 5);
      assert.match(errors[0], /^2: not valid JSON/);
      assert.match(errors[1], /^3: expected one entry object per line/);
      assert.match(errors[2], /^4: colour: unknown field/);
      assert.match(errors[3], /^5: countries: must be a list of strings/);
      assert.match(errors[4], /^6: iinRanges: must be a list/);
    });

    it('does not take object prototype names for kinds or schemes', async () => {
      const lines = [
        '{"kind":"toString"}',
        '{"kind":"national-id","scheme":"constructor","value":"1"}',
        '{"kind":"jurisdiction","country":"KP","__proto__":{"polluted":true}}',
      ];
      const result = await importInternalJsonLines(Readable.from([lines.join('\n')]));
      const errors = errorsOf(result);
      assert.match(errors[0], /^1: kind: must be one of/);
      assert.match(errors[1], /^2: scheme: must be one of/);
      assert.match(errors[2], /^3: __proto__: unknown field/);
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    });

    it('stops at a JSON array, which is not JSON Lines', async () => {
      const result = await importInternalJsonLines(
        Readable.from(['[\n{"kind":"jurisdiction","country":"KP"}\n]\n']),
      );
      assert.deepEqual(errorsOf(result), [
        '1: expected JSON Lines (one entry object per line), not a JSON array',
      ]);
      assert.deepEqual(result.entries, []);
    });
  });

  describe('importList', () => {
    it('imports several files into one id space', async () => {
      const result = await importList('csv', [
        { name: 'a.csv', stream: csv(row({ kind: 'jurisdiction', country: 'KP' })) },
        {
          name: 'b.csv',
          stream: csv(
            row({ kind: 'jurisdiction', country: 'IR' }),
            row({ kind: 'jurisdiction', country: 'KP' }),
          ),
        },
      ]);
      assert.deepEqual(
        result.entries.map((e) => e.id),
        ['jurisdiction/KP', 'jurisdiction/IR'],
      );
      assert.deepEqual(result.errors, [
        { file: 'b.csv', line: 3, message: 'id "jurisdiction/KP" is already used at a.csv:2' },
      ]);
      assert.equal(result.stats.records.rows, 3);
      assert.equal(result.stats.errorCount, 1);
    });

    it('imports JSON Lines files given as name → stream', async () => {
      const result = await importList('json', {
        'kp.jsonl': Readable.from(['{"kind":"jurisdiction","country":"KP"}\n']),
      });
      assert.deepEqual(result.errors, []);
      assert.equal(result.entries.length, 1);
    });
  });
});
