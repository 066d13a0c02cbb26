import assert from 'node:assert/strict';
import { checkIban, ibanLength, mod97 } from '../../src/settlement/iban';

/** An independent mod-97 over the whole number as a BigInt, to cross-check the folded one. */
function referenceMod97(iban: string): bigint {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  const digits = Array.from(rearranged, (c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join('');
  return BigInt(digits) % 97n;
}

const VALID = [
  'KZ86125KZT5004100100',
  'GB82WEST12345698765432',
  'DE89370400440532013000',
  'RU0204452560040702810412345678901',
  'GE29NB0000000101904917',
  'AZ21NABZ00000000137010001944',
  'BY13NBRB3600900000002Z00AB00',
  'UA213223130000026007233566001',
  'FR1420041010050500013M02606',
  'NO9386011117947',
  'MT84MALT011000012345MTLCAST001S',
  'LC55HEMM000100010012001200023015',
];

describe('checkIban', () => {
  it('accepts valid IBANs from the registry, shortest to longest', () => {
    for (const iban of VALID) {
      assert.equal(checkIban(iban), null, iban);
      assert.equal(referenceMod97(iban), 1n, iban);
    }
  });

  it('knows the registry lengths of the corridor countries', () => {
    const lengths: Record<string, number> = {
      KZ: 20,
      RU: 33,
      GE: 22,
      AZ: 28,
      BY: 28,
      UA: 29,
      DE: 22,
      GB: 22,
      FR: 27,
    };
    for (const [country, length] of Object.entries(lengths))
      assert.equal(ibanLength(country), length, country);
  });

  it('refuses wrong check digits', () => {
    assert.equal(checkIban('KZ87125KZT5004100100'), 'has wrong check digits (ISO 7064 mod 97-10)');
    assert.equal(checkIban('GB82WEST12345698765431'), 'has wrong check digits (ISO 7064 mod 97-10)');
  });

  it('refuses check digits 00, 01 and 99, second spellings of 97, 98 and 02 that pass mod 97', () => {
    assert.equal(checkIban('KZ97125KZT5004100193'), null);
    assert.equal(
      checkIban('KZ00125KZT5004100193'),
      'has check digits outside 02-98, which ISO 13616 never issues',
    );
  });

  it('refuses swapped adjacent digits, which mod 97 always catches', () => {
    assert.match(checkIban('DE89370400440532013000'.replace('0532', '0523')) ?? '', /check digits/);
  });

  it('refuses the printed format and asks for the electronic one', () => {
    assert.match(checkIban('GB82 WEST 1234 5698 7654 32') ?? '', /electronic format, without spaces/);
  });

  it('requires upper case', () => {
    assert.equal(checkIban('gb82west12345698765432'), 'must be upper case (electronic IBAN format)');
    assert.equal(checkIban('GB82West12345698765432'), 'must be upper case (electronic IBAN format)');
  });

  it('refuses a length that does not match the country', () => {
    assert.equal(checkIban('KZ86125KZT50041001000'), 'must be 20 characters for KZ IBANs, got 21');
    assert.equal(checkIban('DE8937040044053201300'), 'must be 22 characters for DE IBANs, got 21');
  });

  it('refuses a country without IBANs and points to account_number', () => {
    for (const country of ['AM', 'KG', 'UZ', 'US', 'CN']) {
      const description = checkIban(`${country}12345678901234567890`) ?? '';
      assert.match(description, new RegExp(`^${country} does not issue IBANs`), country);
      assert.match(description, /account_number/);
    }
  });

  it('refuses a country code ISO 3166 does not know', () => {
    assert.match(checkIban('QQ12345678901234567890') ?? '', /unknown country code "QQ"/);
  });

  it('refuses a malformed start and non-alphanumeric characters', () => {
    assert.match(checkIban('1286125KZT5004100100') ?? '', /2-letter country code and 2 check digits/);
    assert.match(checkIban('KZAB125KZT5004100100') ?? '', /2-letter country code and 2 check digits/);
    assert.match(checkIban('KZ86125KZT-004100100') ?? '', /only upper-case letters A-Z and digits/);
  });

  it('refuses more than 34 characters without echoing', () => {
    assert.equal(
      checkIban('GB' + '1'.repeat(10_000)),
      'must be at most 34 characters (ISO 13616), got 10002',
    );
  });

  it('requires a value', () => {
    assert.match(checkIban('') ?? '', /is required/);
  });
});

describe('mod97', () => {
  it('folds long numbers without losing precision', () => {
    const digits = '98765432109876543210987654321098765432109876543210';
    assert.equal(mod97(digits), Number(BigInt(digits) % 97n));
  });

  it('reads letters as 10..35', () => {
    assert.equal(mod97('A'), 10);
    assert.equal(mod97('Z'), 35);
    assert.equal(mod97('Z0'), 350 % 97);
  });

  it('returns NaN for characters outside 0-9 and A-Z', () => {
    assert.ok(Number.isNaN(mod97('12a')));
  });
});
