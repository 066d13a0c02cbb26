/**
 * Words of a name that say what kind of party it is rather than which party: legal forms, name
 * particles and titles, and generic organisation words. They are matched on folded keys (see
 * foldKey in name-normalise.ts), so each entry is written once in its usual Latin spelling and its
 * Cyrillic originals are reached through romanisation (ООО → OOO, ТОО → TOO, АҚ → AK).
 */

/** Families of legal forms that a translation may swap (an ОАО is often listed as a JSC). */
export type LegalFamily =
  'limited' | 'stock' | 'company' | 'partnership' | 'state' | 'nonprofit' | 'individual';

interface LegalForm {
  canonical: string;
  family: LegalFamily;
  /** Spellings in Latin, abbreviated or written out; words separated by single spaces. */
  spellings: string[];
}

export const LEGAL_FORMS: readonly LegalForm[] = [
  {
    canonical: 'LLC',
    family: 'limited',
    spellings: [
      'LLC',
      'OOO',
      'TOV',
      'MCHJ',
      'OSOO',
      'LIMITED LIABILITY COMPANY',
      'LIMITED LIABILITY CORPORATION',
      'OBSHCHESTVO S OGRANICHENNOY OTVETSTVENNOSTYU',
      'TOVARYSTVO Z OBMEZHENOYU VIDPOVIDALNISTYU',
    ],
  },
  {
    canonical: 'LLP',
    family: 'limited',
    spellings: [
      'LLP',
      'TOO',
      'ZHSHS',
      'LIMITED LIABILITY PARTNERSHIP',
      'TOVARISHCHESTVO S OGRANICHENNOY OTVETSTVENNOSTYU',
      'ZHAUAPKERSHILIGI SHEKTEULI SERIKTESTIGI',
    ],
  },
  {
    canonical: 'JSC',
    family: 'stock',
    spellings: ['JSC', 'AO', 'AK', 'JOINT STOCK COMPANY', 'AKTSIONERNOE OBSHCHESTVO', 'AKTSIONERLIK KOGAM'],
  },
  {
    canonical: 'OJSC',
    family: 'stock',
    spellings: ['OJSC', 'OAO', 'OPEN JOINT STOCK COMPANY', 'OTKRYTOE AKTSIONERNOE OBSHCHESTVO'],
  },
  {
    canonical: 'CJSC',
    family: 'stock',
    spellings: ['CJSC', 'ZAO', 'CLOSED JOINT STOCK COMPANY', 'ZAKRYTOE AKTSIONERNOE OBSHCHESTVO'],
  },
  {
    canonical: 'PJSC',
    family: 'stock',
    spellings: ['PJSC', 'PAO', 'PUBLIC JOINT STOCK COMPANY', 'PUBLICHNOE AKTSIONERNOE OBSHCHESTVO'],
  },
  {
    canonical: 'SUE',
    family: 'state',
    spellings: [
      'FSUE',
      'FGUP',
      'GUP',
      'SUE',
      'STATE UNITARY ENTERPRISE',
      'FEDERAL STATE UNITARY ENTERPRISE',
      'FEDERALNOE GOSUDARSTVENNOE UNITARNOE PREDPRIYATIE',
      'GOSUDARSTVENNOE UNITARNOE PREDPRIYATIE',
    ],
  },
  {
    canonical: 'ANO',
    family: 'nonprofit',
    spellings: ['ANO', 'AUTONOMOUS NON PROFIT ORGANIZATION', 'AVTONOMNAYA NEKOMMERCHESKAYA ORGANIZATSIYA'],
  },
  {
    canonical: 'IP',
    family: 'individual',
    spellings: ['IP', 'INDIVIDUALNYY PREDPRINIMATEL', 'INDIVIDUAL ENTREPRENEUR'],
  },
  { canonical: 'LTD', family: 'limited', spellings: ['LTD', 'LIMITED', 'PRIVATE LIMITED'] },
  { canonical: 'INC', family: 'stock', spellings: ['INC', 'INCORPORATED'] },
  { canonical: 'CORP', family: 'stock', spellings: ['CORP', 'CORPORATION'] },
  { canonical: 'CO', family: 'company', spellings: ['CO', 'COMPANY'] },
  { canonical: 'PLC', family: 'stock', spellings: ['PLC', 'PUBLIC LIMITED COMPANY'] },
  { canonical: 'GMBH', family: 'limited', spellings: ['GMBH', 'GESELLSCHAFT MIT BESCHRANKTER HAFTUNG'] },
  { canonical: 'AG', family: 'stock', spellings: ['AG', 'AKTIENGESELLSCHAFT'] },
  { canonical: 'SA', family: 'stock', spellings: ['SA', 'SOCIEDAD ANONIMA', 'SOCIETE ANONYME'] },
  { canonical: 'SARL', family: 'limited', spellings: ['SARL'] },
  { canonical: 'SAS', family: 'stock', spellings: ['SAS'] },
  {
    canonical: 'SRL',
    family: 'limited',
    spellings: ['SRL', 'SOCIETATEA CU RASPUNDERE LIMITATA', 'SOCIETA A RESPONSABILITA LIMITATA'],
  },
  { canonical: 'SPZOO', family: 'limited', spellings: ['SP ZOO', 'SPZOO', 'SP Z OO'] },
  { canonical: 'DOO', family: 'limited', spellings: ['DOO'] },
  { canonical: 'BV', family: 'limited', spellings: ['BV'] },
  { canonical: 'NV', family: 'stock', spellings: ['NV'] },
  { canonical: 'AB', family: 'stock', spellings: ['AB'] },
  { canonical: 'AS', family: 'stock', spellings: ['AS', 'A S'] },
  { canonical: 'SPA', family: 'stock', spellings: ['SPA'] },
  { canonical: 'SE', family: 'stock', spellings: ['SE'] },
  { canonical: 'PTE', family: 'limited', spellings: ['PTE'] },
  { canonical: 'PTY', family: 'limited', spellings: ['PTY'] },
  { canonical: 'PT', family: 'limited', spellings: ['PT'] },
  { canonical: 'SDNBHD', family: 'limited', spellings: ['SDN BHD', 'BHD'] },
  { canonical: 'FZE', family: 'limited', spellings: ['FZE', 'FZCO', 'FZC'] },
  { canonical: 'LP', family: 'partnership', spellings: ['LP', 'LIMITED PARTNERSHIP'] },
  { canonical: 'KG', family: 'partnership', spellings: ['KG'] },
];

