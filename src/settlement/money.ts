import BigNumber from 'bignumber.js';
import { currencyScale } from './currencies';

/** A parsed amount, or the one field that is wrong and why. */
export type AmountParseResult =
  | { ok: true; value: BigNumber; scale: number }
  | { ok: false; field: 'currency' | 'value'; description: string };

/** Larger amounts exceed what counterparties' ledgers (signed 64-bit minor units and up) can hold. */
export const MAX_INTEGER_DIGITS = 18;

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
  const currencyProblem = checkCurrency(currency);
  if (currencyProblem !== null) return { ok: false, field: 'currency', description: currencyProblem };
  const scale = currencyScale(currency) as number;
  const decimals = fractionDigits(value);
  if (decimals > scale) {
    return { ok: false, field: 'value', description: tooManyDecimals(currency, scale, value) };
  }
  return null;
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

/** The currency-independent checks of an amount value: syntax, zero and size. */
function checkValueSyntax(value: string): string | null {
  if (value === '') return 'is required: a positive decimal such as "125000.50"';
  if (!DECIMAL.test(value)) return describeSyntaxError(value);
  const integerPart = value.split('.')[0];
  const significant = integerPart.replace(/^0+/, '');
  if (significant.length > MAX_INTEGER_DIGITS) {
    return `has ${significant.length} integer digits; at most ${MAX_INTEGER_DIGITS} are allowed`;
  }
  if (/^[0.]+$/.test(value)) return 'must be greater than zero';
  return null;
}

function fractionDigits(value: string): number {
  const dot = value.indexOf('.');
  return dot < 0 ? 0 : value.length - dot - 1;
}

function tooManyDecimals(currency: string, scale: number, value: string): string {
  const allowed =
    scale === 0 ? `${currency} allows no decimals` : `${currency} allows at most ${scale} decimals`;
  // "1.500" for KZT is numerically fine but says more precision than the currency has; refusing
  // it keeps one written form per amount, which the idempotency hash and the receivers rely on.
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
