/**
 * Romanisation of the non-Latin scripts met in the corridor (Cyrillic incl. Kazakh, Ukrainian,
 * Belarusian and Serbian letters; Georgian; Armenian; Greek). Lists write the same name in several
 * romanisations (BGN/PCGN, ICAO passports, national systems, popular English spellings), so one
 * token yields every reading that differs, and the scorer keeps the best pairing.
 *
 * Input is one lower-case token in one script; output is lower-case Latin.
 */

type Scheme = (token: string) => string;

const CYRILLIC_COMMON: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'y',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'yu',
  я: 'ya',
  // Kazakh, Mongolian, Tatar, Bashkir, Tajik, Uzbek Cyrillic
  ә: 'a',
  ғ: 'g',
  қ: 'k',
  ң: 'n',
  ө: 'o',
  ұ: 'u',
  ү: 'u',
  һ: 'h',
  і: 'i',
  ҳ: 'h',
  ҷ: 'j',
  ӣ: 'i',
  ӯ: 'u',
  ҙ: 'z',
  ҫ: 's',
  ҡ: 'k',
  ӑ: 'a',
  ӗ: 'e',
  ӳ: 'u',
  ӏ: '',
  // Ukrainian, Belarusian
  ї: 'i',
  є: 'ye',
  ґ: 'g',
  ў: 'w',
  // Serbian, Macedonian
  ђ: 'dj',
  ј: 'j',
  љ: 'lj',
  њ: 'nj',
  ћ: 'c',
  џ: 'dz',
  ѓ: 'gj',
  ќ: 'kj',
  ѕ: 'dz',
};

const CYRILLIC_VOWELS = new Set('аеёиоуыэюяіїєәөұүӣӯ'.split(''));

/** Letters that only some Cyrillic alphabets have; they decide which national system applies. */
const KAZAKH_LETTERS = /[әғқңөұүһ]/;
const UKRAINIAN_LETTERS = /[їєґ]/;
const BELARUSIAN_LETTERS = /[ў]/;
const SERBIAN_LETTERS = /[ђјљњћџѓќѕ]/;

export type CyrillicLanguage = 'russian' | 'ukrainian' | 'belarusian' | 'kazakh' | 'serbian';

/** Guessed from the whole name, since a single token rarely carries a distinctive letter. */
export function cyrillicLanguage(name: string): CyrillicLanguage {
  if (KAZAKH_LETTERS.test(name)) return 'kazakh';
  if (SERBIAN_LETTERS.test(name)) return 'serbian';
  if (BELARUSIAN_LETTERS.test(name)) return 'belarusian';
  if (UKRAINIAN_LETTERS.test(name) || name.includes('і')) return 'ukrainian';
  return 'russian';
}

/**
 * Letter-by-letter romanisation with context: `initialIotated` is what е/ё/ю/я/є/ї become at the
 * start of a word or after a vowel or sign, `medial` what they become elsewhere.
 */
function cyrillicScheme(options: {
  overrides: Record<string, string>;
  initialIotated: Record<string, string>;
  /** Replacement for a word-final -ий/-ый (Russian adjectival endings such as -skiy). */
  adjectivalEnding: string | null;
}): Scheme {
  const table = { ...CYRILLIC_COMMON, ...options.overrides };
  return (token) => {
    let stem = token;
    let ending = '';
    if (options.adjectivalEnding !== null && /[иы]й$/.test(token) && token.length > 3) {
      stem = token.slice(0, -2);
      ending = options.adjectivalEnding;
    }
    let out = '';
    for (let i = 0; i < stem.length; i++) {
      const ch = stem[i];
      const previous = i === 0 ? '' : stem[i - 1];
      const afterBoundary = i === 0 || CYRILLIC_VOWELS.has(previous) || previous === 'ь' || previous === 'ъ';
      const iotated = afterBoundary ? options.initialIotated[ch] : undefined;
      out += iotated ?? table[ch] ?? ch;
    }
    return out + ending;
  };
}

/** BGN/PCGN 1947, the system of most OFAC and UN primary names. */
const RUSSIAN_BGN = cyrillicScheme({
  overrides: { ё: 'yo' },
  initialIotated: { е: 'ye', ё: 'yo' },
  adjectivalEnding: null,
});

