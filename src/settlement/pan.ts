/**
 * Detection of full card numbers (PANs) in text, so that intake can refuse them before they reach
 * a record, a log or a trace: Caravan must never hold one (PCI DSS).
 */

const MIN_PAN_DIGITS = 13;
const MAX_PAN_DIGITS = 19;

/**
 * Digit groups joined by single spaces or dashes, as people write card numbers ("4111 1111 1111
 * 1111", "4111-1111-1111-1111"). Each run of digits inside is taken whole: a 20-digit account
 * number holds 13-19-digit substrings that may pass Luhn by chance, but it is not a card number.
 */
const GROUPED_DIGITS = /[0-9]+(?:[ -][0-9]+)*/g;

export interface PanScanOptions {
  /**
   * Whether an unbroken run of 13-19 digits counts. Off for domestic account numbers and
   * references: Armenian and Kyrgyz accounts are 16 unbroken digits and would pass Luhn one time in
   * ten, so there only card-style grouping ("4111 1111 1111 1111") is taken for a PAN.
   */
  unbrokenRuns: boolean;
}

/**
 * Whether `text` contains what looks like a full card number: 13 to 19 digits, not starting with
 * 0, written in one run or in card-like groups separated by single spaces or dashes, that pass
 * the Luhn check. Invisible format characters are ignored and full-width digits read as digits,
 * since either can hide a PAN from a plain scan while the number stays readable to a person. The
 * number itself is never returned, so callers cannot leak it into an error message.
 */
export function containsPan(text: string, options: PanScanOptions = { unbrokenRuns: true }): boolean {
  // Printable ASCII is its own NFKC form and holds no format characters: most text needs no
  // normalising.
  const normalised = PRINTABLE_ASCII.test(text) ? text : text.replace(/\p{Cf}/gu, '').normalize('NFKC');
  if (asciiDigitCount(normalised) < MIN_PAN_DIGITS) return false;
  for (const match of normalised.matchAll(GROUPED_DIGITS)) {
    if (groupsContainPan(match[0].split(/[ -]/), options.unbrokenRuns)) return true;
  }
  return false;
}

const PRINTABLE_ASCII = /^[ -~]*$/;

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
 * the way cards are printed (4-4-4-4, 4-6-5, 4-4-4-4-3: a first group of 4, then groups of 3 to
 * 6), so that references such as "20250314-000123" are not taken for a card number one time in
 * ten. Groups longer than a PAN are never part of one. Spans are bounded by 19 digits, so the
 * work stays linear in the text.
 */
function groupsContainPan(groups: string[], unbrokenRuns: boolean): boolean {
  for (let start = 0; start < groups.length; start++) {
    const startsLikeCard = groups[start].length === 4;
    let digits = '';
    for (let end = start; end < groups.length; end++) {
      const group = groups[end];
      if (end > start && !(startsLikeCard && group.length >= 3 && group.length <= 6)) break;
      digits += group;
      if (digits.length > MAX_PAN_DIGITS) break;
      if (end === start && !unbrokenRuns) continue;
      if (digits.length >= MIN_PAN_DIGITS && looksLikePan(digits)) return true;
    }
  }
  return false;
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
