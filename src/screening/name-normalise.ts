/**
 * Turns a raw party or list name into comparable tokens: Unicode cleaned (NFKC, invisible
 * characters removed, Latin/Cyrillic look-alikes resolved), split on punctuation, romanised into
 * every common reading, folded (case, accents, spelling variants such as KH/H, ZH/J, W/V, Y/I,
 * doubled letters) and classified (legal form, particle, number, initial, generic word, word).
 * Nothing is dropped: low-value tokens are kept with their kind so the scorer can weigh them.
 */
import {
  cyrillicLanguage,
  romaniseArmenian,
  romaniseCyrillic,
  romaniseGeorgian,
  romaniseGreek,
  type CyrillicLanguage,
} from './name-transliterate';
import {
  ABBREVIATIONS,
  GENERIC_WORDS,
  LEGAL_FORMS,
  PARTICLES,
  numberWordValue,
  type LegalFamily,
} from './name-vocabulary';

export type TokenKind = 'word' | 'generic' | 'initial' | 'number' | 'legal-form' | 'particle';

export interface NameToken {
  /** Upper-case romanised form as written (or its original script), shown in explanations. */
  text: string;
  kind: TokenKind;
  /**
   * Folded comparison forms, one per distinct romanisation; the canonical form for legal forms
   * and particles; the digits without leading zeros for numbers.
   */
  keys: string[];
  /**
   * For words: the keys with O→A and H→G folded (see looseKey), so that Belarusian and Ukrainian
   * spellings meet Russian ones (LUKASHENKA / LUKASHENKO, HALAVANAU / GOLOVANOV); empty for other
   * kinds.
   */
  looseKeys: string[];
  /** For legal forms: the family a translation may swap within (ОАО ↔ JSC). */
  legalFamily?: LegalFamily;
}

export interface NormalisedName {
  tokens: NameToken[];
}

/**
 * Bounds that keep hostile input cheap: real list names stay far below them (the longest OFAC
 * names are about 250 characters and 30 words).
 */
export const MAX_INPUT_CHARS = 1024;
export const MAX_TOKENS = 32;
const MAX_TOKEN_CHARS = 64;

/** Format controls: zero-width spaces and joiners, bidi marks, soft hyphen, tags. */
const FORMAT_CONTROLS = /\p{Cf}/gu;
/**
 * Other characters that show nothing: fillers and variation selectors (a set, not a regex class,
 * because several of them are combining characters).
 */
const BLANKS: ReadonlySet<string> = new Set(
  [0x034f, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180b, 0x180c, 0x180d, 0x180e, 0x180f, 0x2800, 0x3164, 0xffa0]
    .concat(Array.from({ length: 16 }, (_, i) => 0xfe00 + i))
    .concat(Array.from({ length: 240 }, (_, i) => 0xe0100 + i))
    .map((code) => String.fromCodePoint(code)),
);

function removeInvisible(text: string): string {
  const visible = text.replace(FORMAT_CONTROLS, '');
  if (/^[\x20-\x7e]*$/.test(visible)) return visible;
  return [...visible].filter((ch) => !BLANKS.has(ch)).join('');
}

