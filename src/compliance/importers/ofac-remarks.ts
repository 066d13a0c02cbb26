import type { AliasKind, PartyType } from '../../screening/list-entry';
import { countryCode } from './country-names';
import { documentNumber, localScheme } from './identifiers';

/** An identifier found in OFAC Remarks, before it becomes a list entry of its party. */
export type RemarkIdentifier =
  | { kind: 'bic'; bic: string }
  | { kind: 'wallet'; network: string; address: string }
  | { kind: 'national-id'; scheme: string; country: string; value: string };

export interface ParsedRemarks {
  identifiers: RemarkIdentifier[];
  /** `a.k.a. 'X'` in Remarks: what the legacy format makes of OFAC's low-quality ("weak") aliases. */
  aliases: { name: string; kind: AliasKind }[];
  /** ISO codes from `nationality X` and `citizen X`. */
  countries: string[];
  /** Country names (of nationality or of an identifier's issuer) with no ISO code. */
  unknownCountries: string[];
  /** Labels of identifiers whose value could not be read (cut off, or free text). */
  unparsed: string[];
}

/**
 * Remarks are `; `-separated segments, each a label and a value: `Passport 760508990 (Russia)`,
 * `alt. Tax ID No. 7707083893 (Russia)`, `SWIFT/BIC VTBAKZKZ`, `a.k.a. 'RUSAG'`. Longest labels
 * first, so that "Business Registration Number" is not read as "Registration Number".
 */
const DOCUMENT_LABELS: readonly (readonly [label: string, scheme: string])[] = (
  [
    ['Russian State Individual Business Registration Number Pattern (OGRNIP)', 'registration'],
    ['Unified Social Credit Code (USCC)', 'registration'],
    ['Commercial Registry Number', 'registration'],
    ['Business Registration Number', 'registration'],
    ['Public Registration Number', 'registration'],
    ['Registration Number', 'registration'],
    ['Registration ID', 'registration'],
    ['Company Number', 'registration'],
    ['UK Company Number', 'registration'],
    ['Government Gazette Number', 'registration'],
    ['Folio Mercantil No.', 'registration'],
    ['Trade License No.', 'registration'],
    ['C.R. No.', 'registration'],
    ['Economic Register Number (CBLS)', 'registration'],
    ['Chamber of Commerce Number', 'registration'],
    ['Istanbul Chamber of Comm. No.', 'registration'],
    ['Dubai Chamber of Commerce Membership No.', 'registration'],
    ['Central Registration System Number', 'registration'],
    ['Certificate of Incorporation Number', 'registration'],
    ['Registered Charity No.', 'registration'],
    ['D-U-N-S Number', 'registration'],
    ['Business Number', 'registration'],
    ['Enterprise Number', 'registration'],
    ['Identification Number', 'identification'],
    ['Legal Entity Number', 'lei'],
    ['Diplomatic Passport', 'passport'],
    ['Passport', 'passport'],
    ['National ID No.', 'national-id'],
    ['National Foreign ID Number', 'national-id'],
    ['Personal ID Card', 'national-id'],
    ['Personal ID No.', 'national-id'],
    ['Residency Number', 'national-id'],
    ['Birth Certificate Number', 'national-id'],
    ["Driver's License No.", 'national-id'],
    ['Electoral Registry No.', 'national-id'],
    ['Cedula No.', 'national-id'],
    ['C.U.R.P.', 'national-id'],
    ['D.N.I.', 'national-id'],
    ['Tax ID No.', 'tax-id'],
    ['V.A.T. Number', 'tax-id'],
    ['R.F.C.', 'tax-id'],
    ['RFC', 'tax-id'],
    ['NIT #', 'tax-id'],
  ] as const
)
  .toSorted((a, b) => b[0].length - a[0].length)
  // With the space that separates label and value, so that matching allocates nothing.
  .map(([label, scheme]) => [`${label} `, scheme] as const);

const SEGMENT_SEPARATOR = /;\s*/;
const ALT_PREFIX = /^alt\.\s+/;
const WEAK_ALIAS = /^([afn])\.k\.a\.,?\s+'(.+)'\.?$/;
// "nationality Cabo Verde.  Previously Cape Verde.": the country is the first sentence.
const NATIONALITY = /^(?:nationality|citizen)\s+(.+?)(?:\.\s.*)?\.?$/;
const BIC = /\bSWIFT\/BIC\s+([A-Za-z0-9]+)/g;
const BIC_SYNTAX = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
// The address runs to the next space or semicolon; a final full stop belongs to the sentence.
const WALLET = /Digital Currency Address - ([A-Za-z0-9]+)(?:\s+([^\s;]*))?/g;
const IMO = /\bIMO\s+(\d{7})\b/g;
const MMSI = /\bMMSI\s+(\d{9})\b/g;
// What may follow a document number: when it was issued or expires, and the sentence's full stop.
const DOCUMENT_DATES = /\s+(?:issued|expires|expired|valid|effective)\b.*$|\.$/i;
// The issuing country is the last parenthesised group, set off by a space; one written without a
// space is part of the number (the check digit of "K357514(4)").
const DOCUMENT_COUNTRY = /\s+\(([^()]*)\)$/;
// Other groups set off by a space qualify the register: "HRB 32490 (Mainz) (Germany)".
const DOCUMENT_QUALIFIER = /\s+\([^()]*\)/g;
// A sub-label before the number: "Passport Booklet: A5199819", "National ID No. CNIC: 35202-...".
const DOCUMENT_SUBLABEL = /^#?\s*(?:[A-Za-z][A-Za-z .]*:\s*)?/;

