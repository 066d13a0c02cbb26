import assert from 'node:assert/strict';
import { canonicalValue, checkCurrency, MAX_INTEGER_DIGITS, parseAmount } from '../../src/settlement/money';
import { currencyScale, isCryptoAsset } from '../../src/settlement/currencies';

function failure(currency: string, value: string): { field: string; description: string } {
  const result = parseAmount(currency, value);
  assert.equal(result.ok, false, `expected ${currency} ${value.slice(0, 40)} to be refused`);
  if (result.ok) throw new Error('unreachable');
  return { field: result.field, description: result.description };
}

describe('currencies', () => {
  it('knows the corridor currencies and their ISO 4217 minor units', () => {
    for (const code of ['KZT', 'RUB', 'USD', 'EUR', 'UZS', 'KGS', 'AMD', 'GEL', 'BYN', 'TJS', 'TMT', 'CNY']) {
      assert.equal(currencyScale(code), 2, code);
    }
    assert.equal(currencyScale('JPY'), 0);
    assert.equal(currencyScale('KRW'), 0);
    assert.equal(currencyScale('KWD'), 3);
    assert.equal(currencyScale('BHD'), 3);
    assert.equal(currencyScale('CLF'), 4);
  });

  it('knows the registered crypto assets and their decimals', () => {
    const expected: Record<string, number> = {
      BTC: 8,
      ETH: 18,
      USDT: 6,
      USDC: 6,
      TRX: 6,
      LTC: 8,
      XRP: 6,
      SOL: 9,
      TON: 9,
      BNB: 18,
      DAI: 18,
    };
    for (const [code, scale] of Object.entries(expected)) {
      assert.equal(currencyScale(code), scale, code);
      assert.equal(isCryptoAsset(code), true, code);
    }
    assert.equal(isCryptoAsset('KZT'), false);
  });

  it('leaves out funds and metals without minor units, and withdrawn codes', () => {
    for (const code of ['XAU', 'XAG', 'XDR', 'XXX', 'XTS', 'HRK', 'kzt', '']) {
      assert.equal(currencyScale(code), undefined, code);
    }
  });
});

