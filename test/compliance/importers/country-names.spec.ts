import assert from 'node:assert/strict';
import { COUNTRY_NAME_CODES, countryCode } from '../../../src/compliance/importers/country-names';
import { OFAC_COLUMNS, readOfacCsv } from '../../../src/compliance/importers/ofac-legacy-csv';
import { isCountryCode } from '../../../src/settlement/countries';
import { fixture } from './fixtures';

/** Left unmapped on purpose (see country-names.ts): no single ISO code is right for them. */
const UNMAPPED = new Set([
  'undetermined',
  'Netherlands Antilles',
  'Region: Kafia Kingi',
  'Region: Jammu and Kashmir',
  'Region: Commonwealth of Independent States',
]);

describe('country names', () => {
  it('maps only to assigned ISO 3166-1 alpha-2 codes (or XK)', () => {
    assert.ok(COUNTRY_NAME_CODES.size > 400);
    for (const [name, code] of COUNTRY_NAME_CODES) assert.ok(isCountryCode(code), `${name} → ${code}`);
  });

  it("maps OFAC's and the UN's spellings", () => {
    const expected: Record<string, string> = {
      Russia: 'RU',
      'Russian Federation': 'RU',
      Kazakhstan: 'KZ',
      'Korea, North': 'KP',
      "Democratic People's Republic of Korea": 'KP',
      'Korea, South': 'KR',
      Iran: 'IR',
      'Iran (Islamic Republic of)': 'IR',
      Burma: 'MM',
      Kyrgyzstan: 'KG',
      Uzbekistan: 'UZ',
      Georgia: 'GE',
      Armenia: 'AM',
      Belarus: 'BY',
      'Congo, Democratic Republic of the': 'CD',
      'Congo, Republic of the': 'CG',
      'Cote d Ivoire': 'CI',
      "Côte d'Ivoire": 'CI',
      'Bahamas, The': 'BS',
      'The Gambia': 'GM',
      'Virgin Islands, British': 'VG',
      'Man, Isle of': 'IM',
      'Hong Kong': 'HK',
      'China, Hong Kong Special Administrative Region': 'HK',
      Macau: 'MO',
      Türkiye: 'TR',
      Turkey: 'TR',
      'Viet Nam': 'VN',
      Kosovo: 'XK',
      Palestinian: 'PS',
      'Region: Gaza': 'PS',
      'Region: Crimea': 'UA',
      'North Macedonia, The Republic of': 'MK',
      'United Kingdom of Great Britain and Northern Ireland': 'GB',
    };
    for (const [name, code] of Object.entries(expected)) assert.equal(countryCode(name), code, name);
  });

  it('ignores case, accents, spacing and a final full stop, and takes codes as they are', () => {
    assert.equal(countryCode('  KAZAKHSTAN. '), 'KZ');
    assert.equal(countryCode('turkiye'), 'TR');
    assert.equal(countryCode('Korea,  North'), 'KP');
    assert.equal(countryCode('KZ'), 'KZ');
    assert.equal(countryCode('XX'), undefined);
    assert.equal(countryCode('Atlantis'), undefined);
    assert.equal(countryCode('Netherlands Antilles'), undefined);
  });

  for (const path of [
    'ofac_sdn_2021-07-07/add.csv',
    'ofac_sdn_aliases_2025-12-24/add.csv',
    'ofac_non_sdn_2025-12-19/cons_add.csv',
  ]) {
    it(`maps every Country of ${path} but the deliberately unmapped`, async () => {
      const unknown = new Set<string>();
      for await (const item of readOfacCsv(fixture(path), { file: path, columns: OFAC_COLUMNS.add })) {
        const name = item.record?.fields[4] ?? '';
        if (name !== '' && countryCode(name) === undefined) unknown.add(name);
      }
      assert.deepEqual(
        [...unknown].filter((name) => !UNMAPPED.has(name)),
        [],
      );
    });
  }
});
