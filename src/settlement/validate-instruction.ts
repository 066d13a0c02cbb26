import {
  Account,
  Agent,
  Amount,
  Card,
  CardScheme,
  ChargeBearer,
  IdentifierType,
  Party,
  PartyIdentifier,
  SettlementInstruction,
  Wallet,
} from '../gen/caravan/settlement/v1/instruction';
import { checkBic } from './bic';
import { isCountryCode } from './countries';
import type { FieldViolation } from './errors';
import { checkIban, mod97 } from './iban';
import { amountProblem, canonicalValue, checkCurrency } from './money';
import { containsPan, isPan, type PanScanOptions } from './pan';

/**
 * Structural validation of a submitted instruction: every field against its ISO format, check
 * digits and the product's rules. It reports every violation at once, with proto field paths as
 * google.rpc.BadRequest expects, so an integration team fixes a rejected message in one round
 * trip. Descriptions never repeat what was sent beyond a short code (a country, a BIC length):
 * they end up in client logs, and a value may be a name, an account or a card number.
 */
export function validateInstruction(
  instruction: SettlementInstruction | undefined,
  root = 'instruction',
): FieldViolation[] {
  const out = new Violations();
  const at = (name: string) => (root === '' ? name : `${root}.${name}`);
  if (instruction === undefined || instruction === null) {
    out.add(root === '' ? 'instruction' : root, 'is required');
    return out.list;
  }
  out.text(at('uetr'), instruction.uetr, 36, checkUetr);
  out.text(at('instruction_id'), instruction.instructionId, MAX35, checkReference);
  out.text(at('end_to_end_id'), instruction.endToEndId, MAX35, checkReference);
  checkAgent(out, at('instructing_agent'), instruction.instructingAgent);
  checkAgent(out, at('instructed_agent'), instruction.instructedAgent);
  checkParty(out, at('debtor'), instruction.debtor);
  checkAgent(out, at('debtor_agent'), instruction.debtorAgent);
  checkParty(out, at('creditor'), instruction.creditor);
  checkAgent(out, at('creditor_agent'), instruction.creditorAgent);
  checkAmount(out, at('amount'), instruction.amount);
  out.text(at('settlement_date'), instruction.settlementDate, 10, checkSettlementDate);
  const chargeBearer = checkEnum(instruction.chargeBearer, ChargeBearer);
  if (chargeBearer !== null) out.add(at('charge_bearer'), chargeBearer);
  out.text(at('purpose'), instruction.purpose, 4, checkPurpose);
  out.text(at('remittance_information'), instruction.remittanceInformation, MAX140, checkRemittance);
  if (instruction.card !== undefined && instruction.card !== null) {
    checkCard(out, at('card'), instruction.card);
  }
  return out.list;
}

/**
 * The instruction as intake records, hashes and delivers it, once validateInstruction found nothing
 * wrong with it: its amount in the one written form of its currency (see canonicalValue).
 */
export function canonicalInstruction(instruction: SettlementInstruction): SettlementInstruction {
  const amount = instruction.amount;
  if (amount === undefined) return instruction;
  const value = canonicalValue(amount.currency, amount.value);
  return value === amount.value ? instruction : { ...instruction, amount: { ...amount, value } };
}

/** No field of an instruction is longer; past this a value is reported by its length alone. */
const MAX_STRING_LENGTH = 4096;
const MAX35 = 35;
const MAX140 = 140;
const MAX_IDENTIFIERS = 10;

type Check = (value: string) => string | null;

class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  /**
   * Checks one string field: first what any string must satisfy (a sane size, valid UTF-8), so
   * that no field-specific rule runs over a megabyte or reasons about mangled text, then `check`.
   * `max` is the field's documented limit, quoted when the value is far beyond it.
   */
  text(field: string, value: string | undefined, max: number, check: Check): void {
    const s = value ?? '';
    if (s.length > MAX_STRING_LENGTH) {
      this.add(field, `must be at most ${max} characters, got ${length(s)}`);
    } else if (NOT_UTF8.test(s)) {
      this.add(field, 'is not valid UTF-8');
    } else {
      const problem = check(s);
      if (problem !== null) this.add(field, problem);
    }
  }
}

