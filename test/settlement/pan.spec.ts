import assert from 'node:assert/strict';
import { containsPan, isPan, luhnValid } from '../../src/settlement/pan';

/**
 * Test card numbers published by the schemes for testing, all Luhn-valid. 4111 1111 1111 1111 by
 * hand: the doubled digits (every second from the right) are 4 and seven 1s, giving 8 + 7·2 = 22;
 * the other eight 1s add 8; 30 mod 10 = 0.
 */
const TEST_PANS = [
  '4111111111111111', // Visa, 16
  '4222222222222', // Visa, 13
  '5555555555554444', // Mastercard, 16
  '2223003122003222', // Mastercard 2-series, 16
  '378282246310005', // American Express, 15
  '6011111111111117', // Discover, 16
  '3530111333300000', // JCB, 16
  '6250941006528599', // UnionPay, 16
  '4111111111111111110', // 19 digits, Luhn-valid
];

describe('luhnValid', () => {
  it('accepts the published test numbers', () => {
    for (const pan of TEST_PANS) assert.ok(luhnValid(pan), pan);
  });

  it('refuses a number with one digit changed', () => {
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(luhnValid('5555555555554445'), false);
  });

  it('matches a hand computation', () => {
    // 7992739871 + check digit 3: the textbook example (sum 67 + 3 = 70).
    assert.ok(luhnValid('79927398713'));
    assert.equal(luhnValid('79927398710'), false);
  });
});