/** Apostrophes and transliteration primes sit inside words (Qa'ida, ʿAbd, Grigorʹyevich). */
const APOSTROPHES = /['’‘‛ʼʻʽʹʾʿ`´′]/g;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Letters that NFKC leaves alone but that read as Latin ones: small capitals (ꜱʙᴇʀʙᴀɴᴋ) and the
 * Lisu letters shaped like Latin capitals (ꓢꓰꓚꓧꓲꓠ), as UTS #39's confusables table pairs them.
 */
const LETTERLIKE_FROM = 'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ' + 'ꓐꓑꓓꓔꓖꓗꓙꓚꓜꓝꓟꓠꓡꓢꓣꓦꓧꓪꓫꓬꓮꓰꓲꓳꓴ';
const LETTERLIKE_TO = 'abcdefghijklmnopqrstuvwyz' + 'bpdtgkjczfmnlsrvhwxyaeiou';
const LETTERLIKE_TO_LATIN = new Map<string, string>(
  [...LETTERLIKE_FROM].map((ch, i) => [ch, LETTERLIKE_TO[i]]),
);
const LETTERLIKE = new RegExp(`[${LETTERLIKE_FROM}]`, 'gu');
/** Greek capitals shaped like Latin ones; read as Latin in a word that has Latin letters (VΤB). */
const GREEK_CAPITAL_TO_LATIN: Readonly<Record<string, string>> = {
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};
const GREEK_CAPITALS = Object.keys(GREEK_CAPITAL_TO_LATIN).join('');
const GREEK_LOOKALIKE_CAPITAL = new RegExp(`[${GREEK_CAPITALS}]`, 'u');
const GREEK_LOOKALIKE_CAPITALS = new RegExp(`[${GREEK_CAPITALS}]`, 'gu');
const LETTERS_AND_DIGITS = /[\p{L}\p{N}]+/gu;
/**
 * Symbols written for letters inside a word (RO$NEFT, SBERB@NK, V|TOL): read as the digits they
 * stand for in leetspeak, which deleetVariants then reads as letters.
 */
const SYMBOL_DIGITS: Readonly<Record<string, string>> = { '@': '4', $: '5', '!': '1', '|': '1' };
const SYMBOL_IN_WORD = /(?<=[\p{L}\p{N}])[@$!|](?=[\p{L}\p{N}])|(?<![\p{L}\p{N}])[@$](?=\p{L}{2})/gu;

/** What readLookalikes rewrites; a name with none of it (most) is returned as it is, cheaply. */
const LOOKALIKE_OR_SYMBOL = new RegExp(`[${LETTERLIKE_FROM}${GREEK_CAPITALS}@$!|]`, 'u');

function readLookalikes(text: string): string {
  if (!LOOKALIKE_OR_SYMBOL.test(text)) return text;
  return text
    .replace(LETTERLIKE, (ch) => LETTERLIKE_TO_LATIN.get(ch) ?? ch)
    .replace(LETTERS_AND_DIGITS, (word) =>
      GREEK_LOOKALIKE_CAPITAL.test(word) && /[A-Za-z]/.test(word)
        ? word.replace(GREEK_LOOKALIKE_CAPITALS, (ch) => GREEK_CAPITAL_TO_LATIN[ch])
        : word,
    )
    .replace(SYMBOL_IN_WORD, (ch) => SYMBOL_DIGITS[ch]);
}

export function normaliseName(raw: string): NormalisedName {
  const text = readLookalikes(removeInvisible(raw.slice(0, MAX_INPUT_CHARS).normalize('NFKC')))
    .replace(APOSTROPHES, '')
    .replace(/&/g, ' and ')
    .toLowerCase();
  const language = cyrillicLanguage(text);
  const words = splitWords(text);
  const romanised = words.map((w) => romaniseToken(w, language));
  return { tokens: classify(combineNumberWords(romanised)).slice(0, MAX_TOKENS) };
}

/** Single letters spaced out in a row at least this long spell one word ("S B E R B A N K"). */
const SPACED_OUT = 4;

/**
 * Words of the name. Single letters joined only by dots, hyphens or slashes ("A.B.C.", "o.O.O.",
 * "J.-C.", "A/S") are one abbreviation; with spaces between them ("A. B. Smith", "Partners V L.P.")
 * they stay separate initials, unless SPACED_OUT or more of them stand separated by spaces alone:
 * no name has that many initials in a row, and a word spelled out is how a listed one is hidden.
 */
function splitWords(text: string): string[] {
  const words: string[] = [];
  /** The run of single letters separated by spaces alone that ends the words so far. */
  let spaced = 0;
  let previousEnd = -1;
  let previousSingle = false;
  for (const match of text.matchAll(WORD)) {
    const word = match[0].slice(0, MAX_TOKEN_CHARS);
    const single = isSingleLetter(word);
    const gap = previousEnd < 0 ? ' ' : text.slice(previousEnd, match.index);
    if (single && previousSingle && /^[./-]+$/.test(gap)) {
      words[words.length - 1] += word;
      spaced = 0;
    } else {
      spaced = single && previousSingle && /^\s+$/.test(gap) ? spaced + 1 : single ? 1 : 0;
      words.push(word);
    }
    if (spaced === SPACED_OUT) words.splice(-SPACED_OUT, SPACED_OUT, words.slice(-SPACED_OUT).join(''));
    else if (spaced > SPACED_OUT) words[words.length - 2] += words.pop();
    previousEnd = match.index + match[0].length;
    previousSingle = single;
  }
  return words;
}

function isSingleLetter(word: string): boolean {
  return [...word.normalize('NFC')].length === 1 && /\p{L}/u.test(word);
}

interface Romanised {
  text: string;
  /** Every upper-case romanisation, unfolded: legal-form abbreviations are matched on these. */
  readings: string[];
  keys: string[];
}

type Script = 'latin' | 'cyrillic' | 'greek' | 'georgian' | 'armenian' | 'other';

function scriptOf(ch: string): Script | null {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a ? 'latin' : null;
  if (code >= 0x400 && code <= 0x52f) return 'cyrillic';
  if (code >= 0x370 && code <= 0x3ff) return 'greek';
  if ((code >= 0x10a0 && code <= 0x10ff) || (code >= 0x1c90 && code <= 0x1cbf)) return 'georgian';
  if (code >= 0x530 && code <= 0x58f) return 'armenian';
  if (/\p{Script=Latin}/u.test(ch)) return 'latin';
  if (/\p{Script=Greek}/u.test(ch)) return 'greek';
  if (/\p{L}/u.test(ch)) return 'other';
  return null;
}

const ASCII_WORD = /^[a-z0-9]+$/;

function romaniseToken(word: string, language: CyrillicLanguage): Romanised {
  if (ASCII_WORD.test(word)) {
    const text = word.toUpperCase();
    return { text, readings: [text], keys: deleetVariants(text).map(foldKey) };
  }
  const nfc = word.normalize('NFC');
  const token = resolveHomoglyphs(nfc);
  const latin = latinSkeleton(nfc);
  const readings = scriptReadings(token, language);
  if (readings === null) {
    // Scripts without a romanisation here are compared as written, marks kept (they are
    // vowels in Devanagari or Thai, not accents).
    return { text: token.toUpperCase(), readings: [token.toUpperCase()], keys: [token] };
  }
  if (latin !== null && latin !== token) readings.push(...latinReadings(latin));
  const texts = [...new Set(readings.map((r) => foldLatinLetters(stripMarks(r)).toUpperCase()))];
  const keys = [...new Set(texts.flatMap((t) => deleetVariants(t)).map(foldKey))];
  return { text: texts[0], readings: texts, keys };
}

/** The readings of a word in its dominant script; null for scripts not romanised here. */
function scriptReadings(token: string, language: CyrillicLanguage): string[] | null {
  const script = dominantScript(token);
  let readings: string[];
  switch (script) {
    case 'cyrillic':
      readings = romaniseCyrillic(token, language);
      break;
    case 'greek':
      readings = romaniseGreek(stripMarks(token));
      break;
    case 'georgian':
      readings = romaniseGeorgian(token);
      break;
    case 'armenian':
      readings = romaniseArmenian(token);
      break;
    case 'latin':
      readings = latinReadings(token);
      break;
    default:
      return null;
  }
  return readings;
}

function dominantScript(token: string): Script {
  const counts = new Map<Script, number>();
  for (const ch of token) {
    const script = scriptOf(ch);
    if (script) counts.set(script, (counts.get(script) ?? 0) + 1);
  }
  let best: Script = 'latin';
  let bestCount = 0;
  for (const [script, count] of counts) {
    if (count > bestCount) {
      best = script;
      bestCount = count;
    }
  }
  return best;
}

/** Lower-case Cyrillic (and below, Greek) letters that look like a Latin letter. */
const CYRILLIC_TO_LATIN: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  һ: 'h',
  ӏ: 'l',
};
const GREEK_TO_LATIN: Readonly<Record<string, string>> = {
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'h',
  ι: 'i',
  κ: 'k',
  μ: 'm',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ζ: 'z',
};
const LATIN_TO_CYRILLIC: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(CYRILLIC_TO_LATIN)
    .filter(([cyrillic]) => 'авекмнорстухі'.includes(cyrillic))
    .map(([cyrillic, latin]) => [latin, cyrillic]),
);

