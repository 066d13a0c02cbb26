import { strict as assert } from 'node:assert';
import path from 'node:path';
import { DEFAULT_REVIEW_THRESHOLD as T, scoreNames, type SchemaHint } from '../../src/screening/name-score';
import { readCsvRecords } from '../support/screening-csv';

const DERIVED = path.join(__dirname, '..', 'fixtures', 'sanctions', 'derived');

function score(a: string, b: string, schema?: SchemaHint): number {
  return scoreNames(a, b, schema).score;
}

function assertMatch(a: string, b: string, schema?: SchemaHint): void {
  const result = scoreNames(a, b, schema);
  assert.ok(result.score >= T, `${a} / ${b}: ${result.score} < ${T} ${JSON.stringify(result.pairs)}`);
}

function assertNoMatch(a: string, b: string, schema?: SchemaHint): void {
  const result = scoreNames(a, b, schema);
  assert.ok(result.score < T, `${a} / ${b}: ${result.score} ≥ ${T} ${JSON.stringify(result.pairs)}`);
}

describe('name scoring', () => {
  it('scores identical names 1 and is in [0, 1]', () => {
    assert.equal(score('Bank Melli Iran', 'BANK MELLI IRAN'), 1);
    assert.equal(score('Vladimir Putin', 'Donald Duck'), 0);
    for (const [a, b] of [
      ['Ali', 'Ali Hassan Mohammed'],
      ['X', 'Y'],
      ['ООО Ромашка', 'LLC Romashka'],
    ]) {
      const s = score(a, b);
      assert.ok(s >= 0 && s <= 1, `${a}/${b}: ${s}`);
    }
  });

  describe('Kazakh and Russian Cyrillic against Latin listings', () => {
    it('matches Kazakh legal forms and letters', () => {
      assertMatch('ТОО Сбер Восток', 'SBER VOSTOK LLP', 'entity');
      assertMatch('ТОО «Сбер Восток»', 'TOO SBER VOSTOK', 'entity');
      assertMatch('АО Банк ВТБ (Казахстан)', 'BANK VTB KAZAKHSTAN JSC', 'entity');
      assertMatch('Қасым-Жомарт Тоқаев', 'Kassym-Jomart Tokayev', 'person');
      assertMatch('Тұқаев Қасым-Жомарт', 'TOKAYEV, Kassym-Jomart', 'person');
      assertMatch('ООО Оборонные инициативы', 'OBORONNYE INITSIATIVY OOO', 'entity');
      assertMatch('Ротенберг Аркадий Романович', 'ROTENBERG, Arkady Romanovich', 'person');
    });

    it('matches most Cyrillic original-script names of the UN list to their Latin names', () => {
      const rows = readCsvRecords(path.join(DERIVED, 'un_original_script_name_pairs.csv')).filter(
        (r) => r.script === 'Cyrillic',
      );
      assert.equal(rows.length, 11);
      const matched = rows.filter(
        (r) =>
          score(r.original_script_name, r.latin_name, r.kind === 'individual' ? 'person' : 'entity') >= T,
      );
      // The one miss translates rather than transliterates: KHATIBA AL-TAWHID WAL-JIHAD (KTJ).
      assert.ok(matched.length >= 10, `${matched.length}/11`);
      assertMatch('Умаров Доку Хаматович', 'DOKU KHAMATOVICH UMAROV', 'person');
    });

    it('matches Belarusian and Russian spellings of the same person (OFAC aliases)', () => {
      assertMatch('LUKASHENKA, Alyaksandr Ryhorovich', 'LUKASHENKO, Aleksandr Grigorevich', 'person');
      const rows = readCsvRecords(path.join(DERIVED, 'ofac_russia_alias_pairs.csv')).filter(
        (r) => r.sdn_type === 'individual' && r.alias_type === 'aka',
      );
      assert.ok(rows.length > 1500);
      const matched = rows.filter((r) => score(r.alias_name, r.primary_name, 'person') >= T).length;
      // Measured 0.889: the rest are other name forms (Ryhor / Grigory, Mikola / Nikolai) or
      // aliases that drop names.
      assert.ok(matched / rows.length >= 0.85, `${matched}/${rows.length}`);
    });
  });

  describe('numbers and legal forms', () => {
    it('does not match a numbered company to other numbers or to its legal form alone', () => {
      assertMatch('11420 CORP.', '11420 Corporation', 'entity');
      assertNoMatch('11420 CORP.', '11421 CORP.', 'entity');
      assertNoMatch('11420 CORP.', '11240 CORP.', 'entity');
      assertNoMatch('11420 CORP.', 'CORP', 'entity');
      assertNoMatch('CORP', '11420 CORP.', 'entity');
      for (const name of ['ACME CORP.', 'ZAO CORPORATION', 'CORP. OF AMERICA', 'DELTA CORP']) {
        assertNoMatch('11420 CORP.', name, 'entity');
      }
    });

    it('costs more for a different digit than for a different letter', () => {
      assert.ok(score('Zvezda 7', 'Zvezda 8') < score('Zvezda 7', 'Zvezdo 7'));
    });

    it('does not match on legal forms, particles or generic words alone', () => {
      assertNoMatch('ООО Ромашка', 'OOO Vasilek', 'entity');
      assertNoMatch('LLC', 'LIMITED LIABILITY COMPANY ISKUSSTVO KRASOTY', 'entity');
      assertNoMatch('Trading Company LLC', 'Trading Company LLC', 'entity');
      assertNoMatch('Al Bin', 'Al Bin', 'person');
    });

    it('treats legal forms as low-weight tokens that translations may swap', () => {
      assertMatch('OAO Gazprom', 'Gazprom JSC', 'entity');
      assertMatch('Gazprom', 'PAO Gazprom', 'entity');
      assertMatch('Iskusstvo Krasoty', 'LIMITED LIABILITY COMPANY ISKUSSTVO KRASOTY', 'entity');
    });
  });

  describe('token arrangement', () => {
    it('ignores token order', () => {
      assert.equal(score('Putin, Vladimir', 'Vladimir Putin'), 1);
      assert.equal(score('Умаров Доку', 'Doku Umarov'), 1);
    });

    it('matches tokens written together or apart', () => {
      assertMatch('JSCARGUMENT', 'JSC ARGUMENT', 'entity');
      assertMatch('ABDUL RAHMAN', 'ABDULRAHMAN', 'person');
      assertMatch('AbdulRahman Al Zahrani', 'Abdul Rahman AL-ZAHRANI', 'person');
      assertMatch('vanderbilt corp', 'van der bilt corp', 'entity');
      assertMatch('SiemensAG', 'Siemens AG', 'entity');
      const result = scoreNames('JSCARGUMENT', 'JSC ARGUMENT');
      assert.deepEqual(result.pairs, [{ query: 'JSCARGUMENT', candidate: 'JSC ARGUMENT', similarity: 1 }]);
    });

    it('tolerates typos, doubled letters and transliteration variants', () => {
      assertMatch('Vladmir Putin', 'Vladimir Putin', 'person');
      assertMatch('Wladimir Putin', 'Vladimir Putin', 'person');
      assertMatch('Mohamed bin Salman', 'Muhammad bin Salman', 'person');
      assertMatch('Moammar Qaddafi', 'Muammar Gaddafi', 'person');
      assertMatch('Wolodymyr Selenskyj', 'Volodymyr Zelenskyy', 'person');
    });

    it('does not match a different given name or surname', () => {
      assertNoMatch('Fidel Castro', 'Raul Castro', 'person');
      assertNoMatch('SADDAM HUSSEIN AL-DULAIMI', 'SADDAM HUSSEIN AL-TIKRITI', 'person');
      assertNoMatch('Frederik Richter', 'Frank Richter', 'person');
    });

    it('lets initials stand for given names of people only', () => {
      assertMatch('V. Putin', 'Vladimir Putin', 'person');
      assertNoMatch('A. Nazarbayev', 'Nursultan Nazarbayev', 'person');
      assert.ok(score('L Holding', 'Lima Holding', 'entity') < score('L Holding', 'Lima Holding', 'person'));
    });
  });

  describe('look-alikes and invisible characters', () => {
    it('matches a Cyrillic look-alike letter inside a Latin name', () => {
      assert.equal(score('SBERB\u0410NK', 'SBERBANK'), 1);
      assert.equal(score('SB\u0415RBANK', 'SBERBANK'), 1);
    });

    it('matches through zero-width and bidi characters', () => {
      assert.equal(score('S\u200BBER\u200CBANK', 'SBERBANK'), 1);
      assert.equal(score('\u202EGAZPROM\u202C', 'GAZPROM'), 1);
    });

    // Disguises found by an adversarial review of the normaliser (each scored 0–0.73 before).
    it('reads small capitals, Lisu letters and Greek capitals as the Latin letters they look like', () => {
      assert.equal(score('ꜱʙᴇʀʙᴀɴᴋ', 'SBERBANK'), 1);
      assert.equal(score('ᴠᴛʙ ʙᴀɴᴋ', 'VTB BANK'), 1);
      assertMatch('ꓢꓰꓚꓧꓲꓠ ꓲꓖꓳꓣ', 'SECHIN, Igor Ivanovich', 'person');
      assert.equal(score('VΤB BAΝK PUBLΙC JOΙNT SΤOCK COMPANΥ', 'VTB BANK PUBLIC JOINT STOCK COMPANY'), 1);
    });

    it('reads a word mostly or wholly in Cyrillic look-alikes as the Latin word it imitates, too', () => {
      assertMatch('ЅЕСНІN Igor', 'SECHIN, Igor Ivanovich', 'person');
      assert.equal(score('ЅВЕRВАNК OF RUSSIA', 'SBERBANK OF RUSSIA'), 1);
      assert.equal(score('СЕСОЕХ', 'CECOEX'), 1);
      assertMatch('KASENOV, Аdіlеt Zhаkуроvісh', 'KASENOV, Adilet Zhakypovich', 'person');
      // Its own reading stays: a Russian word is still read as Russian.
      assert.equal(score('СЕСОЕХ', 'SESOEKH'), 1);
    });

    it('reads symbols written for letters, and words spelled out letter by letter', () => {
      assertMatch('RO$NEFT TRADING', 'ROSNEFT TRADING S.A.', 'entity');
      assert.equal(score('SBERB@NK OF RUSSIA', 'SBERBANK OF RUSSIA'), 1);
      assert.equal(score('S B E R B A N K', 'SBERBANK'), 1);
      assertMatch('R O S N E F T TRADING', 'ROSNEFT TRADING S.A.', 'entity');
      assert.equal(score('SBER\u2800BANK', 'SBERBANK'), 1);
      // Three initials stay initials.
      assertNoMatch('J R R TOLKIEN', 'JRR TRADING');
    });

    it('meets Abdul-, Abdel- and Abd al- compounds written as one word or several', () => {
      assertMatch('Abdulhadi Aliraqi', 'AL-IRAQI, Abd al-Hadi', 'person');
      assertMatch('ABDELHADI AL-IRAQI', 'AL-IRAQI, Abd al-Hadi', 'person');
      assertMatch('ABDUL HADI', 'Abd al-Hadi', 'person');
    });
  });

  describe('explanations', () => {
    it('explains with tokens only', () => {
      const result = scoreNames('ТОО Сбер Восток Trading', 'SBER VOSTOK LLP');
      assert.deepEqual(
        [...result.pairs].sort((a, b) => a.query.localeCompare(b.query)),
        [
          { query: 'SBER', candidate: 'SBER', similarity: 1 },
          { query: 'TOO', candidate: 'LLP', similarity: 1 },
          { query: 'VOSTOK', candidate: 'VOSTOK', similarity: 1 },
        ],
      );
      assert.deepEqual(result.unmatchedQuery, ['TRADING']);
      assert.deepEqual(result.unmatchedCandidate, []);
    });
  });

  describe('hostile input', () => {
    it('returns 0 without throwing for empty, garbage and huge input', () => {
      const huge = 'Ж'.repeat(100_000);
      const wordy = Array.from({ length: 20_000 }, (_, i) => `word${i}`).join(' ');
      const started = performance.now();
      for (const input of ['', ' ', '\u0000\u0001', '@@@###', '\u200B', huge, wordy]) {
        const result = scoreNames(input, 'Vladimir Putin');
        assert.ok(result.score < T, JSON.stringify(input.slice(0, 20)));
        assert.ok(scoreNames('Vladimir Putin', input).score < T);
      }
      assert.ok(performance.now() - started < 500);
      assert.equal(score('', ''), 0);
    });
  });
});
