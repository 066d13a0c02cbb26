import { nationalIdKey } from '../../screening/identifier-index';
import type { PartyType } from '../../screening/list-entry';

/**
 * The one form document numbers are stored and compared in (upper case, letters and digits only):
 * lists write the same number as "OB 0243318", "7686966-0143", "78.865.882" or "K357514(4)".
 */
export const normaliseIdentifier = nationalIdKey;

/**
 * The normalised number when `raw` is a document number as lists write one ("OB 0243318",
 * "HRB 32490", "12/BAHANA(N)010023"), or undefined when it is prose about one ("Passport
 * D000000483, Diplomatic", "CAR diplomatic passport no. D00000898"): then the letters of the prose
 * would end up glued to the number. Words without digits may only be short prefixes ("HRB", "TR-P").
 */
export function documentNumber(raw: string): string | undefined {
  const tokens = raw.trim().split(/\s+/);
  const plausible =
    tokens.some((token) => /\d/.test(token)) &&
    tokens.every((token) => /^[A-Za-z0-9./()_-]+$/.test(token) && (/\d/.test(token) || token.length <= 4));
  if (!plausible) return undefined;
  const value = normaliseIdentifier(raw);
  return value.length >= 2 && value.length <= 40 ? value : undefined;
}

/**
 * The national scheme a number also belongs to, so that a party identified by its KZ BIN or RU INN
 * in a settlement message meets the listed number whatever label the list gave it:
 * - KZ: 12 digits are a BIN (legal entities) or an IIN (individuals), used for tax and registration.
 * - RU: a tax number of 10 (entity) or 12 (individual) digits is an INN; a registration number of
 *   13 (OGRN) or 15 (OGRNIP) digits is an OGRN.
 */
export function localScheme(
  scheme: string,
  country: string,
  value: string,
  partyType: PartyType,
): string | undefined {
  if (!/^\d+$/.test(value) || scheme === 'passport') return undefined;
  if (country === 'KZ' && value.length === 12) return partyType === 'person' ? 'kz-iin' : 'kz-bin';
  if (country === 'RU') {
    if (scheme === 'tax-id' && (value.length === 10 || value.length === 12)) return 'ru-inn';
    if (scheme !== 'tax-id' && (value.length === 13 || value.length === 15)) return 'ru-ogrn';
  }
  return undefined;
}
