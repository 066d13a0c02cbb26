import assert from 'node:assert/strict';
import { bic8, checkBic } from '../../src/settlement/bic';
import { COUNTRY_CODES, isCountryCode } from '../../src/settlement/countries';

describe('countries', () => {
  it('holds the 249 officially assigned ISO 3166-1 alpha-2 codes plus XK', () => {
    assert.equal(COUNTRY_CODES.size, 250);
    for (const code of ['KZ', 'RU', 'GE', 'AM', 'KG', 'UZ', 'AZ', 'BY', 'TJ', 'TM', 'CN', 'XK', 'AX', 'SS']) {
      assert.ok(isCountryCode(code), code);
    }
  });

  it('refuses unassigned, reserved, lower-case and three-letter codes', () => {
    for (const code of ['XX', 'EU', 'UK', 'QQ', 'kz', 'KAZ', '', 'K']) {
      assert.equal(isCountryCode(code), false, code);
    }
  });
});

describe('checkBic', () => {
  it('accepts 8- and 11-character BICs of the corridor banks', () => {
    for (const bic of [
      'HSBKKZKX',
      'SABRRUMM',
      'CASPKZKA',
      'BKKBGE22',
      'HSBKKZKXXXX',
      'SABRRUMM012',
      'DEUTDEFF500',
    ]) {
      assert.equal(checkBic(bic), null, bic);
    }
  });

  it('accepts digits in the party prefix and the suffix', () => {
    assert.equal(checkBic('1234KZ1A'), null);
  });

  it('says how long a BIC must be and how long it was', () => {
    assert.equal(checkBic('HSBKKZKXX'), 'must be 8 or 11 characters (ISO 9362 BIC), got 9');
    assert.equal(checkBic('HSBKKZK'), 'must be 8 or 11 characters (ISO 9362 BIC), got 7');
    assert.equal(checkBic('HSBKKZKX0000'), 'must be 8 or 11 characters (ISO 9362 BIC), got 12');
  });

  it('requires upper case', () => {
    assert.match(checkBic('hsbkkzkx') ?? '', /upper case/);
    assert.match(checkBic('HSBKkzKX') ?? '', /upper case/);
  });

  it('refuses spaces and empty values', () => {
    assert.match(checkBic('HSBK KZKX') ?? '', /spaces/);
    assert.match(checkBic('') ?? '', /is required/);
  });

  it('requires letters in the country positions', () => {
    assert.match(checkBic('HSBK12KX') ?? '', /2 letters \(country code\)/);
    assert.match(checkBic('HSBK-ZKX') ?? '', /ISO 9362/);
  });

  it('refuses a country code that ISO 3166 does not assign', () => {
    assert.equal(
      checkBic('HSBKQQKX'),
      'has an unknown country code "QQ" in positions 5-6 (expected ISO 3166-1 alpha-2)',
    );
    assert.equal(checkBic('ABCDXKPR'), null, 'Kosovo (XK) is used in real BICs');
  });

  it('does not echo a long value', () => {
    const description = checkBic('A'.repeat(5000)) ?? '';
    assert.equal(description, 'must be 8 or 11 characters (ISO 9362 BIC), got 5000');
  });

  it('bic8 keeps the institution part', () => {
    assert.equal(bic8('HSBKKZKXXXX'), 'HSBKKZKX');
    assert.equal(bic8('SABRRUMM'), 'SABRRUMM');
  });
});