/**
 * A word mixing Latin and Cyrillic (or Greek) letters is a typo or a spoof ("SBERBАNK" with a
 * Cyrillic А): its minority letters are read as the majority script's look-alikes.
 */
function resolveHomoglyphs(token: string): string {
  let latin = 0;
  let cyrillic = 0;
  let greek = 0;
  for (const ch of token) {
    const script = scriptOf(ch);
    if (script === 'latin') latin++;
    else if (script === 'cyrillic') cyrillic++;
    else if (script === 'greek') greek++;
  }
  const scripts = (latin > 0 ? 1 : 0) + (cyrillic > 0 ? 1 : 0) + (greek > 0 ? 1 : 0);
  if (scripts < 2) return token;
  if (latin >= cyrillic && latin >= greek) {
    return [...token].map((ch) => CYRILLIC_TO_LATIN[ch] ?? GREEK_TO_LATIN[ch] ?? ch).join('');
  }
  if (cyrillic >= greek) return [...token].map((ch) => LATIN_TO_CYRILLIC[ch] ?? ch).join('');
  return token;
}

/**
 * The word as a Latin spoof would read it, every Cyrillic or Greek letter taken for its Latin
 * look-alike: for a word that mixes Latin letters with them (ЅЕСНІN, mostly Cyrillic), or is
 * written wholly in them (СЕСОЕХ for CECOEX); null when a letter has no look-alike. An extra
 * reading, beside the script's own.
 */
