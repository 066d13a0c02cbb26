import type { Rng } from './prng';

/**
 * Hostile text: Cyrillic (and Greek) look-alikes of Latin letters and back, invisible and
 * direction-changing characters, NUL, combining marks, and byte sequences that are not UTF-8 at
 * all — what someone would use to slip a listed name past screening or to break a parser.
 */

/** Latin letter → look-alikes in other scripts. */
const HOMOGLYPHS: Readonly<Record<string, readonly string[]>> = {
  a: ['а', 'ɑ', 'α'],
  c: ['с', 'ϲ'],
  e: ['е', 'ё', 'ε'],
  i: ['і', 'ı', 'ї'],
  j: ['ј'],
  o: ['о', 'ο', '0'],
  p: ['р', 'ρ'],
  s: ['ѕ'],
  x: ['х', 'χ'],
  y: ['у', 'ү'],
  A: ['А', 'Α'],
  B: ['В', 'Β'],
  C: ['С'],
  E: ['Е', 'Ε'],
  H: ['Н', 'Η'],
  I: ['І', 'Ι', 'Ӏ', 'l'],
  K: ['К', 'Κ', 'Қ'],
  M: ['М', 'Μ'],
  O: ['О', 'Ο', '0', 'Ө'],
  P: ['Р', 'Ρ'],
  S: ['Ѕ'],
  T: ['Т', 'Τ'],
  X: ['Х', 'Χ'],
  Y: ['У', 'Υ', 'Ү'],
};
const REVERSE: Record<string, string> = {};
for (const [latin, others] of Object.entries(HOMOGLYPHS)) for (const o of others) REVERSE[o] ??= latin;

/** Zero-width and invisible characters. */
export const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u180E', '\u034F'];
/** Bidirectional controls: embeddings, overrides, isolates, marks. */
export const BIDI = [
  '\u202A',
  '\u202B',
  '\u202C',
  '\u202D',
  '\u202E',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200E',
  '\u200F',
  '\u061C',
];
const COMBINING = ['\u0301', '\u0308', '\u0327', '\u0336', '\u20DD'];
const ODD = [
  '\u0000',
  '\uFFFD',
  '\uFFFF',
  '\u{10FFFF}',
  '\u{1F4B0}',
  'ﬁ',
  'Ａ',
  '𝐀',
  '\r\n',
  '\t',
  '\\',
  '"',
  "'",
  '%s',
  '${x}',
];

/** Sample names in the scripts the corridor uses, a few of them deliberately close to each other. */
const NAMES = [
  'TOO Caravan Test Trading',
  'ТОО Караван Тест Трейдинг',
  'OOO Volga Test Supplies',
  'ООО Волга Тест Саплайз',
  'Ivan Petrovich Sidorov',
  'Иван Петрович Сидоров',
  'Қазақ Өнімдері ЖШС',
  'AO Argument Bank',
  'JSCARGUMENT',
  'Roga i Kopyta TOO',
  'Mohammed Al-Rashid',
  'საქართველოს ბანკი',
  'Հայաստանի Բանկ',
];