/**
 * Particles, honorifics and titles: they join or precede a name in some sources and not in
 * others, so they must never decide a match. Variant spellings share one canonical form.
 */
export const PARTICLES: Readonly<Record<string, string>> = {
  AL: 'AL',
  EL: 'AL',
  UL: 'AL',
  UD: 'AL',
  UR: 'AL',
  BIN: 'BIN',
  BEN: 'BIN',
  IBN: 'BIN',
  BN: 'BIN',
  BINT: 'BINT',
  BENT: 'BINT',
  BINTI: 'BINT',
  DE: 'DE',
  DA: 'DE',
  DI: 'DE',
  DO: 'DE',
  DOS: 'DE',
  DAS: 'DE',
  DEL: 'DEL',
  DELLA: 'DEL',
  DES: 'DE',
  DU: 'DE',
  LA: 'LA',
  LE: 'LA',
  LOS: 'LA',
  LAS: 'LA',
  VAN: 'VAN',
  VON: 'VAN',
  DER: 'DER',
  DEN: 'DER',
  TER: 'DER',
  THE: 'THE',
  OF: 'OF',
  AND: 'AND',
  FOR: 'FOR',
  UND: 'AND',
  MR: 'MR',
  MRS: 'MR',
  MS: 'MR',
  MISS: 'MR',
  SIR: 'MR',
  MONSIEUR: 'MR',
  MADAME: 'MR',
  HERR: 'MR',
  FRAU: 'MR',
  DR: 'DR',
  PROF: 'DR',
  SHEIKH: 'SHEIKH',
  SHAIKH: 'SHEIKH',
  SHAYKH: 'SHEIKH',
  SHEIK: 'SHEIKH',
  HAJI: 'HAJI',
  HAJJI: 'HAJI',
  HADJI: 'HAJI',
  MULLAH: 'MULLAH',
  MULLA: 'MULLAH',
  MAULVI: 'MULLAH',
  MAWLAWI: 'MULLAH',
  PRESIDENT: 'PRESIDENT',
  PRASIDENT: 'PRESIDENT',
  MV: 'MV',
};