function latinSkeleton(token: string): string | null {
  let foreign = false;
  let skeleton = '';
  for (const ch of token) {
    const latin = CYRILLIC_TO_LATIN[ch] ?? GREEK_TO_LATIN[ch];
    if (latin !== undefined) {
      foreign = true;
      skeleton += latin;
    } else if (scriptOf(ch) === 'latin' || !/\p{L}/u.test(ch)) {
      skeleton += ch;
    } else {
      return null;
    }
  }
  return foreign ? skeleton : null;
}

function stripMarks(text: string): string {
  if (ASCII_WORD.test(text)) return text;
  return text.normalize('NFKD').replace(/\p{M}/gu, '');
}

/** Latin letters without a decomposition into base letter + accent. */
const LATIN_SPECIAL: Readonly<Record<string, string>> = {
  ß: 'ss',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ł: 'l',
  ħ: 'h',
  ŧ: 't',
  ŋ: 'ng',
  ı: 'i',
  ĸ: 'k',
  ſ: 's',
  ə: 'a',
  ɨ: 'i',
  ʒ: 'zh',
};

function foldLatinLetters(text: string): string {
  return text.replace(/[ßøæœđðþłħŧŋıĸſəɨʒ]/g, (ch) => LATIN_SPECIAL[ch]);
}

/**
 * German umlauts and Slavic/Turkish carons and cedillas have a second, spelled-out reading
 * (Müller/Mueller, Babiš/Babish, Şahin/Shahin) besides the plain one (Muller, Babis, Sahin).
 */
const SPELLED_OUT: Readonly<Record<string, string>> = {
  ä: 'ae',
  ö: 'oe',
  ü: 'ue',
  š: 'sh',
  ş: 'sh',
  č: 'ch',
  ç: 'ch',
  ž: 'zh',
  ć: 'ch',
};

function latinReadings(token: string): string[] {
  const plain = token;
  const spelled = token.replace(/[äöüšşčçžć]/g, (ch) => SPELLED_OUT[ch]);
  return spelled === plain ? [plain] : [plain, spelled];
}

/** Digits used as letters ("Ig0r Sech1n"): read back as letters, beside the literal reading. */
const LEET: Readonly<Record<string, string>> = {
  '0': 'O',
  '1': 'I',
  '3': 'E',
  '4': 'A',
  '5': 'S',
  '7': 'T',
  '9': 'G',
};

function deleetVariants(text: string): string[] {
  if (!/\d/.test(text)) return [text];
  const letters = text.replace(/[^A-Z]/g, '').length;
  const digits = text.replace(/\D/g, '').length;
  if (digits === 0 || letters < 2 || digits > letters || !/^[A-Z0-9]+$/.test(text)) return [text];
  if (!/[A-Z][0-9]|[0-9][A-Z]/.test(text) || /[268]/.test(text)) return [text];
  return [text, text.replace(/[0-9]/g, (d) => LEET[d])];
}

const VOWELS = new Set(['A', 'E', 'I', 'O', 'U', 'Y']);

function isLetter(ch: string | undefined): boolean {
  return ch !== undefined && ch >= 'A' && ch <= 'Z';
}

function isConsonant(ch: string | undefined): boolean {
  return isLetter(ch) && !VOWELS.has(ch as string);
}

/**
 * The comparison form of an upper-case Latin token: spelling variants that romanisations and
 * languages disagree on are folded to one form (SHCH/SCH→SH, DZH/DJ/ZH→J, KH→H, GH→G, PH→F, TH→T,
 * DH→D, CK/Q→K, X→KS, W→V, OU/OO→U, EE→I, Y→I, a J after a vowel→I as in Sergej/Sergey, initial
 * YE/IE→E as in Yevgeny/Evgeny) and doubled letters collapse. One pass, as it runs for every token
 * of every list name. Other scripts and digits pass through unchanged.
 */
