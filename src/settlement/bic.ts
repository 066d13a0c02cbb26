import { isCountryCode } from './countries';

const BIC = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;

/**
 * Why `s` is not a business identifier code (ISO 9362), or null when it is one. Only the form a
 * SWIFT network would carry is accepted (upper case, no spaces): screening and routing compare BICs
 * as strings, so a second spelling of the same BIC would slip past both.
 */
export function checkBic(s: string): string | null {
  if (s === '') return 'is required: a BIC (ISO 9362) of 8 or 11 characters, e.g. "HSBKKZKX"';
  if (/\s/.test(s)) return 'must not contain spaces (ISO 9362 BIC, e.g. "HSBKKZKX")';
  if (s.length !== 8 && s.length !== 11) return `must be 8 or 11 characters (ISO 9362 BIC), got ${s.length}`;
  if (s !== s.toUpperCase() && BIC.test(s.toUpperCase())) {
    return 'must be upper case (ISO 9362 BIC, e.g. "HSBKKZKX")';
  }
  if (!BIC.test(s)) {
    return (
      'must be 4 letters or digits (party prefix), 2 letters (country code), 2 letters or digits ' +
      '(suffix) and optionally 3 letters or digits (branch), upper case (ISO 9362 BIC)'
    );
  }
  const country = s.slice(4, 6);
  if (!isCountryCode(country)) {
    return `has an unknown country code "${country}" in positions 5-6 (expected ISO 3166-1 alpha-2)`;
  }
  return null;
}

/** The institution part of a BIC: its first 8 characters, which screening and routing match on. */
export function bic8(s: string): string {
  return s.slice(0, 8);
}
