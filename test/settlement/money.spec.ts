import assert from 'node:assert/strict';
import { checkCurrency, MAX_INTEGER_DIGITS, parseAmount } from '../../src/settlement/money';
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

  it('accepts integers, fewer decimals than the scale and leading zeros', () => {
    for (const [currency, value] of [
      ['KZT', '1'],
      ['KZT', '0.01'],
      ['USD', '10.5'],
      ['JPY', '1000'],
      ['KWD', '1.234'],
      ['BTC', '0.00000001'],
      ['RUB', '000000000000000000000001'],
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

  it(`allows ${MAX_INTEGER_DIGITS} integer digits and refuses ${MAX_INTEGER_DIGITS + 1}`, () => {
    assert.ok(parseAmount('KZT', '9'.repeat(18)).ok);
    assert.equal(
      failure('KZT', '1' + '0'.repeat(18)).description,
      'has 19 integer digits; at most 18 are allowed',
    );
  });

  it('does not count leading zeros as integer digits', () => {
    assert.ok(parseAmount('KZT', '0'.repeat(30) + '9'.repeat(18) + '.99').ok);
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
