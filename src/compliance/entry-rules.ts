import type { FieldViolation } from '../settlement/errors';
import { checkBic } from '../settlement/bic';
import { isCountryCode } from '../settlement/countries';
import { checkIban } from '../settlement/iban';
import type { ListEntry } from '../screening/list-entry';

const ENTRY_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
const DIGITS = /^[0-9]{1,11}$/;
/**
 * An entry is kept whole in its audit event and version, so its size is bounded; the largest real
 * listings (OFAC SDN, UN) have a few dozen aliases, programmes and countries.
 */
const MAX_ALIASES = 200;
const MAX_PROGRAMS = 50;
const MAX_COUNTRIES = 50;
const MAX_IIN_RANGES = 100;
const ALIAS_KINDS = new Set(['aka', 'fka', 'nka', 'original-script', 'weak']);
const NATIONAL_ID_SCHEMES = new Set([
  'passport',
  'national-id',
  'registration',
  'tax-id',
  'kz-bin',
  'kz-iin',
  'ru-inn',
  'ru-ogrn',
  'lei',
  'imo',
  'mmsi',
  'other',
]);

/**
 * The rules an entry added by an officer must meet, by kind. Field paths are relative to the
 * entry (e.g. "bic", "iin_ranges[0].to"); callers prefix them.
 */
export function checkEntry(entry: ListEntry): FieldViolation[] {
  const out: FieldViolation[] = [];
  const bad = (field: string, description: string) => out.push({ field, description });
  if (!ENTRY_ID.test(entry.id))
    bad('id', 'must be 1-128 characters: letters, digits and . _ : / @ -, starting with a letter or digit');
  if (entry.subject.length > 300) bad('subject', 'must be at most 300 characters');
  if (entry.programs.length > MAX_PROGRAMS) bad('programs', `at most ${MAX_PROGRAMS} programmes`);
  if (entry.programs.some((p) => p.length === 0 || p.length > 64))
    bad('programs', 'each programme must be 1-64 characters');
  switch (entry.kind) {
    case 'name':
      if (entry.name.trim() === '' || entry.name.length > 300)
        bad('name', 'is required, at most 300 characters');
      if (entry.aliases.length > MAX_ALIASES) bad('aliases', `at most ${MAX_ALIASES} aliases`);
      if (entry.countries.length > MAX_COUNTRIES) bad('countries', `at most ${MAX_COUNTRIES} countries`);
      entry.aliases.forEach((a, i) => {
        if (a.name.trim() === '' || a.name.length > 300)
          bad(`aliases[${i}].name`, 'is required, at most 300 characters');
        if (!ALIAS_KINDS.has(a.kind))
          bad(`aliases[${i}].kind`, 'must be aka, fka, nka, original-script or weak');
      });
      entry.countries.forEach((c, i) => {
        if (!isCountryCode(c)) bad(`countries[${i}]`, 'must be an ISO 3166-1 alpha-2 code');
      });
      break;
    case 'bic': {
      const problem = checkBic(entry.bic);
      if (problem) bad('bic', problem);
      break;
    }
    case 'iban': {
      const problem = checkIban(entry.iban);
      if (problem) bad('iban', problem);
      break;
    }
    case 'wallet':
      if (!/^[A-Z0-9]{2,12}$/.test(entry.network))
        bad('network', 'must be 2-12 upper-case letters or digits, e.g. ETH, XBT, TRX');
      if (!/^[\x21-\x7e]{8,128}$/.test(entry.address))
        bad('address', 'must be 8-128 printable characters without spaces');
      break;
    case 'national-id':
      if (!NATIONAL_ID_SCHEMES.has(entry.scheme))
        bad('scheme', `must be one of ${[...NATIONAL_ID_SCHEMES].join(', ')}`);
      if (entry.country !== '' && !isCountryCode(entry.country))
        bad('country', 'must be an ISO 3166-1 alpha-2 code');
      if (!/^[A-Z0-9]{1,40}$/.test(entry.value))
        bad('value', 'must be 1-40 upper-case letters or digits, without spaces or dashes');
      break;
    case 'card-scheme':
      if (!/^[A-Z0-9_]{2,20}$/.test(entry.scheme))
        bad('scheme', 'must be the scheme name in upper case, e.g. MIR');
      if (entry.iinRanges.length > MAX_IIN_RANGES) bad('iin_ranges', `at most ${MAX_IIN_RANGES} ranges`);
      entry.iinRanges.forEach((r, i) => {
        if (!DIGITS.test(r.from)) bad(`iin_ranges[${i}].from`, 'must be 1-11 digits');
        if (!DIGITS.test(r.to)) bad(`iin_ranges[${i}].to`, 'must be 1-11 digits');
        if (DIGITS.test(r.from) && DIGITS.test(r.to)) {
          if (r.from.length !== r.to.length) bad(`iin_ranges[${i}]`, 'from and to must have as many digits');
          else if (Number(r.from) > Number(r.to)) bad(`iin_ranges[${i}]`, 'from must not be greater than to');
        }
      });
      break;
    case 'jurisdiction':
      if (!isCountryCode(entry.country)) bad('country', 'must be an ISO 3166-1 alpha-2 code');
      break;
  }
  return out;
}
