import BigNumber from 'bignumber.js';
import { currencyScale } from './currencies';

/** A parsed amount, or the one field that is wrong and why. */
export type AmountParseResult =
  | { ok: true; value: BigNumber; scale: number }
  | { ok: false; field: 'currency' | 'value'; description: string };

/** The most integer digits an amount may have in any currency (DESIGN.md). */
export const MAX_INTEGER_DIGITS = 18;

/**
 * Receiving ledgers book amounts as signed 64-bit integers of minor units; 2^63 − 1 has 19 digits,
 * so an amount of at most 18 digits in all, integer and decimal, always fits. An asset whose
 * decimals alone fill that (ETH, BNB and DAI have 18) is counted in 256-bit integers on its chain
 * and no ledger books it in 64 bits: only MAX_INTEGER_DIGITS bounds it.
 */
const INT64_DIGITS = 18;

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

// A private configuration so that toString() never switches to exponent notation and so that no
// other module's BigNumber.config() can change how amounts parse here.
const Decimal = BigNumber.clone({ EXPONENTIAL_AT: 1e9 });

/**
 * Parses an amount as a participant wrote it. Only a plain decimal string is accepted: anything
 * else (a sign, an exponent, separators) is a sign the client serialised a float or a locale
 * string, and guessing what was meant is how money goes missing.
 *
 * The value is checked before the currency so that a client learns of a malformed value even when
 * the currency is unknown; `checkCurrency` lets callers report both at once.
 */
export function parseAmount(currency: string, value: string): AmountParseResult {
  return (
    amountProblem(currency, value) ?? {
      ok: true,
      value: new Decimal(value),
      scale: currencyScale(currency) as number,
    }
  );
}

/** What parseAmount would refuse, or null, without building the number (validation needs no more). */
export function amountProblem(
  currency: string,
  value: string,
): Extract<AmountParseResult, { ok: false }> | null {
  const syntax = checkValueSyntax(value);
  if (syntax !== null) return { ok: false, field: 'value', description: syntax };
  const integerDigits = value.split('.')[0].length;
  const currencyProblem = checkCurrency(currency);
  if (currencyProblem !== null) {
    // No currency takes so many digits: said with the currency's problem, so both are fixed at once.
    if (integerDigits > MAX_INTEGER_DIGITS) {
      const description = `has ${integerDigits} integer digits; no currency allows more than ${MAX_INTEGER_DIGITS}`;
      return { ok: false, field: 'value', description };
    }
    return { ok: false, field: 'currency', description: currencyProblem };
  }
  const scale = currencyScale(currency) as number;
  const decimals = fractionDigits(value);
  if (decimals > scale) {
    return { ok: false, field: 'value', description: tooManyDecimals(currency, scale, value) };
  }
  if (integerDigits > maxIntegerDigits(scale)) {
    return { ok: false, field: 'value', description: tooManyIntegerDigits(currency, scale, integerDigits) };
  }
  return null;
}

/**
 * The one written form of an amount amountProblem accepted: with exactly its currency's decimals,
 * so "125000.5" and "125000.50" KZT are both "125000.50", and "1" is "1.00". Intake records,
 * hashes and delivers this form, so that a retry writing the same amount differently replays
 * rather than conflicting, and every receiver parses one shape per currency.
 */
export function canonicalValue(currency: string, value: string): string {
  const missing = (currencyScale(currency) as number) - fractionDigits(value);
  if (missing <= 0) return value;
  return `${value}${value.includes('.') ? '' : '.'}${'0'.repeat(missing)}`;
}

/** Why `code` is not a currency or asset amounts may be written in, or null when it is one. */
export function checkCurrency(code: string): string | null {
  if (code === '') return 'is required: an ISO 4217 currency code (e.g. "KZT") or a registered crypto asset';
  if (currencyScale(code) !== undefined) return null;
  if (code.length <= 12 && currencyScale(code.toUpperCase()) !== undefined) {
    return `must be upper case ("${code.toUpperCase()}")`;
  }
  const shown = /^[A-Za-z0-9]{1,12}$/.test(code) ? `"${code}" ` : '';
  return (
    `${shown}is not a known currency: expected an ISO 4217 currency code (e.g. "KZT", "USD") ` +
    'or a registered crypto asset (e.g. "USDT", "BTC")'
  );
}

/** The currency-independent checks of an amount value: syntax, zero and leading zeros. */
function checkValueSyntax(value: string): string | null {
  if (value === '') return 'is required: a positive decimal such as "125000.50"';
  if (!DECIMAL.test(value)) return describeSyntaxError(value);
  if (/^[0.]+$/.test(value)) return 'must be greater than zero';
  // Zero padding is a fixed-width record's habit, not a number's: it would make two written forms
  // of one amount and let a value run to any length.
  if (/^0[0-9]/.test(value)) {
    return 'must not have leading zeros: only a single "0" before the "." (e.g. "0.50", "125000.50")';
  }
  return null;
}

/** The integer digits `scale` decimals leave room for (see INT64_DIGITS). */
function maxIntegerDigits(scale: number): number {
  return scale < INT64_DIGITS ? INT64_DIGITS - scale : MAX_INTEGER_DIGITS;
}

function tooManyIntegerDigits(currency: string, scale: number, digits: number): string {
  const why =
    scale > 0 && scale < INT64_DIGITS
      ? `, so that the amount in minor units (${scale} decimals) fits a signed 64-bit integer`
      : '';
  return `has ${digits} integer digits; ${currency} allows at most ${maxIntegerDigits(scale)}${why}`;
}

function fractionDigits(value: string): number {
  const dot = value.indexOf('.');
  return dot < 0 ? 0 : value.length - dot - 1;
}

function tooManyDecimals(currency: string, scale: number, value: string): string {
  const allowed =
    scale === 0 ? `${currency} allows no decimals` : `${currency} allows at most ${scale} decimals`;
  // "1.500" for KZT is numerically 1.50, but it claims a precision the currency does not have,
  // which is what a client rounding wrongly sends: refused rather than shortened.
  const onlyZerosTooMany = fractionDigits(value.replace(/0+$/, '')) <= scale;
  const hint = onlyZerosTooMany ? ' (trailing zeros count too: remove them)' : '';
  return `${allowed}, got ${fractionDigits(value)}${hint}`;
}

/** Names the most likely mistake, so that a client fixes its serialiser rather than guessing. */
function describeSyntaxError(value: string): string {
  const expected = 'write digits with at most one "." and no other characters, e.g. "125000.50"';
  if (/^\s|\s$/.test(value)) return `must not have leading or trailing spaces; ${expected}`;
  if (/^[+-]/.test(value)) return `must not have a sign (amounts are always positive); ${expected}`;
  if (/^[0-9.]*[eE][+-]?[0-9]+$/.test(value)) return `must not use exponent notation; ${expected}`;
  if (/^\.[0-9]+$/.test(value)) return `must have a digit before the "." (e.g. "0.5"); ${expected}`;
  if (/^[0-9]+\.$/.test(value)) return `must not end with "." (write "5" or "5.00"); ${expected}`;
  if (/^[0-9]+(,[0-9]+)+$/.test(value) || /^[0-9 ,'.]+$/.test(value)) {
    return `must use "." as the decimal separator and no thousands separators or spaces; ${expected}`;
  }
  return `is not a decimal number; ${expected}`;
}
