import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { checkEntry } from '../../../src/compliance/entry-rules';
import { importList } from '../../../src/compliance/importers';
import type { ImportResult } from '../../../src/compliance/importers/import-result';
import { importUnXml } from '../../../src/compliance/importers/un-xml-import';
import type { NameEntry } from '../../../src/screening/list-entry';
import { chunked, derivedRows, fixture, fixtureText, garbage, namedFixture } from './fixtures';

const UN = 'un_consolidated_2026-02-27/consolidated.xml';

function names(result: ImportResult): Map<string, NameEntry> {
  return new Map(result.entries.filter((e): e is NameEntry => e.kind === 'name').map((e) => [e.ref, e]));
}

describe('importUnXml', () => {
  describe('the 2026-02-27 consolidated list', () => {
    let result: ImportResult;
    before(async () => {
      result = await importList('un-xml', [namedFixture(UN)]);
    });

    it('has 730 individuals and 273 entities', () => {
      assert.deepEqual(result.errors, []);
      assert.equal(result.stats.records.individual, 730);
      assert.equal(result.stats.records.entity, 273);
      assert.deepEqual(result.stats.partyTypes, { person: 730, entity: 273 });
    });

    it('reads the 3,043 alias elements (291 of them empty) and the 378 original-script names', () => {
      assert.equal(result.stats.records.alias, 3043);
      assert.equal(result.stats.records['original-script'], 378);
      const { aka = 0, weak = 0, fka = 0 } = result.stats.aliases;
      const originals = result.stats.aliases['original-script'] ?? 0;
      const repeats = result.stats.notes['alias repeating the name or another alias'] ?? 0;
      // 27 ALIAS_NAME elements hold 104 names between them: 98 separated by semicolons, and six
      // names written before their transliterations ("حسن غول (Hassan Ghul; Hassan Gul; Hasan Gul)").
      assert.equal(result.stats.notes['ALIAS_NAME holding several names (split at ;)'], 27);
      assert.equal(aka + weak + fka + originals + repeats, 3043 - 291 - 27 + 104 + 378);
      // 615 elements have QUALITY Low; split, they give 621 names.
      assert.equal(weak, 621);
      // QDe.164's "original script" name is its Latin name, so it is not repeated as an alias.
      assert.equal(originals, 377);
    });

    it('splits ALIAS_NAME elements that hold several names', () => {
      const byRef = names(result);
      const ghul = byRef.get('QDi.306')?.aliases.map((a) => a.name) ?? [];
      for (const name of ['حسن غول', 'Hassan Ghul', 'Hassan Gul', 'Hasan Gul'])
        assert.ok(ghul.includes(name), name);
      const soleimani = byRef.get('IRi.039')?.aliases.map((a) => a.name) ?? [];
      for (const name of ['Haj Qasem', 'Haji Qassem', 'Sardar Soleimani'])
        assert.ok(soleimani.includes(name), name);
      assert.ok(byRef.get('QDe.137')?.aliases.some((a) => a.name === 'Assembly for the Liberation of Syria'));
    });

    it('joins FIRST..FOURTH_NAME and keeps each NAME_ORIGINAL_SCRIPT of derived/un_original_script_name_pairs.csv', () => {
      const byRef = names(result);
      const pairs = derivedRows('derived/un_original_script_name_pairs.csv');
      assert.equal(pairs.length, 378);
      for (const pair of pairs) {
        const entry = byRef.get(pair.reference_number);
        assert.equal(entry?.name, pair.latin_name, pair.reference_number);
        // Whitespace inside XML text (a line break in QDi.426) is collapsed to single spaces.
        const original = pair.original_script_name.replace(/\s+/g, ' ').trim();
        const kept =
          entry.name === original ||
          entry.aliases.some((a) => a.kind === 'original-script' && a.name === original);
        assert.ok(kept, pair.reference_number);
      }
      assert.deepEqual(byRef.get('QDi.290')?.aliases.at(-1), {
        name: 'Умаров Доку Хаматович',
        kind: 'original-script',
      });
    });

    it('takes programmes from UN_LIST_TYPE as the README counts them', () => {
      const counts: Record<string, number> = {};
      for (const entry of names(result).values())
        for (const p of entry.programs) counts[p] = (counts[p] ?? 0) + 1;
      assert.equal(counts['Al-Qaida'], 341);
      assert.equal(counts.DPRK, 155);
      assert.equal(counts.Taliban, 140);
      assert.equal(counts.Iran, 121);
      assert.equal(counts.Iraq, 75);
      assert.equal(counts.DRC, 53);
    });

    it('maps nationality and address countries to ISO codes', () => {
      const byRef = names(result);
      assert.deepEqual(byRef.get('CDi.001')?.countries, ['CD', 'RW']);
      assert.deepEqual(byRef.get('QDi.290')?.countries, ['RU']);
      const dprk = [...byRef.values()].filter((e) => e.programs.includes('DPRK'));
      assert.ok(dprk.filter((e) => e.countries.includes('KP')).length > 100);
      assert.deepEqual(result.stats.unknownCountries, { 'former Soviet Union': 1, na: 1 });
    });

    it('reads passports and national identification numbers with their issuing country', () => {
      const ids = new Map(result.entries.map((e) => [e.id, e]));
      assert.deepEqual(ids.get('CDi.021/passport/CD/OB0243318'), {
        kind: 'national-id',
        id: 'CDi.021/passport/CD/OB0243318',
        ref: 'CDi.021',
        subject: 'FLORIBERT NGABU NJABU',
        programs: ['DRC'],
        scheme: 'passport',
        country: 'CD',
        value: 'OB0243318',
      });
      // "CAR diplomatic passport no. D00000898": the number inside the phrase.
      assert.ok(result.entries.some((e) => e.kind === 'national-id' && e.value === 'D00000898'));
      // COUNTRY_OF_ISSUE instead of ISSUING_COUNTRY.
      assert.ok(
        ids.has('GBi.001/passport/GW/AAID00437') ||
          [...ids.keys()].some((id) => id.endsWith('/passport/GW/AAID00437')),
      );
      assert.equal(result.stats.identifiers.passport, 302);
      assert.equal(result.stats.identifiers['national-id'], 144);
    });

    it('gives entries that entry-rules accept, with unique ids', () => {
      const ids = new Set<string>();
      for (const entry of result.entries) {
        assert.ok(!ids.has(entry.id), entry.id);
        ids.add(entry.id);
        assert.deepEqual(checkEntry(entry), [], entry.id);
      }
    });
  });

  describe('on malformed input', () => {
    it('reports a truncated file with a line number and keeps the records before the cut', async () => {
      const xml = fixtureText(UN);
      const cut = xml.slice(0, Math.floor(xml.length / 2));
      const result = await importUnXml(chunked(cut, 65536));
      assert.ok(result.errors.length > 0);
      const lines = cut.split('\n').length;
      for (const error of result.errors)
        assert.ok(error.line >= lines - 1 && error.line <= lines, JSON.stringify(error));
      assert.match(result.errors.map((e) => e.message).join(' '), /unclosed tag/);
      const records = (result.stats.records.individual ?? 0) + (result.stats.records.entity ?? 0);
      assert.ok(records > 300 && records < 1003, `records ${records}`);
    });

    it('reports an empty file', async () => {
      const result = await importUnXml(Readable.from([]));
      assert.deepEqual(result.entries, []);
      assert.equal(result.errors.length, 1);
      assert.match(result.errors[0].message, /root/);
    });

    it('refuses another XML document at its root element', async () => {
      const result = await importUnXml(
        Readable.from(['<?xml version="1.0"?>\n<sdnList><sdnEntry/></sdnList>']),
      );
      assert.deepEqual(result.entries, []);
      assert.equal(result.errors[0].line, 2);
      assert.match(result.errors[0].message, /root element is <sdnList>/);
    });

    it('stops on binary garbage after maxErrors errors, with line numbers', async () => {
      const result = await importUnXml(chunked(garbage(2_000_000), 65536), { maxErrors: 50 });
      assert.equal(result.errors.length, 50);
      assert.ok(result.errors.every((e) => e.line >= 1));
      assert.deepEqual(result.entries, []);
    });

    it('reports malformed XML inside a record and still reads the records after it', async () => {
      const xml = [
        '<CONSOLIDATED_LIST><INDIVIDUALS>',
        '<INDIVIDUAL><FIRST_NAME>A &bogus; B</FIRST_NAME><UN_LIST_TYPE>X</UN_LIST_TYPE><REFERENCE_NUMBER>X.1</REFERENCE_NUMBER></INDIVIDUAL>',
        '<INDIVIDUAL><FIRST_NAME>NO REF</FIRST_NAME></INDIVIDUAL>',
        '<INDIVIDUAL><FIRST_NAME>C</FIRST_NAME><SECOND_NAME>D</SECOND_NAME><REFERENCE_NUMBER>X.2</REFERENCE_NUMBER></INDIVIDUAL>',
        '</INDIVIDUALS></CONSOLIDATED_LIST>',
      ].join('\n');
      const result = await importUnXml(Readable.from([xml]), { fileName: 'un.xml' });
      assert.deepEqual(
        result.errors.map((e) => `${e.file}:${e.line}`),
        ['un.xml:2', 'un.xml:3'],
      );
      assert.match(result.errors[1].message, /no REFERENCE_NUMBER/);
      assert.ok(result.entries.some((e) => e.kind === 'name' && e.name === 'C D'));
    });

    it('stops at text longer than the limit without holding it', async () => {
      function* huge(): Generator<string> {
        yield '<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><COMMENTS1>';
        const chunk = 'x'.repeat(65536);
        for (let i = 0; i < 64; i++) yield chunk;
        yield '</COMMENTS1><FIRST_NAME>A</FIRST_NAME><REFERENCE_NUMBER>R.1</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>';
      }
      const result = await importUnXml(Readable.from(huge()), { maxLineLength: 1 << 20 });
      assert.equal(result.errors.length, 1);
      assert.match(result.errors[0].message, /more than 1048576 characters without a tag \(in <COMMENTS1>\)/);
      assert.deepEqual(result.entries, []);
    });
  });

  it('is the one file of a un-xml import', async () => {
    const result = await importList('un-xml', [
      namedFixture(UN),
      { name: 'second.xml', stream: fixture(UN) },
    ]);
    assert.deepEqual(result.entries, []);
    assert.match(result.errors[0].message, /exactly one XML file, got 2/);
  });
});
