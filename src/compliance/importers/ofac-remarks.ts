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
  /** Labels this reader does not know, each written before something that reads as a number. */
  unknownLabels: string[];
}

type DocumentLabel = readonly [label: string, scheme: string, country?: string];

/**
 * Remarks are `; `-separated segments, each a label and a value: `Passport 760508990 (Russia)`,
 * `alt. Tax ID No. 7707083893 (Russia)`, `SWIFT/BIC VTBAKZKZ`, `a.k.a. 'RUSAG'`. Longest labels
 * first, so that "Business Registration Number" is not read as "Registration Number". A label of
 * one country's documents gives that country unless the value is followed by another one ("BIK
 * (RU) 044525187", "Matricula Mercantil No 181301 (Cali)").
 */
const LABELS: readonly DocumentLabel[] = [
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
  // Labels of the 2024-05-03 sdn.csv that earlier versions of this table lacked.
  ['Business Registration Document #', 'registration'],
  ['Matricula Mercantil No', 'registration', 'CO'],
  ['Matricula Mercantil No.', 'registration', 'CO'],
  ['United Social Credit Code Certificate (USCCC)', 'registration'],
  ['Registration Certificate Number (Dubai)', 'registration', 'AE'],
  ['MSB Registration Number', 'registration', 'CA'],
  ['Organization Code', 'registration'],
  ['Branch Unit Number', 'registration'],
  ['Romanian C.R.', 'registration', 'RO'],
  ['C.I.N.', 'registration'],
  ['Company ID: No.', 'registration'],
  ['Vessel Registration Identification', 'registration'],
  // Banking, trade and money-service licences (Russian banks, UAE and Afghan companies).
  ['License', 'registration'],
  ['Tourism License No.', 'registration'],
  ['Afghan Money Service Provider License Number', 'registration', 'AF'],
  ['SRE Permit No.', 'registration', 'MX'],
  ['RUC #', 'tax-id'],
  ['RIF #', 'tax-id', 'VE'],
  ['RTN', 'tax-id', 'HN'],
  ['C.U.I.T.', 'tax-id', 'AR'],
  ['C.I.F.', 'tax-id', 'ES'],
  ['N.I.F.', 'tax-id', 'ES'],
  ['RSIN', 'tax-id', 'NL'],
  ['US FEIN', 'tax-id', 'US'],
  ['Italian Fiscal Code', 'tax-id', 'IT'],
  ['Italian Fiscal Code:', 'tax-id', 'IT'],
  ['Fiscal Code', 'tax-id'],
  ['Romanian Tax Registration', 'tax-id', 'RO'],
  ['Paraguayan tax identification number', 'tax-id', 'PY'],
  ['Numero Unico de Identificacao Tributaria (NUIT)', 'tax-id', 'MZ'],
  ['National ID No.:', 'national-id'],
  ['SSN', 'national-id', 'US'],
  ['I.F.E.', 'national-id', 'MX'],
  ['Credencial electoral', 'national-id', 'MX'],
  ['Cartilla de Servicio Militar Nacional', 'national-id', 'MX'],
  ['C.U.I.P.', 'national-id', 'MX'],
  ['C.U.I.', 'national-id', 'GT'],
  ['LE Number', 'national-id', 'PE'],
  ['Numero de Identidad', 'national-id'],
  ['Turkish Identification Number', 'national-id', 'TR'],
  ["Citizen's Card Number", 'national-id'],
  ['Kenyan ID No.', 'national-id', 'KE'],
  ['Tazkira National ID Card', 'national-id', 'AF'],
  ['UAE Identification', 'national-id', 'AE'],
  ['Moroccan Personal ID No.', 'national-id', 'MA'],
  ['Bosnian Personal ID No.', 'national-id', 'BA'],
  ['CNP (Personal Numerical Code)', 'national-id', 'RO'],
  ['Romanian Permanent Resident CAN', 'national-id', 'RO'],
  ['N.I.E.', 'national-id', 'ES'],
  ['Refugee ID Card', 'national-id'],
  ['Stateless Person ID Card', 'national-id'],
  ['Public Security and Immigration No.', 'national-id'],
  ['Military Registration Number', 'national-id'],
  ["Seafarer's Identification Document", 'national-id'],
  ['Passport No.:', 'passport'],
  ['Passport Booklet', 'passport'],
  ['British National Overseas Passport', 'passport'],
  ['Stateless Person Passport', 'passport'],
  ['Diplomatic Passport Laissez-Passer', 'passport'],
  ['Travel Document Number', 'passport'],
  // Bank identification code of the Bank of Russia.
  ['BIK (RU)', 'other', 'RU'],
  ['Serial No.', 'other'],
  ['Permit Number', 'other'],
  ['Pilot License Number', 'other'],
  ['VisaNumberID', 'other'],
  ['File Number', 'other'],
  ['Immigration No.', 'other'],
  ['Temporary suspension of deportation No.', 'other'],
  ['Tarjeta Profesional', 'other'],
];