// U+FFFD is what a decoder leaves for invalid UTF-8 on the wire; a lone surrogate is what a JSON
// client's broken "\ud800" escape leaves. Neither can be screened or delivered faithfully.
const NOT_UTF8 = /[\uFFFD\p{Cs}]/u;
const CONTROL = /\p{Cc}/u;
// Characters that render as nothing, reorder text or break it into lines: a name carrying them can
// look identical to a listed name while comparing different, which is how screening gets evaded,
// and a receiver's screening may not drop them as Caravan's does. That is every format character
// (zero-width spaces and joiners, bidi marks, soft hyphen, tags), the line and paragraph
// separators, the unassigned rest of the tag block, and letters or marks that draw a blank: the
// combining grapheme joiner, the Hangul fillers, Khmer's two deprecated inherent vowels and the
// blank braille pattern (the three combining marks outside the brackets, where they cannot be
// read as combining with a neighbour). Variation selectors stay: they pick a glyph for the
// character before them (emoji, CJK ideographs, Mongolian) and screening drops them.
const INVISIBLE =
  /[\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u2800\u3164\uFFA0\u{E0000}-\u{E007F}]|\u034F|\u17B4|\u17B5/u;
const PAN_FOUND = 'contains what looks like a full card number (PAN); card numbers are never accepted';

/** Length in characters (code points), as ISO 20022 counts them, not UTF-16 code units. */
function length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) n++;
  }
  return n;
}

interface FreeTextRules {
  max: number;
  kind: string;
  required: boolean;
  trimmed: boolean;
  /** References are often long numbers; only card-style grouping counts as a PAN there. */
  reference: boolean;
}

/** ISO 20022 free text (MaxNText): printable characters only, and never a card number. */
function checkFreeText(s: string, rules: FreeTextRules): string | null {
  if (s === '') return rules.required ? `is required (${rules.kind}, 1 to ${rules.max} characters)` : null;
  const n = length(s);
  if (n > rules.max) return `must be at most ${rules.max} characters (${rules.kind}), got ${n}`;
  if (CONTROL.test(s) || INVISIBLE.test(s)) return 'must not contain invisible or control characters';
  if (rules.required && s.trim() === '') return 'must not be blank';
  if (rules.trimmed && s.trim() !== s) return 'must not have leading or trailing whitespace';
  if (containsPan(s, { unbrokenRuns: !rules.reference })) return PAN_FOUND;
  return null;
}

function checkReference(s: string): string | null {
  return checkFreeText(s, {
    max: MAX35,
    kind: 'ISO 20022 Max35Text',
    required: true,
    trimmed: true,
    reference: true,
  });
}

function checkName(s: string): string | null {
  return checkFreeText(s, {
    max: MAX140,
    kind: 'ISO 20022 Max140Text',
    required: true,
    trimmed: false,
    reference: false,
  });
}

function checkRemittance(s: string): string | null {
  return checkFreeText(s, {
    max: MAX140,
    kind: 'ISO 20022 Max140Text',
    required: false,
    trimmed: false,
    reference: false,
  });
}

const UETR_EXAMPLE = '"eb6305c9-1f7f-49de-aed0-16487c27b42d"';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkUetr(s: string): string | null {
  if (s === '') return `is required: a lower-case UUID version 4, e.g. ${UETR_EXAMPLE}`;
  if (!UUID.test(s)) {
    return `must be a UUID version 4 in canonical form (8-4-4-4-12 lower-case hex digits), e.g. ${UETR_EXAMPLE}`;
  }
  if (s[14] !== '4') return `must be a UUID version 4, got version ${s[14]}`;
  if (!/[89abAB]/.test(s[19])) {
    return 'must be an RFC 4122 UUID: the first digit of the fourth group must be 8, 9, a or b';
  }
  if (s !== s.toLowerCase()) return 'must be lower case (ISO 20022 and SWIFT write the UETR in lower case)';
  return null;
}

function checkAgent(out: Violations, path: string, agent: Agent | undefined): void {
  if (agent === undefined || agent === null) {
    out.add(path, 'is required: an agent with a BIC');
    return;
  }
  out.text(`${path}.bic`, agent.bic, 11, checkBic);
}

