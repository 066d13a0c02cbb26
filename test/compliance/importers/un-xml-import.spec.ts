import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { checkEntry } from '../../../src/compliance/entry-rules';
import { importList } from '../../../src/compliance/importers';
import type { ImportResult } from '../../../src/compliance/importers/import-result';
import { importUnXml, MAX_XML_DEPTH } from '../../../src/compliance/importers/un-xml-import';
import type { NameEntry } from '../../../src/screening/list-entry';
import { chunked, derivedRows, fixture, fixtureText, garbage, namedFixture } from './fixtures';

const UN = 'un_consolidated_2026-02-27/consolidated.xml';

/** A UN list of the given INDIVIDUAL records, with line breaks where the real file has them. */
const list = (records: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">\n<INDIVIDUALS>\n${records}</INDIVIDUALS>\n<ENTITIES/>\n</CONSOLIDATED_LIST>\n`;

const record = (first: string, ref: string, alias = '', passport = '') =>
  `<INDIVIDUAL><FIRST_NAME>${first}</FIRST_NAME><SECOND_NAME>AL-ZAWAHIRI</SECOND_NAME>` +
  `<UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE><REFERENCE_NUMBER>${ref}</REFERENCE_NUMBER>` +
  (alias === ''
    ? ''
    : `<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>${alias}</ALIAS_NAME></INDIVIDUAL_ALIAS>`) +
  (passport === ''
    ? ''
    : `<INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>${passport}</NUMBER>` +
      '<ISSUING_COUNTRY>Egypt</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>') +
  '</INDIVIDUAL>\n';

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
      // TAi.068's NAME_ORIGINAL_SCRIPT holds two U+FFFD, written as such (valid UTF-8) by the UN.
      assert.equal(result.stats.notes['U+FFFD (replacement character) written in the file'], 1);
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

    it('stops on garbage after maxErrors errors, with line numbers', async () => {
      // Printable ASCII noise: valid UTF-8, broken XML on every line.
      const noise = Buffer.from(
        garbage(2_000_000).map((byte) => (byte % 10 === 0 ? 0x0a : 0x20 + (byte % 95))),
      );
      const result = await importUnXml(chunked(noise, 65536), { maxErrors: 50 });
      assert.equal(result.errors.length, 50);
      assert.ok(result.errors.every((e) => e.line >= 1));
      assert.deepEqual(result.entries, []);
    });

    it('refuses bytes that are not UTF-8 at their line, and binary garbage at once', async () => {
      const latin1 = Buffer.from(list(record('JOSÉ', 'QDi.006')), 'latin1');
      const result = await importUnXml(chunked(latin1, 7));
      assert.deepEqual(result.errors, [
        {
          file: 'consolidated.xml',
          line: 4,
          message: 'bytes that are not valid UTF-8: the file must be UTF-8',
        },
      ]);
      assert.deepEqual(result.entries, []);
      const binary = await importUnXml(chunked(garbage(2_000_000), 65536));
      assert.deepEqual(
        binary.errors.map((e) => e.message),
        ['bytes that are not valid UTF-8: the file must be UTF-8'],
      );
      // A file that ends inside a character.
      const cut = Buffer.from(list(record('Қасым', 'QDi.006')));
      const end = await importUnXml(Readable.from([Buffer.concat([cut, Buffer.from([0xd2])])]));
      assert.match(end.errors[0]?.message ?? '', /not valid UTF-8/);
    });

    it('refuses a file declaring an encoding other than UTF-8, and reads one declaring UTF-8 or none', async () => {
      const declared = list(record('JOSE', 'QDi.006')).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"');
      const result = await importUnXml(Readable.from([declared]));
      assert.deepEqual(result.errors, [
        {
          file: 'consolidated.xml',
          line: 1,
          message: 'the file declares encoding ISO-8859-1; only UTF-8 is read: convert it first',
        },
      ]);
      for (const xml of [
        list(record('JOSE', 'QDi.006')).replace('encoding="UTF-8"', 'encoding="utf8"'),
        list(record('JOSE', 'QDi.006')).replace(' encoding="UTF-8"', ''),
      ]) {
        const ok = await importUnXml(Readable.from([xml]));
        assert.deepEqual(ok.errors, []);
        assert.equal(ok.entries.length, 1);
      }
    });

    it('reads CDATA sections as text', async () => {
      const plain = await importUnXml(
        Readable.from([list(record('AYMAN', 'QDi.006', 'AL-ZAWAHRY', '1084010'))]),
      );
      const cdata = await importUnXml(
        chunked(
          list(record('<![CDATA[AYMAN]]>', 'QDi.006', 'AL-<![CDATA[ZAWAHRY]]>', '<![CDATA[1084010]]>')),
          5,
        ),
      );
      assert.deepEqual(cdata.errors, []);
      assert.deepEqual(cdata.entries, plain.entries);
      assert.ok(cdata.entries.some((e) => e.kind === 'national-id' && e.value === '1084010'));
      function* huge(): Generator<string> {
        yield '<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME><![CDATA[';
        const chunk = 'x'.repeat(65536);
        for (let i = 0; i < 64; i++) yield chunk;
        yield ']]></FIRST_NAME><REFERENCE_NUMBER>R.1</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>';
      }
      const long = await importUnXml(Readable.from(huge()), { maxLineLength: 1 << 20 });
      assert.deepEqual(
        long.errors.map((e) => e.message),
        ['more than 1048576 characters without a tag (in <FIRST_NAME>): not a UN list'],
      );
    });

    it('reports elements that would leave records unread: unknown sections and records, and nested records', async () => {
      const xml = list(
        record('AYMAN', 'QDi.006') +
          '<INDIVIDUAL><FIRST_NAME>KHALID</FIRST_NAME><REFERENCE_NUMBER>QDi.007</REFERENCE_NUMBER>\n' +
          '<INDIVIDUAL><FIRST_NAME>HIDDEN</FIRST_NAME><REFERENCE_NUMBER>QDi.999</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUAL>\n' +
          '<ENTITY><FIRST_NAME>MISFILED</FIRST_NAME><REFERENCE_NUMBER>QDe.001</REFERENCE_NUMBER></ENTITY>\n',
      ).replace(
        '<ENTITIES/>',
        '<VESSELS><VESSEL><FIRST_NAME>SHIP</FIRST_NAME><REFERENCE_NUMBER>QDv.001</REFERENCE_NUMBER></VESSEL></VESSELS>',
      );
      const result = await importUnXml(Readable.from([xml]), { fileName: 'un.xml' });
      assert.deepEqual(
        result.errors.map((e) => `${e.file}:${e.line} ${e.message}`),
        [
          'un.xml:6 <INDIVIDUAL> inside the record that starts on line 5: records do not nest, so it would be left out',
          'un.xml:7 <ENTITY> in <INDIVIDUALS> is not read (only INDIVIDUAL is): it would be left out',
          'un.xml:9 <VESSELS> under <CONSOLIDATED_LIST> is not read (only INDIVIDUALS and ENTITIES are): its records would be left out',
        ],
      );
    });

    it('stops at elements nested deeper than the UN list nests them, without reading the rest', async () => {
      let sent = 0;
      function* deep(): Generator<Buffer> {
        yield Buffer.from('<?xml version="1.0"?><CONSOLIDATED_LIST>');
        // 8 MB of open elements, in one-megabyte chunks.
        const chunk = Buffer.from('<a x="1">'.repeat(116_509));
        while (sent < 8_000_000) {
          sent += chunk.length;
          yield chunk;
        }
      }
      // Pulled one chunk at a time (a Readable would read ahead), so `sent` is what was read.
      const chunks = deep();
      const source: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(chunks.next()) }),
      };
      const result = await importUnXml(source);
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [
          '<a> under <CONSOLIDATED_LIST> is not read (only INDIVIDUALS and ENTITIES are): its records would be left out',
          `elements nested more than ${MAX_XML_DEPTH} deep (<a>): not a UN list`,
        ],
      );
      assert.equal(sent, 116_509 * 9, 'nothing read after the first chunk');
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