export function foldKey(text: string): string {
  if (foldBuffer.length < text.length * 2) foldBuffer = new Uint16Array(text.length * 2);
  foldLength = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === 'S' && text.startsWith('SHCH', i)) {
      put(S);
      put(H);
      i += 3;
    } else if (ch === 'S' && text.startsWith('SCH', i)) {
      put(S);
      put(H);
      i += 2;
    } else if (ch === 'T' && text.startsWith('TSCH', i)) {
      put(C);
      put(H);
      i += 3;
    } else if (ch === 'T' && text.startsWith('TCH', i)) {
      put(C);
      put(H);
      i += 2;
    } else if (ch === 'D' && text.startsWith('DZH', i)) {
      put(J);
      i += 2;
    } else if ((ch === 'D' && next === 'J') || (ch === 'Z' && next === 'H')) {
      put(J);
      i++;
    } else if (next === 'H' && (ch === 'K' || ch === 'G' || ch === 'P' || ch === 'T' || ch === 'D')) {
      put(ch === 'K' ? H : ch === 'P' ? F : text.charCodeAt(i));
      i++;
    } else if (ch === 'C' && next === 'K') {
      put(K);
      i++;
    } else if (ch === 'O' && (next === 'U' || next === 'O')) {
      put(U);
      i++;
    } else if (ch === 'E' && next === 'E') {
      put(I);
      i++;
    } else if (i === 0 && ch === 'A' && ARABIC_ABD_ARTICLE.some((start) => text.startsWith(start))) {
      // Abdul-, Abdel-, Abdol-: "servant of the" written with its article's vowel as heard; one
      // spelling, so that ABDULHADI meets the joined ABD AL HADI.
      for (const code of ABD_AL) put(code);
      i += 4;
    } else if (i === 0 && (ch === 'Y' || ch === 'I') && next === 'E' && isConsonant(text[i + 2])) {
      put(E);
      i++;
    } else if (ch === 'J' && i > 0 && VOWELS.has(text[i - 1]) && !(next !== undefined && VOWELS.has(next))) {
      put(I);
    } else if (ch === 'X') {
      put(K);
      put(S);
    } else {
      put(foldedLetter(text.charCodeAt(i)));
    }
  }
  // Char by char: spreading the buffer into fromCharCode goes through an iterator, several times slower.
  let key = '';
  for (let i = 0; i < foldLength; i++) key += String.fromCharCode(foldBuffer[i]);
  return key;
}

/** foldKey's output, reused: it runs for every token and every joined run of every list name. */
let foldBuffer = new Uint16Array(128);
let foldLength = 0;

/** Appends to foldKey's output, dropping a letter equal to the one before (doubles collapse). */
function put(code: number): void {
  if (foldLength > 0 && code === foldBuffer[foldLength - 1] && code >= 65 && code <= 90) return;
  foldBuffer[foldLength++] = code;
}
const [C, E, F, H, I, J, K, S, U, V] = [...'CEFHIJKSUV'].map((ch) => ch.charCodeAt(0));

const [Q, W, Y] = [...'QWY'].map((ch) => ch.charCodeAt(0));
const ARABIC_ABD_ARTICLE = ['ABDUL', 'ABDEL', 'ABDOL'];
const ABD_AL = [...'ABDAL'].map((ch) => ch.charCodeAt(0));

/** Q→K, W→V, Y→I; by code, as a lookup by letter in an object is slow where it misses. */
function foldedLetter(code: number): number {
  return code === Q ? K : code === W ? V : code === Y ? I : code;
}

/**
 * A second, looser form of a folded key for spellings that differ by language rather than by
 * romanisation: unstressed O written A (Belarusian akanye: LUKASHENKA, HALAVANAU) and Г written H
 * in Belarusian and Ukrainian but G in Russian (HRYHORY / GRIGORY). Too coarse to be a key of its
 * own, so pairs through it count less. The mapping is letter for letter and ignores context, so
 * two loose keys are never less similar than the keys they come from (the index relies on it).
 */
export function looseKey(key: string): string {
  return key.replace(/O/g, 'A').replace(/H/g, 'G');
}

