/**
 * Detection of full card numbers (PANs) in text, so that intake can refuse them before they reach
 * a record, a log or a trace: Caravan must never hold one (PCI DSS).
 */

const MIN_PAN_DIGITS = 13;
const MAX_PAN_DIGITS = 19;

/**
 * What people put between the groups of a card number: a run of spaces, dashes, dots or slashes of
 * any kind ("4111 1111", "4111  1111", "4111–1111", "4111.1111", "4111 / 1111"). A comma is not
 * one: "4111, 1111" lists two numbers.
 */
const SEPARATOR = String.raw`[\s\p{Pd}\u2212._\u00B7\u2022\u2027\u2219\u22C5\u3002\u30FB/\\\u2044\u2215]+`;

/**
 * Digit groups joined by separators. Each run of digits inside is taken whole: a 20-digit account
 * number holds 13-19-digit substrings that may pass Luhn by chance, but it is not a card number.
 */
const GROUPED_DIGITS = new RegExp(`[0-9]+(?:${SEPARATOR}[0-9]+)*`, 'gu');
const GROUP_SEPARATOR = new RegExp(SEPARATOR, 'u');
const SEPARATORS = new RegExp(SEPARATOR, 'gu');

export interface PanScanOptions {
  /**
   * Whether a number written without card-style grouping counts: one unbroken run of 13-19 digits,
   * or one cut into equal parts ("41111111 11111111"), which is the same number written in halves.
   * Off for domestic account numbers and references: Armenian and Kyrgyz accounts are 16 unbroken
   * digits and would pass Luhn one time in ten, so there only card-style grouping ("4111 1111 1111
   * 1111") is taken for a PAN.
   */
  unbrokenRuns: boolean;
}

/**
 * Whether `text` contains what looks like a full card number: 13 to 19 digits, not starting with
 * 0, written in one run or in groups (see PanScanOptions), that pass the Luhn check. The digits of
 * every script count (Arabic-Indic, Devanagari, full-width, ...) and invisible characters are
 * ignored, since either can hide a PAN from a plain scan while the number stays readable to a
 * person. The number itself is never returned, so callers cannot leak it into an error message.
 */
export function containsPan(text: string, options: PanScanOptions = { unbrokenRuns: true }): boolean {
  const normalised = normalise(text);
  if (asciiDigitCount(normalised) < MIN_PAN_DIGITS) return false;
  for (const match of normalised.matchAll(GROUPED_DIGITS)) {
    if (groupsContainPan(match[0].split(GROUP_SEPARATOR), options.unbrokenRuns)) return true;
  }
  return false;
}

/**
 * Whether the whole of `text` is one card number, however its digits are grouped: for values such
 * as wallet addresses, where a digit run inside may be chance (hex) but a value made of nothing
 * else is no address.
 */
export function isPan(text: string): boolean {
  const digits = normalise(text).replace(SEPARATORS, '');
  return /^[0-9]{13,19}$/.test(digits) && looksLikePan(digits);
}

const PRINTABLE_ASCII = /^[ -~]*$/;
// Combining marks too: an underline or accent on each digit must not break a number into digits.
const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}]/gu;
const NON_ASCII_DIGIT = /(?![0-9])\p{Nd}/gu;

/**
 * The text with invisible characters and combining marks removed and every decimal digit written
 * in ASCII (for finding numbers only: accents go too). NFKC
 * already reads full-width and mathematical digits as ASCII, but not the digits of other scripts.
 * Printable ASCII is its own form: most text needs no normalising.
 */
function normalise(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  return text.replace(HIDDEN, '').normalize('NFKC').replace(NON_ASCII_DIGIT, asciiDigit);
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;
const ASCII_DIGITS = new Map<string, string>();

/**
 * The ASCII form of any script's decimal digit, read from its position: Unicode encodes every
 * script's digits 0 to 9 as ten consecutive code points (a stability guarantee), and where two
 * such runs touch (the mathematical digits) both are whole, so the offset from the start of the
 * run, mod 10, is the digit. Worked out once per character: there are a few hundred.
 */
function asciiDigit(digit: string): string {
  let ascii = ASCII_DIGITS.get(digit);
  if (ascii === undefined) {
    const code = digit.codePointAt(0) ?? 0;
    let zero = code;
    while (DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
    ascii = String((code - zero) % 10);
    ASCII_DIGITS.set(digit, ascii);
  }
  return ascii;
}

function asciiDigitCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 48 && unit <= 57) n++;
  }
  return n;
}

/**
 * Tries every span of whole, consecutive groups, because a PAN can sit next to other numbers in
 * the same chain ("invoice 2024 4111 1111 1111 1111"). A span of several groups must be grouped
 * the way cards are printed, or (where `unbrokenRuns`) cut into equal parts: see
 * continuesCardGrouping. Groups longer than a PAN are never part of one. Spans are bounded by 19
 * digits, so the work stays linear in the text.
 */
function groupsContainPan(groups: string[], unbrokenRuns: boolean): boolean {
  for (let start = 0; start < groups.length; start++) {
    const first = groups[start].length;
    let digits = '';
    for (let end = start; end < groups.length; end++) {
      const group = groups[end];
      if (end > start && !continuesCardGrouping(first, group.length, unbrokenRuns)) break;
      digits += group;
      if (digits.length > MAX_PAN_DIGITS) break;
      if (end === start && !unbrokenRuns) continue;
      if (digits.length >= MIN_PAN_DIGITS && looksLikePan(digits)) return true;
    }
  }
  return false;
}

/**
 * Cards are printed 4-4-4-4, 4-6-5 or 4-4-4-4-3: a first group of 4, then groups of 3 to 6. Other
 * groupings are how references are built ("20250314-000123": a date and a sequence number, which
 * would pass Luhn one time in ten), so they are not joined, except equal parts of 5 or more digits
 * ("41111111 11111111", "37828 22463 10005") where an unbroken run counts anyway: halving a number
 * does not make it two.
 */
function continuesCardGrouping(first: number, next: number, equalParts: boolean): boolean {
  if (first === 4) return next >= 3 && next <= 6;
  return equalParts && first >= 5 && next === first;
}

/**
 * No card scheme issues numbers starting with 0 (ISO/IEC 7812 reserves that major industry
 * identifier), while zero-padded sequence numbers are common in references.
 */
function looksLikePan(digits: string): boolean {
  return digits[0] !== '0' && luhnValid(digits);
}

/** The Luhn (mod 10) check every card scheme uses for a PAN's last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