/** ICAO Doc 9303 (Russian passports since 2013): й→i, ю→iu, я→ia, ъ→ie. */
const RUSSIAN_ICAO = cyrillicScheme({
  overrides: { й: 'i', ю: 'iu', я: 'ia', ъ: 'ie', ы: 'y' },
  initialIotated: {},
  adjectivalEnding: null,
});

/** Popular English spellings: -sky endings, ё→yo, no ye- at word start. */
const RUSSIAN_POPULAR = cyrillicScheme({
  overrides: { ё: 'yo' },
  initialIotated: {},
  adjectivalEnding: 'y',
});

/** Ukrainian national system (2010): г→h, и→y, ї→yi/i, є→ye/ie. */
const UKRAINIAN_NATIONAL = cyrillicScheme({
  overrides: { г: 'h', и: 'y', і: 'i', ї: 'i', є: 'ie', й: 'i', ю: 'iu', я: 'ia' },
  initialIotated: { ї: 'yi', є: 'ye', й: 'y', ю: 'yu', я: 'ya' },
  adjectivalEnding: null,
});

/** Belarusian BGN/PCGN: г→h, ў→w, е→ye/ie. */
const BELARUSIAN_BGN = cyrillicScheme({
  overrides: { г: 'h', ў: 'w', е: 'ie', ё: 'io', ю: 'iu', я: 'ia' },
  initialIotated: { е: 'ye', ё: 'yo', ю: 'yu', я: 'ya' },
  adjectivalEnding: null,
});

/** Kazakh 2021 Latin alphabet with its diacritics folded: қ→q, ң→ng, ғ→gh. */
const KAZAKH_LATIN = cyrillicScheme({
  overrides: { қ: 'q', ң: 'ng', ғ: 'gh', й: 'i', ц: 'ts', х: 'h', һ: 'h', ю: 'iu', я: 'ia' },
  initialIotated: {},
  adjectivalEnding: null,
});

/** Serbian Gaj Latin with its diacritics folded (č, ć→c; š→s; ž→z; đ→dj). */
const SERBIAN_LATIN = cyrillicScheme({
  overrides: { ж: 'z', х: 'h', ц: 'c', ч: 'c', ш: 's', ћ: 'c', џ: 'dz', й: 'j' },
  initialIotated: {},
  adjectivalEnding: null,
});

/** Serbian names as English texts spell them: ч/ћ→ch, ш→sh, ж→zh. */
const SERBIAN_ENGLISH = cyrillicScheme({
  overrides: { х: 'h', ц: 'ts', ћ: 'ch', џ: 'dzh' },
  initialIotated: {},
  adjectivalEnding: null,
});

const CYRILLIC_SCHEMES: Record<CyrillicLanguage, Scheme[]> = {
  russian: [RUSSIAN_BGN, RUSSIAN_ICAO, RUSSIAN_POPULAR],
  ukrainian: [UKRAINIAN_NATIONAL, RUSSIAN_BGN],
  belarusian: [BELARUSIAN_BGN, RUSSIAN_BGN],
  kazakh: [RUSSIAN_BGN, RUSSIAN_ICAO, KAZAKH_LATIN],
  serbian: [SERBIAN_LATIN, SERBIAN_ENGLISH],
};

/** Every distinct romanisation of a Cyrillic token under the systems used for its language. */
export function romaniseCyrillic(token: string, language: CyrillicLanguage): string[] {
  return unique(CYRILLIC_SCHEMES[language].map((scheme) => scheme(token)));
}

/** Georgian national system (2002), apostrophes of ejectives dropped as lists do. */
const GEORGIAN: Record<string, string> = {
  ა: 'a',
  ბ: 'b',
  გ: 'g',
  დ: 'd',
  ე: 'e',
  ვ: 'v',
  ზ: 'z',
  თ: 't',
  ი: 'i',
  კ: 'k',
  ლ: 'l',
  მ: 'm',
  ნ: 'n',
  ო: 'o',
  პ: 'p',
  ჟ: 'zh',
  რ: 'r',
  ს: 's',
  ტ: 't',
  უ: 'u',
  ფ: 'p',
  ქ: 'k',
  ღ: 'gh',
  ყ: 'q',
  შ: 'sh',
  ჩ: 'ch',
  ც: 'ts',
  ძ: 'dz',
  წ: 'ts',
  ჭ: 'ch',
  ხ: 'kh',
  ჯ: 'j',
  ჰ: 'h',
};

