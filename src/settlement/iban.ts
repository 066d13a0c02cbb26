import { isCountryCode } from './countries';

/**
 * IBAN length per country from the SWIFT IBAN registry. Territories that use their parent's prefix
 * (e.g. Jersey and the Isle of Man with GB, Réunion with FR, Åland with FI) are not listed apart.
 * Armenia, Kyrgyzstan and Uzbekistan are deliberately absent: they have no IBANs, and their banks
 * are reached with a domestic account number.
 */
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  [
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24',
    'DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27',
    'GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20',
    'LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24',
    'PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25',
    'SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30',
  ]
    .join(' ')
    .split(' ')
    .map((entry): [string, number] => [entry.slice(0, 2), Number(entry.slice(2))]),
);

/** ISO 13616 caps every IBAN at 34 characters whatever the country. */
const MAX_IBAN_LENGTH = 34;

/** The IBAN length of `country`, or undefined when the country issues no IBANs. */
export function ibanLength(country: string): number | undefined {
  return IBAN_LENGTHS.get(country);
}

/**
 * Why `s` is not an IBAN in electronic format, or null when it is one. The printed format (groups
 * of four, spaces) is refused rather than normalised: screening compares IBANs as strings and a
 * record must hold the one form the receiving bank will book.
 */
export function checkIban(s: string): string | null {
  if (s === '') return 'is required: an IBAN in electronic format, e.g. "KZ86125KZT5004100100"';
  if (/\s/.test(s)) return 'must be in electronic format, without spaces (e.g. "KZ86125KZT5004100100")';
  if (s.length > MAX_IBAN_LENGTH)
    return `must be at most ${MAX_IBAN_LENGTH} characters (ISO 13616), got ${s.length}`;
  if (/[a-z]/.test(s)) return 'must be upper case (electronic IBAN format)';
  if (!/^[A-Z]{2}[0-9]{2}/.test(s)) return 'must start with a 2-letter country code and 2 check digits';
  const country = s.slice(0, 2);
  if (!isCountryCode(country))
    return `has an unknown country code "${country}" (expected ISO 3166-1 alpha-2)`;
  const length = IBAN_LENGTHS.get(country);
  if (length === undefined) {
    return `${country} does not issue IBANs; send the domestic account number in account_number instead`;
  }
  if (s.length !== length) return `must be ${length} characters for ${country} IBANs, got ${s.length}`;
  if (!/^[A-Z0-9]+$/.test(s.slice(4))) return 'may contain only upper-case letters A-Z and digits';
  if (mod97(s.slice(4) + s.slice(0, 4)) !== 1) return 'has wrong check digits (ISO 7064 mod 97-10)';
  // 00, 01 and 99 pass mod 97 as second spellings of 97, 98 and 02; no IBAN is issued with them.
  const check = Number(s.slice(2, 4));
  if (check < 2 || check > 98) return 'has check digits outside 02-98, which ISO 13616 never issues';
  return null;
}

/**
 * ISO 7064 mod 97-10 of a string of digits and upper-case letters (A=10 ... Z=35), folded one
 * character at a time so that no intermediate exceeds 3 digits; a 30-digit IBAN as one Number would
 * lose precision. Returns NaN for any other character.
 */
export function mod97(s: string): number {
  let remainder = 0;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (code >= 48 && code <= 57) remainder = (remainder * 10 + (code - 48)) % 97;
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + (code - 55)) % 97;
    else return NaN;
  }
  return remainder;
}