/**
 * Words that describe what an organisation does or is: shared by thousands of list names, so a
 * match on them proves little; a mismatch still counts, at their lower weight.
 */
export const GENERIC_WORDS: ReadonlySet<string> = new Set([
  'BANK',
  'BANCO',
  'GROUP',
  'GRUPPA',
  'HOLDING',
  'HOLDINGS',
  'INTERNATIONAL',
  'TRADING',
  'TRADE',
  'INDUSTRIES',
  'INDUSTRY',
  'INDUSTRIAL',
  'SERVICES',
  'SERVICE',
  'SOLUTIONS',
  'ENTERPRISE',
  'ENTERPRISES',
  'GLOBAL',
  'NATIONAL',
  'TRUST',
  'FUND',
  'CAPITAL',
  'PARTNERS',
  'INVESTMENT',
  'INVESTMENTS',
  'MANAGEMENT',
  'FINANCE',
  'FINANCIAL',
  'SECURITIES',
  'TECHNOLOGY',
  'TECHNOLOGIES',
  'SYSTEMS',
  'ENERGY',
  'SHIPPING',
  'LOGISTICS',
  'CONSTRUCTION',
  'ENGINEERING',
  'DEVELOPMENT',
  'FOUNDATION',
  'ORGANIZATION',
  'ORGANISATION',
  'ASSOCIATION',
  'AGENCY',
  'COMMERCIAL',
  'BUSINESS',
  'MANUFACTURING',
  'PLANT',
  'ZAVOD',
  'KOMPANIYA',
  'OBSHCHESTVO',
]);

/** Abbreviations written out before comparison, so INT'L meets INTERNATIONAL. */
export const ABBREVIATIONS: Readonly<Record<string, string>> = {
  INTL: 'INTERNATIONAL',
  NATL: 'NATIONAL',
  MFG: 'MANUFACTURING',
  DEPT: 'DEPARTMENT',
  ASSN: 'ASSOCIATION',
  BROS: 'BROTHERS',
  SVCS: 'SERVICES',
  TECH: 'TECHNOLOGY',
};

const UNITS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    ZERO: 0,
    ONE: 1,
    TWO: 2,
    THREE: 3,
    FOUR: 4,
    FIVE: 5,
    SIX: 6,
    SEVEN: 7,
    EIGHT: 8,
    NINE: 9,
    TEN: 10,
    ELEVEN: 11,
    TWELVE: 12,
    THIRTEEN: 13,
    FOURTEEN: 14,
    FIFTEEN: 15,
    SIXTEEN: 16,
    SEVENTEEN: 17,
    EIGHTEEN: 18,
    NINETEEN: 19,
    FIRST: 1,
    SECOND: 2,
    THIRD: 3,
    FOURTH: 4,
    FIFTH: 5,
    SIXTH: 6,
    SEVENTH: 7,
    EIGHTH: 8,
    NINTH: 9,
    TENTH: 10,
  }),
);

const TENS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    TWENTY: 20,
    THIRTY: 30,
    FORTY: 40,
    FIFTY: 50,
    SIXTY: 60,
    SEVENTY: 70,
    EIGHTY: 80,
    NINETY: 90,
  }),
);

const ORDINAL = /^(\d+)(ST|ND|RD|TH)$/;

/** English number words become digits so that "Brigade Forty-Four" meets "Brigade 44". */
export function numberWordValue(word: string): { value: number; tens: boolean } | null {
  const unit = UNITS.get(word);
  if (unit !== undefined) return { value: unit, tens: false };
  const tens = TENS.get(word);
  if (tens !== undefined) return { value: tens, tens: true };
  const first = word.charCodeAt(0);
  if (first < 48 || first > 57) return null;
  const ordinal = ORDINAL.exec(word);
  return ordinal ? { value: Number(ordinal[1]), tens: false } : null;
}