describe('containsPan', () => {
  it('finds a bare card number alone and inside text', () => {
    for (const pan of TEST_PANS) {
      assert.ok(containsPan(pan), pan);
      assert.ok(containsPan(`Payment for order 77, card ${pan}, thank you`), pan);
    }
  });

  it('finds card numbers written in groups with single spaces or dashes', () => {
    assert.ok(containsPan('4111 1111 1111 1111'));
    assert.ok(containsPan('card: 4111-1111-1111-1111.'));
    assert.ok(containsPan('3782 822463 10005'));
    assert.ok(containsPan('4111 1111-1111 1111'));
  });

  it('finds a grouped card number chained to other numbers', () => {
    assert.ok(containsPan('invoice 2024 4111 1111 1111 1111'));
    assert.ok(containsPan('4111 1111 1111 1111 12/27'));
  });

  it('sees through invisible characters and full-width digits', () => {
    assert.ok(containsPan('4111\u200B1111\u200B1111\u200B1111'));
    assert.ok(containsPan('４１１１１１１１１１１１１１１１'));
  });

  it('ignores digit runs longer than any card number', () => {
    // A Russian 20-digit account holds Luhn-valid 16-digit substrings, but it is not a card.
    const account = '40702810938000012345';
    const substrings = [];
    for (let len = 13; len <= 19; len++) {
      for (let i = 0; i + len <= account.length; i++) substrings.push(account.slice(i, i + len));
    }
    assert.ok(substrings.some(luhnValid), 'the account should hold a Luhn-valid substring');
    assert.equal(containsPan(account), false);
    assert.equal(containsPan('4111111111111111' + '1111'), false);
    assert.equal(containsPan('0'.repeat(100)), false);
  });

  it('ignores Luhn-invalid numbers and short numbers', () => {
    assert.equal(containsPan('4111111111111112'), false);
    assert.equal(containsPan('4111 1111 1111 1112'), false);
    assert.equal(containsPan('123456789012'), false);
    assert.equal(containsPan('Invoice 2025-03-14 ref 000123, tel +7 701 123 45 67'), false);
  });

  it('does not join groups that are not grouped like a card number', () => {
    // 20250314000123 passes Luhn, but a date and a sequence number are not a card.
    assert.ok(luhnValid('20250314000123'));
    assert.equal(containsPan('HSBK-20250314-000123'), false);
    assert.equal(containsPan('ref 12-4222222222222-11'), true, 'a 13-digit run is a candidate on its own');
    assert.equal(containsPan('41 11111111 111111'), false, '4111111111111111 regrouped 2-8-6');
  });

  it('ignores numbers starting with 0, which no card scheme issues', () => {
    assert.ok(luhnValid('0000000000000000'));
    assert.equal(containsPan('0000000000000000'), false);
    assert.equal(containsPan('0000 0000 0000 0000'), false);
  });

  it('joins groups across any run of spaces, dashes, dots and slashes of any kind', () => {
    for (const text of [
      '4111  1111  1111  1111',
      '4111 - 1111 - 1111 - 1111',
      '4111\u20131111\u20131111\u20131111', // en dash
      '4111\u20141111\u20141111\u20141111', // em dash
      '4111\u22121111\u22121111\u22121111', // minus sign
      '4111\u20111111\u20111111\u20111111', // non-breaking hyphen
      '4111.1111.1111.1111',
      '4111\u00B71111\u00B71111\u00B71111', // middle dot
      '4111/1111/1111/1111',
      '4111\\1111\\1111\\1111',
      '4111\u00A01111\u00A01111\u00A01111', // no-break space
      '4111\u30001111\u30001111\u30001111', // ideographic space
      '4111\uFF0D1111\uFF0E1111\uFF0F1111', // full-width dash, dot and slash
      '4111 .-/ 1111 1111 1111',
    ]) {
      assert.equal(containsPan(`card ${text} exp`), true, JSON.stringify(text));
      assert.equal(containsPan(text, { unbrokenRuns: false }), true, JSON.stringify(text));
    }
  });

  it('does not join groups separated by commas or letters, which list numbers', () => {
    assert.equal(containsPan('4111, 1111, 1111, 1111'), false);
    assert.equal(containsPan('4111,1111,1111,1111'), false);
    assert.equal(containsPan('4111 x 1111 x 1111 x 1111'), false);
  });

  it('finds a card number cut into equal parts in free text, not in references', () => {
    for (const text of ['41111111 11111111', '41111111-11111111', '37828 22463 10005']) {
      assert.equal(containsPan(`card ${text}`), true, text);
      assert.equal(containsPan(text, { unbrokenRuns: false }), false, text);
    }
    assert.equal(containsPan('card 411111.111111.1111'), false, '6-6-4 is neither printed nor equal parts');
    // A date and an 8-digit sequence number pass Luhn one time in ten; only free text, where the
    // unbroken run counts too, takes them for a card number.
    assert.ok(luhnValid('2025031412345672'));
    assert.equal(containsPan('REF-20250314-12345672', { unbrokenRuns: false }), false);
  });

  it('reads the digits of every script, by their value', () => {
    const written = (zero: number, digits: string) =>
      digits.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));
    // Every decimal digit set Unicode has: each starts a run of ten consecutive code points.
    const zeros: number[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const isDigit = /\p{Nd}/u.test(String.fromCodePoint(code));
      if (isDigit && (zeros.length === 0 || code >= zeros[zeros.length - 1] + 10)) zeros.push(code);
    }
    assert.ok(zeros.length > 60, `only ${zeros.length} digit sets`);
    for (const zero of zeros) {
      const label = `U+${zero.toString(16).toUpperCase()}`;
      assert.equal(containsPan(`card ${written(zero, '4111111111111111')}`), true, label);
      assert.equal(containsPan(`card ${written(zero, '4111 1111 1111 1111')}`), true, label);
      // Read by value, not merely as "a digit": the one-digit-off number fails Luhn in every script.
      assert.equal(containsPan(`card ${written(zero, '4111111111111112')}`), false, label);
      assert.equal(containsPan(written(zero, '40702810938000012345')), false, label);
    }
    assert.equal(containsPan('card ٤١١١١١١١١١١١١١١١'), true, 'Arabic-Indic');
    assert.equal(containsPan('card ۴۱۱۱-۱۱۱۱-۱۱۱۱-۱۱۱۱'), true, 'Persian, grouped');
    assert.equal(containsPan('card ४१११ ११११ ११११ ११११'), true, 'Devanagari, grouped');
    assert.equal(containsPan('card 4١1١ 1111 ١١١١ 1111'), true, 'mixed scripts');
  });

  it('sees through invisible characters that are not format characters', () => {
    for (const ch of ['\u034F', '\u115F', '\u3164', '\uFFA0', '\u{E0041}', '\u180E', '\u061C']) {
      assert.equal(containsPan(`4111${ch}1111${ch}1111${ch}1111`), true, ch.codePointAt(0)?.toString(16));
    }
  });

  it('sees through a combining mark on each digit, and underscores between groups', () => {
    const underlined = [...'4111111111111111'].map((d) => `${d}\u0332`).join('');
    assert.equal(containsPan(`card ${underlined}`), true);
    assert.equal(containsPan('4111_1111_1111_1111'), true);
    assert.equal(containsPan('INV_2024_0001_17'), false);
  });

  it('still takes dates, amounts, phone numbers and accounts for what they are', () => {
    for (const text of [
      'Inv 2025-0042 of 2025-03-14, acc 40702810938000012345, contract 77/15',
      'Счёт № 2025/0042 от 14.03.2025, сумма 1 250 000.50, тел. +7 (701) 123-45-67',
      'فاتورة ٢٠٢٥/٠٣/١٤ رقم ٠٠٠١٢٣ المبلغ ١٢٥٠٠٠٫٥٠',
      'HSBK-20250314-000123',
      'HSBK.20250314.000123',
      'HSBK/20250314/000123',
      '2025.03.14 14:30 +7.701.123.45.67',
      'ref 41 11111111 111111',
      'v 4.1111.1111.1111.1',
    ]) {
      assert.equal(containsPan(text), false, text);
    }
  });

  it('finds nothing in megabytes of separators and digits of other scripts, quickly', () => {
    const started = process.hrtime.bigint();
    assert.equal(containsPan('١ - ٢ / '.repeat(150_000)), false);
    assert.equal(containsPan('1' + ' '.repeat(1_000_000) + 'x'), false);
    assert.equal(containsPan('4111–'.repeat(200_000)), false);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });

  it('returns only a boolean, so the number cannot leak', () => {
    assert.equal(typeof containsPan('4111111111111111'), 'boolean');
  });

  it('stays fast on a megabyte of digit groups', () => {
    const text = '1 2 '.repeat(250_000);
    const started = process.hrtime.bigint();
    containsPan(text);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });
});

describe('isPan', () => {
  it('takes a value made of nothing but a card number, however grouped or written', () => {
    for (const value of [
      '4111111111111111',
      '4111-1111-1111-1111',
      '4111.1111.1111.1111',
      '٤١١١١١١١١١١١١١١١',
      '41111111 11111111',
    ]) {
      assert.equal(isPan(value), true, value);
    }
  });

  it('refuses anything else: other characters, Luhn failures, a leading 0, other lengths', () => {
    for (const value of [
      'G4111111111111111',
      '4111111111111112',
      '0000000000000000',
      '411111111111',
      '41111111111111111111',
      '0x52908400098527886E0F7030069857D2E4169EE7',
      '0:529084000985271aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      '',
    ]) {
      assert.equal(isPan(value), false, value);
    }
  });
});