function checkParty(out: Violations, path: string, party: Party | undefined): void {
  if (party === undefined || party === null) {
    out.add(path, 'is required');
    return;
  }
  out.text(`${path}.name`, party.name, MAX140, checkName);
  out.text(`${path}.country`, party.country, 2, (s) => (s === '' ? null : checkCountry(s)));
  checkAccount(out, `${path}.account`, party.account);
  checkIdentifiers(out, `${path}.identifiers`, party.identifiers ?? []);
}

function checkCountry(s: string): string | null {
  if (s === '') return 'is required: an ISO 3166-1 alpha-2 country code, e.g. "KZ"';
  if (/^[a-z]{2}$/.test(s) && isCountryCode(s.toUpperCase())) {
    return `must be upper case ("${s.toUpperCase()}")`;
  }
  if (!/^[A-Z]{2}$/.test(s)) {
    return 'must be an ISO 3166-1 alpha-2 country code: 2 upper-case letters, e.g. "KZ"';
  }
  if (!isCountryCode(s)) return `"${s}" is not an ISO 3166-1 alpha-2 country code`;
  return null;
}

function checkAccount(out: Violations, path: string, account: Account | undefined): void {
  const kind = account?.kind;
  if (kind === undefined || kind === null) {
    out.add(path, 'is required: set exactly one of iban, account_number or wallet');
    return;
  }
  switch (kind.$case) {
    case 'iban':
      out.text(`${path}.iban`, kind.value, 34, checkIban);
      return;
    case 'accountNumber':
      out.text(`${path}.account_number`, kind.value, 34, checkAccountNumber);
      return;
    case 'wallet':
      checkWallet(out, `${path}.wallet`, kind.value);
      return;
    default:
      out.add(path, 'is required: set exactly one of iban, account_number or wallet');
  }
}