/** A string for a field, shaped by its name. */
export function fieldText(rng: Rng, fieldName: string): string {
  const name = fieldName.toLowerCase();
  if (rng.chance(0.15)) return hostileText(rng);
  if (name.includes('uetr')) return rng.chance(0.8) ? rng.uuid() : rng.uuid().toUpperCase();
  if (name.includes('bic') || name.endsWith('agent'))
    return rng.pick(['HSBKKZKX', 'RZBMRUMM', 'HSBKKZKXXXX', 'FUZZKZKA']);
  if (name.includes('iban'))
    return rng.pick(['KZ86125KZT5004100100', 'KZ86 125K ZT50 0410 0100', 'GB82WEST12345698765432']);
  if (name.includes('country')) return rng.pick(['KZ', 'RU', 'GE', 'AM', 'KP', 'kz', 'ZZ']);
  if (name.includes('currency')) return rng.pick(['KZT', 'RUB', 'USD', 'USDT', 'BTC', 'ETH', 'XXX', 'kzt']);
  if (name === 'value' || name.includes('amount'))
    return rng.pick(['125000.50', '0.01', '1e5', '-1', '0', '999999999999999999.99']);
  if (name.includes('name') || name === 'subject' || name === 'comment' || name === 'note')
    return confusable(rng, rng.pick(NAMES));
  if (name === 'list')
    return rng.pick(['fuzz-names', 'fuzz-ids', 'card-schemes', 'ofac-sdn', 'Bad List!', '']);
  if (name.includes('trace')) return rng.bytes(16).toString('hex');
  if (name === 'service' || name.includes('symbol') || name === 'filename' || name.includes('type'))
    return rng.pick([
      '',
      'caravan.settlement.v1.SettlementGateway',
      'caravan.compliance.v1.Compliance',
      'caravan.settlement.v1.SettlementReceiver',
      'caravan/settlement/v1/gateway.proto',
      'grpc.health.v1.Health',
      '.caravan.settlement.v1.Party',
      'google.protobuf.Timestamp',
    ]);
  return rng.pick([
    '',
    'x',
    'SUPP',
    'INV-2025-0042',
    '2025-03-14',
    'MIR',
    '2200',
    '1234',
    rng.bytes(6).toString('hex'),
  ]);
}

/** Swaps letters for look-alikes, inserts invisible, bidi and combining characters and NUL. */
export function confusable(rng: Rng, text: string): string {
  const chars = [...text];
  const out: string[] = [];
  const swapShare = rng.pick([0, 0.1, 0.5, 1]);
  const insertShare = rng.pick([0, 0.05, 0.2]);
  for (const ch of chars) {
    const look = HOMOGLYPHS[ch];
    const back = REVERSE[ch];
    if (look !== undefined && rng.chance(swapShare)) out.push(rng.pick(look));
    else if (back !== undefined && rng.chance(swapShare)) out.push(back);
    else out.push(ch);
    if (rng.chance(insertShare)) out.push(rng.pick([...INVISIBLE, ...BIDI, ...COMBINING, '\u0000']));
  }
  if (rng.chance(0.3)) out.unshift(rng.pick(BIDI));
  if (rng.chance(0.2)) out.push(rng.pick(INVISIBLE));
  return out.join('');
}

/** A short hostile string on its own. */
export function hostileText(rng: Rng): string {
  const n = rng.range(1, 12);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(
      rng.weighted<string>([
        [3, rng.pick(INVISIBLE)],
        [3, rng.pick(BIDI)],
        [2, rng.pick(COMBINING)],
        [2, rng.pick(ODD)],
        [3, confusable(rng, rng.pick(NAMES))],
      ]),
    );
  }
  return parts.join('');
}

/** Byte sequences that no UTF-8 decoder may accept as text. */
const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0x80]), // overlong NUL
  Buffer.from([0xc1, 0xbf]), // overlong
  Buffer.from([0xe0, 0x80, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // lone high surrogate
  Buffer.from([0xed, 0xbf, 0xbf]), // lone low surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), // 5-byte form
  Buffer.from([0x80]), // continuation without a lead
  Buffer.from([0xe2, 0x82]), // truncated
  Buffer.from([0xd0]), // truncated Cyrillic lead byte
];

/** UTF-8 text with invalid sequences spliced in (or on its own). */
export function invalidUtf8(rng: Rng, around: Buffer): Buffer {
  const parts: Buffer[] = [];
  const n = rng.range(1, 6);
  let rest = around;
  for (let i = 0; i < n; i++) {
    const cut = rng.int(rest.length + 1);
    parts.push(rest.subarray(0, cut), rng.pick(INVALID_UTF8));
    rest = rest.subarray(cut);
  }
  parts.push(rest);
  return Buffer.concat(parts);
}