/**
 * Reads what Remarks say about a party. `cutOff` means the text stops at the legacy format's field
 * limit with no continuation to join: its last segment is then a fragment ("Digital Currency
 * Address - XBT 1Gq") and is skipped, since a truncated address or number would be a wrong one.
 */
export function parseRemarks(remarks: string, partyType: PartyType, cutOff = false): ParsedRemarks {
  const parsed: ParsedRemarks = {
    identifiers: [],
    aliases: [],
    countries: [],
    unknownCountries: [],
    unparsed: [],
  };
  if (remarks === '') return parsed;
  const segments = remarks.split(SEGMENT_SEPARATOR);
  if (cutOff) segments.pop();
  for (const raw of segments) {
    const segment = raw.trim().replace(ALT_PREFIX, '');
    if (segment === '') continue;
    const weak = WEAK_ALIAS.exec(segment);
    if (weak) {
      parsed.aliases.push({ name: weak[2].trim(), kind: 'weak' });
      continue;
    }
    const nationality = NATIONALITY.exec(segment);
    if (nationality) {
      const code = countryCode(nationality[1]);
      if (code) parsed.countries.push(code);
      else parsed.unknownCountries.push(nationality[1]);
      continue;
    }
    // Label searches rather than anchored matches: OFAC writes "Vessel Registration
    // Identification IMO 9256860" as well as "IMO 9256860".
    if (findPatterned(segment, parsed)) continue;
    findDocument(segment, partyType, parsed);
  }
  return parsed;
}

function findPatterned(segment: string, parsed: ParsedRemarks): boolean {
  let found = false;
  // Plain substring tests first: most segments (DOB, POB, Linked To...) carry none of these.
  if (segment.includes('SWIFT/BIC')) {
    for (const match of segment.matchAll(BIC)) {
      found = true;
      const bic = match[1].toUpperCase();
      if (BIC_SYNTAX.test(bic)) parsed.identifiers.push({ kind: 'bic', bic });
      else parsed.unparsed.push('SWIFT/BIC');
    }
  }
  if (segment.includes('Digital Currency Address')) {
    for (const match of segment.matchAll(WALLET)) {
      found = true;
      const address = (match[2] ?? '').replace(/[.,]+$/, '');
      // An address cut off by the 1000-character Remarks limit leaves the label and nothing after it.
      if (address === '') parsed.unparsed.push(`Digital Currency Address - ${match[1]}`);
      else parsed.identifiers.push({ kind: 'wallet', network: match[1].toUpperCase(), address });
    }
  }
  if (segment.includes('IMO')) {
    for (const match of segment.matchAll(IMO)) {
      found = true;
      parsed.identifiers.push({ kind: 'national-id', scheme: 'imo', country: '', value: match[1] });
    }
  }
  if (segment.includes('MMSI')) {
    for (const match of segment.matchAll(MMSI)) {
      found = true;
      parsed.identifiers.push({ kind: 'national-id', scheme: 'mmsi', country: '', value: match[1] });
    }
  }
  return found;
}

function findDocument(segment: string, partyType: PartyType, parsed: ParsedRemarks): void {
  const labelled = DOCUMENT_LABELS.find(([label]) => segment.startsWith(label));
  if (!labelled) return;
  const [labelWithSpace, labelScheme] = labelled;
  const label = labelWithSpace.trimEnd();
  let rest = segment.slice(labelWithSpace.length).trim().replace(DOCUMENT_DATES, '');
  let countryName = '';
  const inParentheses = DOCUMENT_COUNTRY.exec(rest);
  if (inParentheses) {
    // "(Cabo Verde.  Previously Cape Verde.)": the country is the first sentence.
    countryName = inParentheses[1].replace(/\.\s.*$/, '').trim();
    rest = rest.slice(0, inParentheses.index);
  }
  const value = documentNumber(rest.replace(DOCUMENT_QUALIFIER, '').replace(DOCUMENT_SUBLABEL, ''));
  if (value === undefined) {
    parsed.unparsed.push(label);
    return;
  }
  let country = '';
  if (countryName !== '') {
    country = countryCode(countryName) ?? '';
    if (country === '') parsed.unknownCountries.push(countryName);
  }
  // "Identification Number" is a person's national number or a company's registration number.
  const scheme =
    labelScheme === 'identification'
      ? partyType === 'person'
        ? 'national-id'
        : 'registration'
      : labelScheme;
  parsed.identifiers.push({ kind: 'national-id', scheme, country, value });
  const local = localScheme(scheme, country, value, partyType);
  if (local) parsed.identifiers.push({ kind: 'national-id', scheme: local, country, value });
}