// The SWIFT "x" character set that ISO 20022 Max34Text account identifiers travel in.
const ACCOUNT_NUMBER = /^[A-Za-z0-9/\-?:().,'+ ]+$/;

function checkAccountNumber(s: string): string | null {
  if (s === '') return 'is required: the domestic account number (1 to 34 characters)';
  const n = length(s);
  if (n > 34) return `must be at most 34 characters (ISO 20022 Max34Text), got ${n}`;
  if (!ACCOUNT_NUMBER.test(s)) {
    return "may contain only letters, digits, spaces and / - ? : ( ) . , ' + (SWIFT character set)";
  }
  if (s.trim() !== s) return 'must not have leading or trailing spaces';
  if (containsPan(s, { unbrokenRuns: false })) return PAN_FOUND;
  return null;
}

// Networks whose addresses are 20-byte hex accounts. EIP-55 mixed-case checksums are not
// verified (that needs Keccak-256, which node:crypto lacks); screening compares them lower-case.
const EVM_NETWORKS: ReadonlySet<string> = new Set(['ETH', 'BSC', 'POLYGON', 'ARB', 'OP', 'AVAXC', 'BASE']);
const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BTC_BASE58 = /^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/;
const BTC_BECH32 = /^bc1[02-9ac-hj-np-z]{11,71}$/;
const TRON_ADDRESS = /^T[1-9A-HJ-NP-Za-km-z]{33}$/;

function checkWallet(out: Violations, path: string, wallet: Wallet | undefined): void {
  if (wallet === undefined || wallet === null) {
    out.add(path, 'is required: a wallet with network and address');
    return;
  }
  out.text(`${path}.network`, wallet.network, 12, checkNetwork);
  out.text(`${path}.address`, wallet.address, 128, (s) => checkWalletAddress(wallet.network ?? '', s));
}

function checkNetwork(s: string): string | null {
  if (s === '') return 'is required: the network code in upper case, e.g. "ETH", "TRX", "BTC"';
  if (/^[a-z0-9]{2,12}$/.test(s)) return `must be upper case ("${s.toUpperCase()}")`;
  if (!/^[A-Z0-9]{2,12}$/.test(s)) {
    return 'must be 2 to 12 upper-case letters or digits, e.g. "ETH", "TRX", "BTC"';
  }
  return null;
}

function checkWalletAddress(network: string, s: string): string | null {
  if (s === '') return 'is required';
  if (length(s) > 128) return `must be at most 128 characters, got ${length(s)}`;
  if (!/^[\x21-\x7E]+$/.test(s)) return 'must be printable ASCII without spaces';
  // Only a whole value counts: hex addresses hold runs of 13-19 decimal digits by chance, but an
  // address that is nothing but a card number is no network's.
  if (isPan(s)) return PAN_FOUND;
  if (EVM_NETWORKS.has(network) && !EVM_ADDRESS.test(s)) {
    return `must be a ${network} address: "0x" followed by 40 hex digits`;
  }
  if (network === 'BTC' && !isBitcoinAddress(s)) {
    return 'must be a Bitcoin mainnet address: base58 starting with 1 or 3, or bech32 starting with bc1';
  }
  if (network === 'TRX' && !TRON_ADDRESS.test(s)) {
    return 'must be a Tron address: "T" followed by 33 base58 characters';
  }
  return null;
}

function isBitcoinAddress(s: string): boolean {
  if (BTC_BASE58.test(s)) return true;
  // Bech32 is case-insensitive but must not mix cases (BIP 173).
  const lower = s.toLowerCase();
  return (s === lower || s === s.toUpperCase()) && BTC_BECH32.test(lower);
}

function checkIdentifiers(out: Violations, path: string, identifiers: PartyIdentifier[]): void {
  if (identifiers.length > MAX_IDENTIFIERS) {
    // Validating each of an unbounded list would let one request produce unbounded errors.
    out.add(path, `must have at most ${MAX_IDENTIFIERS} entries, got ${identifiers.length}`);
    return;
  }
  identifiers.forEach((identifier, i) => checkIdentifier(out, `${path}[${i}]`, identifier));
}

const ISSUER_REQUIRED: ReadonlySet<IdentifierType> = new Set([
  IdentifierType.IDENTIFIER_TYPE_PASSPORT,
  IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID,
]);

function checkIdentifier(out: Violations, path: string, identifier: PartyIdentifier | undefined): void {
  if (identifier === undefined || identifier === null) {
    out.add(path, 'is required');
    return;
  }
  const typeProblem = checkEnum(identifier.type, IdentifierType);
  if (typeProblem !== null) out.add(`${path}.type`, typeProblem);
  const type = typeProblem === null ? identifier.type : undefined;
  out.text(`${path}.value`, identifier.value, MAX35, (s) => checkIdentifierValue(type, s));
  const issuerRequired = type !== undefined && ISSUER_REQUIRED.has(type);
  out.text(`${path}.issuer_country`, identifier.issuerCountry, 2, (s) =>
    s === '' && !issuerRequired ? null : checkCountry(s),
  );
}

function checkIdentifierValue(type: IdentifierType | undefined, s: string): string | null {
  if (s === '') return 'is required';
  switch (type) {
    case IdentifierType.IDENTIFIER_TYPE_BIC:
      return checkBic(s);
    case IdentifierType.IDENTIFIER_TYPE_LEI:
      return checkLei(s);
    case IdentifierType.IDENTIFIER_TYPE_KZ_BIN:
      return checkKzIdentificationNumber(s, 'Kazakhstan BIN');
    case IdentifierType.IDENTIFIER_TYPE_KZ_IIN:
      return checkKzIdentificationNumber(s, 'Kazakhstan IIN');
    case IdentifierType.IDENTIFIER_TYPE_RU_INN:
      return checkRuInn(s);
    case IdentifierType.IDENTIFIER_TYPE_RU_OGRN:
      return checkRuOgrn(s);
    case IdentifierType.IDENTIFIER_TYPE_PASSPORT:
      // Passport numbers are 9 or 10 characters (ICAO 9303 allots 9): a run of 13 digits is none.
      return checkDocumentNumber(s, { unbrokenRuns: true });
    case IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID:
      // Personal numbers of 14 to 18 unbroken digits are common (Uzbek and Kyrgyz PINs, Indonesian
      // NIKs, Chinese resident ids): there only card-style grouping is a card number.
      return checkDocumentNumber(s, { unbrokenRuns: false });
    default:
      // The type is itself reported; only what holds for every identifier is checked here.
      return checkFreeText(s, {
        max: MAX35,
        kind: 'ISO 20022 Max35Text',
        required: true,
        trimmed: true,
        reference: true,
      });
  }
}

function checkDocumentNumber(s: string, pan: PanScanOptions): string | null {
  if (length(s) > MAX35) return `must be at most ${MAX35} characters, got ${length(s)}`;
  if (containsPan(s, pan)) return PAN_FOUND;
  if (!/^[A-Z0-9-]+$/.test(s)) {
    return 'must be upper-case letters, digits and "-" only, as printed on the document without spaces';
  }
  return null;
}

export function checkLei(s: string): string | null {
  if (s.length !== 20) return `must be 20 characters (ISO 17442 LEI), got ${length(s)}`;
  if (/[a-z]/.test(s) && /^[A-Z0-9]{18}[0-9]{2}$/.test(s.toUpperCase())) {
    return 'must be upper case (ISO 17442 LEI)';
  }
  if (!/^[A-Z0-9]{18}[0-9]{2}$/.test(s)) {
    return 'must be 18 letters or digits followed by 2 check digits (ISO 17442 LEI)';
  }
  if (mod97(s) !== 1) return 'has wrong check digits (ISO 17442 LEI, mod 97)';
  return null;
}

/** The digit values of a string already checked to be ASCII digits only. */
function digitsOf(s: string): number[] {
  const digits = new Array<number>(s.length);
  for (let i = 0; i < s.length; i++) digits[i] = s.charCodeAt(i) - 48;
  return digits;
}

function weightedSum(digits: number[], weights: readonly number[]): number {
  return weights.reduce((sum, w, i) => sum + w * digits[i], 0);
}

/**
 * Kazakhstan IIN and BIN share one check digit: the first 11 digits weighted 1..11 mod 11; a
 * result of 10 is retried with weights 3..11,1,2, and a second 10 means no valid number has those
 * first 11 digits.
 */
export function checkKzIdentificationNumber(s: string, kind: string): string | null {
  if (!/^[0-9]{12}$/.test(s)) return `must be 12 digits (${kind}), got ${describeDigits(s)}`;
  const d = digitsOf(s);
  let check = weightedSum(d, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) % 11;
  if (check === 10) check = weightedSum(d, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]) % 11;
  if (check === 10) return `is not a valid ${kind}: no check digit exists for its first 11 digits`;
  return check === d[11] ? null : `has a wrong check digit (${kind})`;
}