describe('parseAmount', () => {
  it('parses a valid KZT amount exactly, without floating point', () => {
    const result = parseAmount('KZT', '125000.50');
    assert.ok(result.ok);
    assert.equal(result.scale, 2);
    assert.equal(result.value.toFixed(2), '125000.50');
  });

  it('keeps every digit of the largest amount it accepts', () => {
    const value = '999999999999999999.999999999999999999';
    const result = parseAmount('ETH', value);
    assert.ok(result.ok);
    assert.equal(result.value.toString(), value);
    assert.equal(result.scale, 18);
  });

  it('accepts integers, fewer decimals than the scale and a single 0 before the point', () => {
    for (const [currency, value] of [
      ['KZT', '1'],
      ['KZT', '0.01'],
      ['KZT', '0.5'],
      ['USD', '10.5'],
      ['JPY', '1000'],
      ['KWD', '1.234'],
      ['BTC', '0.00000001'],
    ]) {
      assert.ok(parseAmount(currency, value).ok, `${currency} ${value}`);
    }
  });

  it('refuses an empty value', () => {
    assert.deepEqual(failure('KZT', '').field, 'value');
    assert.match(failure('KZT', '').description, /is required/);
  });

  it('refuses signs, exponents, separators and malformed dots with a precise reason', () => {
    const cases: [string, RegExp][] = [
      ['-1.00', /sign/],
      ['+1.00', /sign/],
      ['1e5', /exponent/],
      ['1.5E+3', /exponent/],
      ['.5', /digit before/],
      ['5.', /must not end with "\."/],
      ['1,000.00', /thousands separators/],
      ['1 000', /thousands separators|spaces/],
      ['1000,50', /decimal separator/],
      [' 100', /leading or trailing spaces/],
      ['100 ', /leading or trailing spaces/],
      ['1.2.3', /decimal/],
      ['abc', /not a decimal number/],
      ['0x10', /not a decimal number/],
      ['Infinity', /not a decimal number/],
      ['NaN', /not a decimal number/],
      ['١٢٣', /not a decimal number/],
    ];
    for (const [value, reason] of cases) {
      const f = failure('KZT', value);
      assert.equal(f.field, 'value', value);
      assert.match(f.description, reason, value);
    }
  });

  it('refuses zero in every spelling', () => {
    for (const value of ['0', '0.00', '000', '0.0']) {
      assert.match(failure('KZT', value).description, /greater than zero/, value);
    }
  });

  it('refuses more decimals than the currency allows, naming the currency and its scale', () => {
    assert.equal(failure('KZT', '1.005').description, 'KZT allows at most 2 decimals, got 3');
    assert.equal(failure('JPY', '100.5').description, 'JPY allows no decimals, got 1');
    assert.equal(failure('KWD', '1.0001').description, 'KWD allows at most 3 decimals, got 4');
    assert.equal(failure('USDT', '1.0000001').description, 'USDT allows at most 6 decimals, got 7');
  });

  it('counts trailing zeros beyond the scale as decimals and says so', () => {
    const f = failure('KZT', '125000.500');
    assert.equal(f.field, 'value');
    assert.match(f.description, /^KZT allows at most 2 decimals, got 3/);
    assert.match(f.description, /trailing zeros/);
    assert.match(failure('JPY', '100.0').description, /^JPY allows no decimals, got 1 .*trailing zeros/);
  });

  it('refuses leading zeros, however many, without echoing the value', () => {
    for (const value of ['0125000.50', '00.5', '01', '000000000000000000000001', '0'.repeat(4000) + '1']) {
      const f = failure('RUB', value);
      assert.equal(f.field, 'value');
      assert.equal(
        f.description,
        'must not have leading zeros: only a single "0" before the "." (e.g. "0.50", "125000.50")',
      );
    }
    assert.match(failure('RUB', '00.00').description, /greater than zero/);
  });

  it('bounds integer digits so that the amount in minor units fits a signed 64-bit integer', () => {
    const int64Max = 2n ** 63n - 1n;
    const minorUnits = (value: string) => BigInt(value.replace('.', ''));
    for (const [currency, integerDigits] of [
      ['JPY', 18],
      ['KZT', 16],
      ['KWD', 15],
      ['CLF', 14],
      ['BTC', 10],
      ['USDT', 12],
      ['SOL', 9],
    ] as const) {
      const scale = currencyScale(currency) ?? 0;
      const decimals = scale === 0 ? '' : `.${'9'.repeat(scale)}`;
      const largest = '9'.repeat(integerDigits) + decimals;
      assert.ok(parseAmount(currency, largest).ok, `${currency} ${largest}`);
      assert.ok(minorUnits(largest) <= int64Max, `${currency} ${largest}`);
      const f = failure(currency, '1' + '0'.repeat(integerDigits) + decimals);
      assert.equal(f.field, 'value');
      assert.match(
        f.description,
        new RegExp(`^has ${integerDigits + 1} integer digits; ${currency} allows at most ${integerDigits}`),
      );
    }
  });

  it('refuses 99999999999999999.99 KZT, past 2^63 − 1 tiyn, and says why', () => {
    const value = '99999999999999999.99';
    assert.ok(BigInt(value.replace('.', '')) > 2n ** 63n - 1n);
    assert.equal(
      failure('KZT', value).description,
      'has 17 integer digits; KZT allows at most 16, so that the amount in minor units (2 decimals) fits a signed 64-bit integer',
    );
    assert.equal(
      failure('JPY', '1' + '0'.repeat(18)).description,
      'has 19 integer digits; JPY allows at most 18',
    );
  });

  it(`allows 18-decimal assets ${MAX_INTEGER_DIGITS} integer digits: they are never booked in 64 bits`, () => {
    for (const asset of ['ETH', 'BNB', 'DAI']) {
      assert.ok(parseAmount(asset, '9'.repeat(18) + '.' + '9'.repeat(18)).ok, asset);
      assert.equal(
        failure(asset, '1' + '0'.repeat(18)).description,
        `has 19 integer digits; ${asset} allows at most 18`,
      );
    }
    assert.ok(BigInt('9'.repeat(36)) <= 2n ** 127n - 1n, 'within a signed 128-bit integer');
  });

  it('reports too many integer digits for any currency even when the currency is unknown', () => {
    const f = failure('QQQ', '1' + '0'.repeat(18));
    assert.equal(f.field, 'value');
    assert.equal(f.description, 'has 19 integer digits; no currency allows more than 18');
    assert.equal(failure('QQQ', '1' + '0'.repeat(17)).field, 'currency');
  });

  it('refuses an unknown currency and says what is expected, after a valid value', () => {
    const f = failure('QQQ', '100.00');
    assert.equal(f.field, 'currency');
    assert.match(f.description, /ISO 4217/);
    assert.match(f.description, /crypto asset/);
  });

  it('reports a malformed value even when the currency is also unknown', () => {
    assert.equal(failure('QQQ', '1e5').field, 'value');
  });

  it('tells a lower-case currency to be upper case', () => {
    assert.equal(failure('kzt', '1.00').description, 'must be upper case ("KZT")');
  });

  it('does not echo huge or odd currency values', () => {
    const hostile = 'X'.repeat(10_000);
    const description = checkCurrency(hostile);
    assert.ok(description !== null);
    assert.ok(description.length < 200);
    assert.ok(!description.includes('XXXXXXXX'));
    assert.ok(!(checkCurrency('<script>') ?? '').includes('<script>'));
  });

  it('never echoes the value', () => {
    for (const value of ['-123456789', '1e99', '98765.4321', '1'.repeat(500)]) {
      assert.ok(!failure('KZT', value).description.includes(value.slice(0, 6)), value.slice(0, 20));
    }
  });

  it('requires a currency', () => {
    assert.match(failure('', '1.00').description, /is required/);
    assert.equal(failure('', '1.00').field, 'currency');
  });
});

describe('canonicalValue', () => {
  it("writes every accepted amount with exactly its currency's decimals", () => {
    for (const [currency, value, canonical] of [
      ['KZT', '125000.5', '125000.50'],
      ['KZT', '125000.50', '125000.50'],
      ['KZT', '125000', '125000.00'],
      ['KZT', '0.5', '0.50'],
      ['JPY', '1000', '1000'],
      ['KWD', '1.2', '1.200'],
      ['BTC', '0.1', '0.10000000'],
      ['ETH', '1', '1.000000000000000000'],
      ['USDT', '1500.123456', '1500.123456'],
    ]) {
      assert.ok(parseAmount(currency, value).ok, `${currency} ${value}`);
      assert.equal(canonicalValue(currency, value), canonical, `${currency} ${value}`);
    }
  });

  it('gives one form to every way of writing one amount, and keeps its value', () => {
    const forms = ['7', '7.0', '7.00'].map((v) => canonicalValue('KZT', v));
    assert.deepEqual(forms, ['7.00', '7.00', '7.00']);
    const canonical = canonicalValue('BTC', '21000000.5');
    const parsed = parseAmount('BTC', canonical);
    assert.ok(parsed.ok, 'the canonical form is itself accepted');
    assert.equal(parsed.value.toString(), '21000000.5');
  });
});
