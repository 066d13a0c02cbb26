import assert from 'node:assert/strict';
import { containsPan, luhnValid } from '../../src/settlement/pan';

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

  it('does not join groups separated by more than one separator', () => {
    assert.equal(containsPan('4111  1111  1111  1111'), false);
    assert.equal(containsPan('4111, 1111, 1111, 1111'), false);
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