/** Russian INN: 10 digits with one check digit (organisations) or 12 with two (individuals). */
export function checkRuInn(s: string): string | null {
  if (!/^[0-9]{10}$|^[0-9]{12}$/.test(s)) {
    return `must be 10 digits for an organisation or 12 for an individual (Russian INN), got ${describeDigits(s)}`;
  }
  const d = digitsOf(s);
  const checkDigit = (weights: readonly number[]) => (weightedSum(d, weights) % 11) % 10;
  const valid =
    s.length === 10
      ? checkDigit([2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[9]
      : checkDigit([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[10] &&
        checkDigit([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[11];
  return valid ? null : 'has a wrong check digit (Russian INN)';
}

/** Russian OGRN (13 digits, check modulo 11) or OGRNIP (15 digits, check modulo 13). */
export function checkRuOgrn(s: string): string | null {
  if (!/^[0-9]{13}$|^[0-9]{15}$/.test(s)) {
    return `must be 13 digits (OGRN) or 15 digits (OGRNIP), got ${describeDigits(s)}`;
  }
  const modulus = s.length === 13 ? 11 : 13;
  // The leading digits as one number exceed 2^53: the remainder is folded in a digit at a time.
  let remainder = 0;
  for (let i = 0; i < s.length - 1; i++) remainder = (remainder * 10 + s.charCodeAt(i) - 48) % modulus;
  return remainder % 10 === s.charCodeAt(s.length - 1) - 48 ? null : 'has a wrong check digit (Russian OGRN)';
}

/** Says how a numeric identifier is wrong without repeating it. */
function describeDigits(s: string): string {
  return /^[0-9]+$/.test(s) ? `${s.length} digits` : `${length(s)} characters including non-digits`;
}

function checkAmount(out: Violations, path: string, amount: Amount | undefined): void {
  if (amount === undefined || amount === null) {
    out.add(path, 'is required: an amount with currency and value');
    return;
  }
  out.text(`${path}.currency`, amount.currency, 4, checkCurrency);
  // The longest value depends on the currency (19 characters for KZT, 37 for ETH), so no single
  // limit is quoted; one far past every currency's is reported by its length alone.
  out.text(`${path}.value`, amount.value, MAX_STRING_LENGTH, (value) => {
    const problem = amountProblem(amount.currency ?? '', value);
    return problem !== null && problem.field === 'value' ? problem.description : null;
  });
}

const EARLIEST_DATE = '2000-01-01';
const LATEST_DATE = '2100-12-31';

function checkSettlementDate(s: string): string | null {
  if (s === '') return 'is required: an ISO 8601 date written YYYY-MM-DD, e.g. "2025-03-14"';
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (m === null) return 'must be an ISO 8601 date written YYYY-MM-DD, e.g. "2025-03-14"';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return 'is not a calendar date (month 01-12, day within the month)';
  }
  if (s < EARLIEST_DATE || s > LATEST_DATE) return `must be between ${EARLIEST_DATE} and ${LATEST_DATE}`;
  return null;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function checkPurpose(s: string): string | null {
  if (s === '') return null;
  return /^[A-Z]{4}$/.test(s)
    ? null
    : 'must be 4 upper-case letters (ISO 20022 ExternalPurpose1Code, e.g. "SUPP")';
}

function checkCard(out: Violations, path: string, card: Card): void {
  const scheme = checkEnum(card.scheme, CardScheme);
  if (scheme !== null) out.add(`${path}.scheme`, scheme);
  // Card fields never quote what was sent: a mistaken full card number must not travel back in
  // an error that clients log.
  out.text(`${path}.bin`, card.bin, 8, (s) => {
    if (s === '') return 'is required: the first 6 or 8 digits of the card number';
    if (looksLikeCardNumber(s, 8)) {
      return 'must be only the first 6 or 8 digits; a full card number is not accepted';
    }
    return /^[0-9]{6}([0-9]{2})?$/.test(s) ? null : 'must be the first 6 or 8 digits of the card number';
  });
  out.text(`${path}.last4`, card.last4, 4, (s) => {
    if (s === '') return 'is required: the last 4 digits of the card number';
    if (looksLikeCardNumber(s, 4))
      return 'must be exactly the last 4 digits; a full card number is not accepted';
    return /^[0-9]{4}$/.test(s) ? null : 'must be exactly 4 digits';
  });
}

/** More digits than the field holds, possibly grouped as cards are printed. */
function looksLikeCardNumber(s: string, fieldDigits: number): boolean {
  return /^[0-9][0-9 -]*$/.test(s) && s.replace(/[ -]/g, '').length > fieldDigits;
}

/**
 * Refuses the zero value and numbers the proto does not declare: ts-proto passes unknown enum
 * numbers through as plain numbers, and a value Caravan cannot name cannot be routed or priced.
 */
function checkEnum(value: number | undefined, enumObject: Record<string, string | number>): string | null {
  const declared = declaredValues(enumObject);
  if (value !== undefined && value !== null && value !== 0 && declared.has(value)) return null;
  const names = [...declared].map((v) => String(enumObject[v])).join(', ');
  if (value === undefined || value === null || value === 0) return `is required: one of ${names}`;
  return `has unknown value ${String(value)}; expected one of ${names}`;
}

const DECLARED = new WeakMap<object, ReadonlySet<number>>();

/** An enum's declared non-zero numbers, worked out once per enum: every submission checks some. */
function declaredValues(enumObject: Record<string, string | number>): ReadonlySet<number> {
  let declared = DECLARED.get(enumObject);
  if (declared === undefined) {
    declared = new Set(Object.values(enumObject).filter((v): v is number => typeof v === 'number' && v > 0));
    DECLARED.set(enumObject, declared);
  }
  return declared;
}