const DOCUMENT_LABELS: readonly DocumentLabel[] = LABELS.toSorted((a, b) => b[0].length - a[0].length)
  // With the space that separates label and value, so that matching allocates nothing.
  .map(([label, scheme, country]) => [`${label} `, scheme, country]);

/**
 * Labels of Remarks that carry numbers which do not identify the party: dates, securities, phone
 * numbers, and an aircraft's serial and tail numbers, which name the aircraft rather than an owner
 * a payment would name, and some of which are short enough ("8401") to stop unrelated parties.
 * Known, they are neither read nor noted as unknown labels.
 */
const NOT_IDENTIFIERS: readonly string[] = [
  'DOB',
  'POB',
  'Organization Established Date',
  'Executive Order',
  'Secondary sanctions risk',
  'Transactions Prohibited',
  'Effective Date',
  'Listing Date',
  'Purchase/Sales For Divestment Date',
  'CAATSA',
  'Linked To',
  'Interpol',
  'Email',
  'Website',
  'Phone',
  'PHONE',
  'Telephone',
  'Alt. Telephone',
  'Fax',
  'FAX',
  'Alt. Fax',
  'TELEX',
  'ISIN',
  'Equity Ticker',
  'Trademark number',
  'Chinese Commercial Code',
  'Aircraft',
  'Previous Aircraft',
  'Vessel Year of Build',
  'Other Vessel Call Sign',
];
// A label (words without digits) before the first word with a digit in it.
const LABEL_AND_VALUE = /^(\D*?)\s+(\S*\d.*)$/;
// Labels start with a capital and hold no comma; other text before a number is prose ("arrested
// 23 Apr 2002", "Officer, Rwandan Patriotic Front (RPF), 1992-1998"), and so is a long one.
const LABEL = /^[A-Z][^,]*$/;
const MAX_LABEL_LENGTH = 60;

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
    unknownLabels: [],
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
    if (findDocument(segment, partyType, parsed)) continue;
    const label = unknownLabel(segment);
    if (label !== undefined) parsed.unknownLabels.push(label);
  }
  return parsed;
}

/** The label of a "label number" segment this reader does not know, so that new labels show up. */
function unknownLabel(segment: string): string | undefined {
  if (NOT_IDENTIFIERS.some((known) => segment.startsWith(known))) return undefined;
  const split = LABEL_AND_VALUE.exec(segment.replace(DOCUMENT_DATES, '').replace(DOCUMENT_COUNTRY, ''));
  if (split === null) return undefined;
  const label = split[1].trim();
  if (!LABEL.test(label) || label.length > MAX_LABEL_LENGTH) return undefined;
  const value = split[2].replace(DOCUMENT_QUALIFIER, '').replace(DOCUMENT_SUBLABEL, '');
  return documentNumber(value) === undefined ? undefined : label;
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

/** Reads a labelled document number; false when the segment has no known label. */
function findDocument(segment: string, partyType: PartyType, parsed: ParsedRemarks): boolean {
  const labelled = DOCUMENT_LABELS.find(([label]) => segment.startsWith(label));
  if (!labelled) return false;
  const [labelWithSpace, labelScheme, labelCountry] = labelled;
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
    return true;
  }
  let country = labelCountry ?? '';
  if (countryName !== '') {
    const code = countryCode(countryName);
    if (code !== undefined) country = code;
    // Where the label gives the country, an unknown name is a place in it: the city of a
    // Colombian chamber of commerce after a Matricula Mercantil number.
    else if (labelCountry === undefined) parsed.unknownCountries.push(countryName);
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
  return true;
}