/** Mtavruli capitals (U+1C90…) mirror Mkhedruli (U+10D0…) letter for letter. */
const MTAVRULI_OFFSET = 0x1c90 - 0x10d0;

export function romaniseGeorgian(token: string): string[] {
  let out = '';
  for (const ch of token) {
    const code = ch.codePointAt(0) ?? 0;
    const letter = code >= 0x1c90 && code <= 0x1cbf ? String.fromCodePoint(code - MTAVRULI_OFFSET) : ch;
    out += GEORGIAN[letter] ?? letter;
  }
  return [out];
}

/** Armenian BGN/PCGN (Eastern): ու→u, ե→ye and ո→vo at word start, և→yev. */
const ARMENIAN: Record<string, string> = {
  ա: 'a',
  բ: 'b',
  գ: 'g',
  դ: 'd',
  ե: 'e',
  զ: 'z',
  է: 'e',
  ը: 'y',
  թ: 't',
  ժ: 'zh',
  ի: 'i',
  լ: 'l',
  խ: 'kh',
  ծ: 'ts',
  կ: 'k',
  հ: 'h',
  ձ: 'dz',
  ղ: 'gh',
  ճ: 'ch',
  մ: 'm',
  յ: 'y',
  ն: 'n',
  շ: 'sh',
  ո: 'o',
  չ: 'ch',
  պ: 'p',
  ջ: 'j',
  ռ: 'r',
  ս: 's',
  վ: 'v',
  տ: 't',
  ր: 'r',
  ց: 'ts',
  փ: 'p',
  ք: 'k',
  և: 'yev',
  օ: 'o',
  ֆ: 'f',
  // NFKC splits the ligature և into ե + ւ; outside ու, ւ is a v.
  ւ: 'v',
};

export function romaniseArmenian(token: string): string[] {
  let out = '';
  for (let i = 0; i < token.length; i++) {
    const ch = token[i];
    if (ch === 'ո' && token[i + 1] === 'ւ') {
      out += 'u';
      i++;
    } else if (i === 0 && ch === 'ե') {
      out += 'ye';
    } else if (i === 0 && ch === 'ո') {
      out += 'vo';
    } else {
      out += ARMENIAN[ch] ?? ch;
    }
  }
  return [out];
}

/** ELOT 743 / ISO 843 (simplified): enough for Greek names in UN and EU lists. */
const GREEK: Record<string, string> = {
  α: 'a',
  β: 'v',
  γ: 'g',
  δ: 'd',
  ε: 'e',
  ζ: 'z',
  η: 'i',
  θ: 'th',
  ι: 'i',
  κ: 'k',
  λ: 'l',
  μ: 'm',
  ν: 'n',
  ξ: 'x',
  ο: 'o',
  π: 'p',
  ρ: 'r',
  σ: 's',
  ς: 's',
  τ: 't',
  υ: 'y',
  φ: 'f',
  χ: 'ch',
  ψ: 'ps',
  ω: 'o',
};

const GREEK_DIGRAPHS: [string, string][] = [
  ['ου', 'ou'],
  ['αυ', 'av'],
  ['ευ', 'ev'],
  ['γγ', 'ng'],
  ['γκ', 'gk'],
  ['μπ', 'b'],
  ['ντ', 'nt'],
];

/** Expects the accents already removed (NFKD + combining marks stripped by the caller). */
export function romaniseGreek(token: string): string[] {
  let out = '';
  for (let i = 0; i < token.length; i++) {
    const pair = token.slice(i, i + 2);
    const digraph = GREEK_DIGRAPHS.find(([greek]) => greek === pair);
    if (digraph) {
      out += i === 0 && pair === 'μπ' ? 'b' : digraph[1];
      i++;
    } else {
      out += GREEK[token[i]] ?? token[i];
    }
  }
  return [out];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