/** Runs of English number words and ordinals ("FORTY FOUR", "1ST") become one number token. */
function combineNumberWords(tokens: Romanised[]): Romanised[] {
  const out: Romanised[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const first = numberWordValue(tokens[i].text);
    if (!first) {
      out.push(tokens[i]);
      continue;
    }
    let value = first.value;
    let text = tokens[i].text;
    const unit = tokens[i + 1]
      ? (numberWordValue(tokens[i + 1].text) ?? digitValue(tokens[i + 1].text))
      : null;
    if (first.tens && unit && !unit.tens && unit.value < 10) {
      value += unit.value;
      text += ` ${tokens[i + 1].text}`;
      i++;
    }
    out.push({ text, readings: [text], keys: [String(value)] });
  }
  return out;
}

function digitValue(text: string): { value: number; tens: boolean } | null {
  return /^\d$/.test(text) ? { value: Number(text), tens: false } : null;
}

interface PhraseNode {
  next: Map<string, PhraseNode>;
  legal?: { canonical: string; family: LegalFamily };
}

/**
 * Short legal forms are abbreviations whose letters all count (LLC is not LC, OOO is not O), so
 * they are matched as written; long words are matched folded (OGRANICHENNOY = OGRANICHENNOI).
 */
function legalKey(word: string): string {
  return word.length <= 4 ? word : foldKey(word);
}

/** Legal-form spellings as a trie over legalKey words, matched longest first. */
const LEGAL_TRIE: PhraseNode = (() => {
  const root: PhraseNode = { next: new Map() };
  for (const form of LEGAL_FORMS) {
    for (const spelling of form.spellings) {
      let node = root;
      for (const word of spelling.split(' ')) {
        const key = legalKey(word);
        let child = node.next.get(key);
        if (!child) {
          child = { next: new Map() };
          node.next.set(key, child);
        }
        node = child;
      }
      node.legal = { canonical: form.canonical, family: form.family };
    }
  }
  return root;
})();

const FOLDED_PARTICLES = new Map(
  Object.entries(PARTICLES).map(([word, canonical]) => [foldKey(word), canonical]),
);
const FOLDED_GENERIC = new Set([...GENERIC_WORDS].map(foldKey));
const FOLDED_ABBREVIATIONS = new Map(
  Object.entries(ABBREVIATIONS).map(([short, long]) => [foldKey(short), foldKey(long)]),
);

function classify(tokens: Romanised[]): NameToken[] {
  const out: NameToken[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const legal = longestLegalForm(tokens, i);
    if (legal) {
      out.push({
        text: tokens
          .slice(i, i + legal.length)
          .map((t) => t.text)
          .join(' '),
        kind: 'legal-form',
        keys: [legal.canonical],
        looseKeys: [],
        legalFamily: legal.family,
      });
      i += legal.length - 1;
      continue;
    }
    out.push(classifyWord(tokens[i]));
  }
  return out;
}

function longestLegalForm(
  tokens: Romanised[],
  start: number,
): { length: number; canonical: string; family: LegalFamily } | null {
  let node: PhraseNode | undefined = LEGAL_TRIE;
  let found: { length: number; canonical: string; family: LegalFamily } | null = null;
  for (let i = start; i < tokens.length && node; i++) {
    const current: PhraseNode = node;
    const key = tokens[i].readings.map(legalKey).find((k) => current.next.has(k));
    node = key === undefined ? undefined : current.next.get(key);
    if (node?.legal) found = { length: i - start + 1, ...node.legal };
  }
  return found;
}

function classifyWord(token: Romanised): NameToken {
  const primary = token.keys[0];
  if (/^\d+$/.test(primary)) {
    return { text: token.text, kind: 'number', keys: [primary.replace(/^0+(?=\d)/, '')], looseKeys: [] };
  }
  const particle = FOLDED_PARTICLES.get(primary);
  if (particle) return { text: token.text, kind: 'particle', keys: [particle], looseKeys: [] };
  if ([...token.text].length === 1)
    return { text: token.text, kind: 'initial', keys: token.keys, looseKeys: [] };
  const keys = token.keys.map((k) => FOLDED_ABBREVIATIONS.get(k) ?? k);
  return {
    text: token.text,
    kind: keys.some((k) => FOLDED_GENERIC.has(k)) ? 'generic' : 'word',
    keys,
    looseKeys: [...new Set(keys.map(looseKey))],
  };
}
