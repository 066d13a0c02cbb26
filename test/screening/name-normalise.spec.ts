import { strict as assert } from 'node:assert';
import { MAX_TOKENS, normaliseName, type NameToken } from '../../src/screening/name-normalise';

function tokens(name: string): NameToken[] {
  return normaliseName(name).tokens;
}

/** Each token as kind:firstKey, the form the scorer compares. */
function shape(name: string): string[] {
  return tokens(name).map((t) => `${t.kind}:${t.keys[0]}`);
}

function keysOf(name: string): string[][] {
  return tokens(name).map((t) => t.keys);
}

describe('name normalisation', () => {
  describe('Cyrillic transliteration', () => {
    it('reads Kazakh letters and the Kazakh legal form of an LLP', () => {
      assert.deepEqual(shape('ТОО Сбер Восток'), ['legal-form:LLP', 'word:SBER', 'word:VOSTOK']);
      assert.deepEqual(shape('SBER VOSTOK LLP'), ['word:SBER', 'word:VOSTOK', 'legal-form:LLP']);
      // Қ and Ұ have Russian-style and Kazakh-Latin readings (K/Q folded together).
      assert.deepEqual(shape('Қасым-Жомарт Тоқаев'), ['word:KASIM', 'word:JOMART', 'word:TOKAIEV']);
      assert.ok(keysOf('Тоқаев')[0].includes('TOKAEV'));
      assert.ok(keysOf('Тұқаев')[0].includes('TUKAEV'));
      // Ң: N in the Russian style, NG in the Kazakh Latin alphabet; both kept.
      assert.ok(keysOf('Жаңа')[0].includes('JANA') && keysOf('Жаңа')[0].includes('JANGA'));
      // Ә Ғ Ө Ү Һ І
      assert.deepEqual(shape('Әлихан Ғабит Өмір Үкібай Һ'), [
        'word:ALIHAN',
        'word:GABIT',
        'word:OMIR',
        'word:UKIBAI',
        'initial:H',
      ]);
    });

    it('keeps the romanisations that differ (BGN, ICAO passports, popular English)', () => {
      const [yevgeny] = tokens('Евгений');
      assert.equal(yevgeny.text, 'YEVGENIY');
      // Ye-/E- and -iy/-ii/-y all fold to one key.
      assert.deepEqual(yevgeny.keys, ['EVGENI']);
      const [yulia, yakovlev] = tokens('Юлия Яковлев');
      assert.equal(yulia.text, 'YULIYA');
      assert.deepEqual(yulia.keys, ['IULIA']);
      assert.equal(yakovlev.text, 'YAKOVLEV');
      // Щ→SHCH, Ц→TS, Х→KH/H, Ж→ZH/J, ъ and ь dropped
      assert.deepEqual(shape('Щукин Цой Жуков Подъячев Ильич'), [
        'word:SHUKIN',
        'word:TSOI',
        'word:JUKOV',
        'word:PODIACHEV',
        'word:ILICH',
      ]);
      assert.deepEqual(keysOf('Хрущёв')[0], ['HRUSHIOV', 'HRUSHEV']);
      // Ё → YO (BGN, popular) and E (ICAO): both readings
      assert.deepEqual(keysOf('Ёлкин')[0], ['IOLKIN', 'ELKIN']);
      // -ий/-ый endings: -IY (BGN), -II (ICAO), -Y (popular English) all meet.
      assert.deepEqual(shape('Зеленский Великий Новгород'), [
        'word:ZELENSKI',
        'word:VELIKI',
        'word:NOVGOROD',
      ]);
      assert.deepEqual(shape('Zelenskyy Velikii Veliky Zelenskiy'), [
        'word:ZELENSKI',
        'word:VELIKI',
        'word:VELIKI',
        'word:ZELENSKI',
      ]);
    });

    it('reads Ukrainian and Belarusian letters', () => {
      // Ukrainian: Г→H, И→Y, І→I, Ї→YI, Є→YE
      assert.deepEqual(shape('Володимир Зеленський'), ['word:VOLODIMIR', 'word:ZELENSKI']);
      assert.equal(tokens('Григорій')[0].text, 'HRYHORIY');
      // Київ: KYYIV and Kyiv fold alike (Y→I, doubled letters collapse).
      assert.deepEqual(keysOf('Київ'), keysOf('Kyiv'));
      // Belarusian: Ў→W, Г→H
      assert.equal(tokens('Аляксандр Лукашэнка Ўладзімір')[2].text, 'WLADZIMIR');
      assert.deepEqual(shape('Аляксандр Лукашэнка'), ['word:ALIAKSANDR', 'word:LUKASHENKA']);
    });

    it('reads Serbian Cyrillic with and without carons', () => {
      assert.deepEqual(keysOf('Вучић')[0], ['VUCIC', 'VUCHICH']);
    });
  });

  describe('Georgian, Armenian and Greek', () => {
    it('romanises Georgian (national system) and Armenian (BGN)', () => {
      assert.deepEqual(shape('ბარაკ ობამა'), ['word:BARAK', 'word:OBAMA']);
      assert.deepEqual(shape('Բարակ Օբամա'), ['word:BARAK', 'word:OBAMA']);
      // Georgian capitals (Mtavruli) read like the small letters.
      assert.deepEqual(shape('ᲑᲐᲠᲐᲙ'), ['word:BARAK']);
      assert.deepEqual(shape('თბილისი'), ['word:TBILISI']);
      assert.deepEqual(shape('Երևան'), shape('Yerevan'));
    });

    it('romanises Greek', () => {
      assert.deepEqual(shape('Κυριάκος Μητσοτάκης'), ['word:KIRIAKOS', 'word:MITSOTAKIS']);
    });
  });

  describe('Latin script', () => {
    it('folds diacritics, and spells out umlauts and carons as a second reading', () => {
      assert.deepEqual(shape('Şahin Erdoğan Øster Straße Ånström'), [
        'word:SAHIN',
        'word:ERDOGAN',
        'word:OSTER',
        'word:STRASE',
        'word:ANSTROM',
      ]);
      assert.deepEqual(keysOf('Müller')[0], ['MULER', 'MUELER']);
      assert.deepEqual(keysOf('Babiš')[0], ['BABIS', 'BABISH']);
    });

    it('folds spellings that romanisations disagree on', () => {
      assert.deepEqual(shape('Wladimir Sergej Khan Kuznetsov Qaddafi Alexander'), [
        'word:VLADIMIR',
        'word:SERGEI',
        'word:HAN',
        'word:KUZNETSOV',
        'word:KADAFI',
        'word:ALEKSANDER',
      ]);
    });

    it('removes apostrophes inside words and splits on other punctuation', () => {
      assert.deepEqual(shape("Al-Qa'ida"), ['particle:AL', 'word:KAIDA']);
      assert.deepEqual(shape('Smith,John;Doe/Ltd.'), [
        'word:SMIT',
        'word:JOHN',
        'word:DOE',
        'legal-form:LTD',
      ]);
    });
  });

  describe('legal forms', () => {
    it('maps legal forms across languages to one canonical form, and never drops them', () => {
      const llc = [
        'ООО',
        'OOO',
        'o.O.O.',
        'LLC',
        'L.L.C.',
        'Limited Liability Company',
        'Общество с ограниченной ответственностью',
      ];
      for (const form of llc) assert.deepEqual(shape(`${form} Ромашка`)[0], 'legal-form:LLC', form);
      const table: [string, string][] = [
        ['ЗАО', 'CJSC'],
        ['ZAO', 'CJSC'],
        ['ОАО', 'OJSC'],
        ['OAO', 'OJSC'],
        ['Open Joint Stock Company', 'OJSC'],
        ['ПАО', 'PJSC'],
        ['PAO', 'PJSC'],
        ['АО', 'JSC'],
        ['AO', 'JSC'],
        ['Joint-Stock Company', 'JSC'],
        ['Акционерное общество', 'JSC'],
        ['ТОО', 'LLP'],
        ['TOO', 'LLP'],
        ['ИП', 'IP'],
        ['Ltd.', 'LTD'],
        ['Limited', 'LTD'],
        ['Inc', 'INC'],
        ['Incorporated', 'INC'],
        ['Corp.', 'CORP'],
        ['Corporation', 'CORP'],
        ['Co.', 'CO'],
        ['Company', 'CO'],
        ['GmbH', 'GMBH'],
        ['Gesellschaft mit beschränkter Haftung', 'GMBH'],
        ['AG', 'AG'],
        ['Aktiengesellschaft', 'AG'],
        ['S.A.', 'SA'],
        ['p.l.c.', 'PLC'],
      ];
      for (const [form, canonical] of table) {
        const legal = tokens(`Alpha ${form}`).filter((t) => t.kind === 'legal-form');
        assert.deepEqual(
          legal.map((t) => t.keys[0]),
          [canonical],
          form,
        );
      }
    });

    it('keeps the written form for explanations', () => {
      assert.equal(tokens('ТОО Сбер')[0].text, 'TOO');
      assert.equal(tokens('Alpha Limited Liability Company')[1].text, 'LIMITED LIABILITY COMPANY');
    });
  });

  describe('numbers, particles and initials', () => {
    it('keeps numbers as tokens, and reads English number words and ordinals as numbers', () => {
      assert.deepEqual(shape('11420 CORP.'), ['number:11420', 'legal-form:CORP']);
      assert.deepEqual(shape('Brigade Forty-Four'), ['word:BRIGADE', 'number:44']);
      assert.deepEqual(shape('1st International Bank'), [
        'number:1',
        'generic:INTERNATIONAL',
        'generic:BANK',
      ]);
      assert.deepEqual(shape('Plant 007'), ['generic:PLANT', 'number:7']);
    });

    it('classifies particles and titles, joining dotted abbreviations but not spaced initials', () => {
      assert.deepEqual(shape('Mr. Ali bin Salman al-Saud'), [
        'particle:MR',
        'word:ALI',
        'particle:BIN',
        'word:SALMAN',
        'particle:AL',
        'word:SAUD',
      ]);
      assert.deepEqual(shape('A.B.C. Company'), ['word:ABC', 'legal-form:CO']);
      assert.deepEqual(shape('J. P. Morgan'), ['initial:J', 'initial:P', 'word:MORGAN']);
    });
  });

  describe('look-alikes and invisible characters', () => {
    it('reads a Cyrillic letter inside a Latin word as its Latin look-alike', () => {
      // The А in SBERBАNK is Cyrillic (U+0410).
      assert.deepEqual(keysOf('SBERB\u0410NK'), keysOf('SBERBANK'));
      // Latin O and C inside a Cyrillic word are read as Cyrillic.
      assert.deepEqual(keysOf('ГАЗПР\u004FМ'), keysOf('ГАЗПРОМ'));
    });

    it('removes zero-width and other invisible characters', () => {
      assert.deepEqual(keysOf('S\u200BBER\u200DBANK\uFEFF \u00ADVOSTOK\u2060'), keysOf('SBERBANK VOSTOK'));
      assert.deepEqual(keysOf('\u202EGAZPROM\u202C'), keysOf('GAZPROM'));
    });

    it('reads full-width letters', () => {
      assert.deepEqual(keysOf('ＧＡＺＰＲＯＭ'), keysOf('GAZPROM'));
    });
  });

  describe('hostile input', () => {
    it('returns no tokens for empty or punctuation-only input', () => {
      for (const input of ['', '   ', '---', '...', '\u200B\u200B', '!!!???'])
        assert.deepEqual(tokens(input), []);
    });

    it('bounds the work on huge input', () => {
      const huge = 'A'.repeat(100_000);
      const words = Array.from({ length: 20_000 }, (_, i) => `W${i}X`).join(' ');
      const started = performance.now();
      assert.equal(tokens(huge).length, 1);
      assert.ok(tokens(words).length <= MAX_TOKENS);
      assert.ok(performance.now() - started < 200);
    });
  });
});
