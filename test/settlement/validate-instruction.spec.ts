import assert from 'node:assert/strict';
import {
  Account,
  CardScheme,
  ChargeBearer,
  IdentifierType,
  Party,
  PartyIdentifier,
  SettlementInstruction,
} from '../../src/gen/caravan/settlement/v1/instruction';
import type { FieldViolation } from '../../src/settlement/errors';
import {
  canonicalInstruction,
  checkKzIdentificationNumber,
  checkLei,
  checkRuInn,
  checkRuOgrn,
  validateInstruction,
} from '../../src/settlement/validate-instruction';
import { samples, validInstruction } from '../support/instructions';

const PAN = '4111111111111111';
const LEI = '5493001KJTIIGC8Y1R12';
const ETH_ADDRESS = '0x52908400098527886E0F7030069857D2E4169EE7';
const MEGABYTE = 1024 * 1024;
/** Characters that draw nothing and are not control characters (U+0085 and the like are Cc). */
const INVISIBLE_NOT_CONTROL = [
  '\u180E', // Mongolian vowel separator
  '\u061C', // Arabic letter mark
  '\u{E0001}', // language tag
  '\u{E0041}', // tag letter A
  '\u{E007F}', // cancel tag
  '\u{E0002}', // unassigned, in the tag block
  '\u2028', // line separator
  '\u2029', // paragraph separator
  '\uFFF9', // interlinear annotation anchor
  '\uFFFA',
  '\uFFFB',
  '\u115F', // Hangul choseong filler
  '\u1160', // Hangul jungseong filler
  '\u3164', // Hangul filler
  '\uFFA0', // half-width Hangul filler
  '\u034F', // combining grapheme joiner
  '\u17B4', // Khmer inherent vowel
  '\u2800', // braille pattern blank
  '\u0600', // Arabic number sign (a format character)
  '\u{1D173}', // musical symbol begin beam (a format character)
];
/** The card number 4111 1111 1111 1111 as people hide it in text. */
const DISGUISED_PANS: Record<string, string> = {
  'Arabic-Indic digits':
    '\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661',
  'Persian digits in groups':
    '\u06F4\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1',
  'Devanagari digits':
    '\u096A\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967\u0967',
  'en dashes': '4111\u20131111\u20131111\u20131111',
  'em dashes': '4111\u20141111\u20141111\u20141111',
  dots: '4111.1111.1111.1111',
  slashes: '4111/1111/1111/1111',
  'doubled spaces': '4111  1111  1111  1111',
  'no-break spaces': '4111\u00A01111\u00A01111\u00A01111',
  'spaced dashes': '4111 - 1111 - 1111 - 1111',
  halves: '41111111 11111111',
};

function must<T>(value: T | undefined): T {
  assert.ok(value !== undefined && value !== null);
  return value;
}

function debtor(i: SettlementInstruction): Party {
  return must(i.debtor);
}

function creditor(i: SettlementInstruction): Party {
  return must(i.creditor);
}

function fields(violations: FieldViolation[]): string[] {
  return violations.map((v) => v.field);
}

/** Asserts exactly one violation, on `field`, and returns its description. */
function only(i: SettlementInstruction | undefined, field: string, description?: RegExp | string): string {
  const violations = validateInstruction(i);
  assert.deepEqual(fields(violations), [field], JSON.stringify(violations).slice(0, 2000));
  const got = must(violations[0]).description;
  if (typeof description === 'string') assert.equal(got, description);
  else if (description !== undefined) assert.match(got, description);
  return got;
}

function withDebtorAccount(kind: Account['kind']): SettlementInstruction {
  const i = validInstruction();
  debtor(i).account = { kind };
  return i;
}

function withDebtorIdentifiers(...identifiers: PartyIdentifier[]): SettlementInstruction {
  const i = validInstruction();
  debtor(i).identifiers = identifiers;
  return i;
}

function id(type: IdentifierType, value: string, issuerCountry = ''): PartyIdentifier {
  return { type, value, issuerCountry };
}

function wallet(network: string, address: string): Account['kind'] {
  return { $case: 'wallet', value: { network, address } };
}

function assertNoDescriptionContains(i: SettlementInstruction, secret: string): void {
  for (const v of validateInstruction(i)) {
    assert.ok(!v.description.includes(secret), `${v.field} echoes the value: ${v.description.slice(0, 200)}`);
  }
}

describe('validateInstruction', () => {
  describe('a valid instruction', () => {
    it('has no violations', () => {
      assert.deepEqual(validateInstruction(validInstruction()), []);
    });

    it('has no violations without its optional fields', () => {
      const i = validInstruction({ purpose: '', remittanceInformation: '', card: undefined });
      debtor(i).country = '';
      debtor(i).identifiers = [];
      creditor(i).identifiers = [];
      assert.deepEqual(validateInstruction(i), []);
    });

    it('has no violations when decoded from the proto JSON mapping', () => {
      const json = SettlementInstruction.toJSON(validInstruction());
      assert.deepEqual(validateInstruction(SettlementInstruction.fromJSON(json)), []);
    });

    it('accepts IBANs, crypto assets, 11-character BICs and a card', () => {
      const i = validInstruction({
        instructedAgent: { bic: 'BKKBGE22XXX' },
        creditorAgent: { bic: 'BKKBGE22XXX' },
        amount: { currency: 'USDT', value: '1500.123456' },
        card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: '41111111', last4: '1111' },
      });
      creditor(i).country = 'GE';
      creditor(i).account = { kind: { $case: 'iban', value: 'GE29NB0000000101904917' } };
      assert.deepEqual(validateInstruction(i), []);
    });

    it('accepts Cyrillic and Kazakh names up to 140 characters', () => {
      const i = validInstruction();
      debtor(i).name = 'ТОО «Қазақ Ғылыми Өнеркәсіп Ұйымы» — Әбдірахманов Ұлан Іңкәрұлы';
      creditor(i).name = 'Ж'.repeat(140);
      assert.deepEqual(validateInstruction(i), []);
    });

    it('counts characters as code points, not UTF-16 units', () => {
      const i = validInstruction();
      debtor(i).name = '𝔸'.repeat(140);
      assert.deepEqual(validateInstruction(i), []);
    });

    it('accepts every identifier type with valid values', () => {
      const i = withDebtorIdentifiers(
        id(IdentifierType.IDENTIFIER_TYPE_BIC, 'HSBKKZKX'),
        id(IdentifierType.IDENTIFIER_TYPE_LEI, LEI),
        id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, samples.kzBin, 'KZ'),
        id(IdentifierType.IDENTIFIER_TYPE_KZ_IIN, samples.kzIin),
        id(IdentifierType.IDENTIFIER_TYPE_RU_INN, samples.ruInn10),
        id(IdentifierType.IDENTIFIER_TYPE_RU_INN, '500100732259'),
        id(IdentifierType.IDENTIFIER_TYPE_RU_OGRN, samples.ruOgrn),
        id(IdentifierType.IDENTIFIER_TYPE_RU_OGRN, '304500116000157'),
        id(IdentifierType.IDENTIFIER_TYPE_PASSPORT, 'N12345678', 'KZ'),
        id(IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID, 'AB-1234567', 'GE'),
      );
      assert.deepEqual(validateInstruction(i), []);
    });

    it('accepts wallets on EVM, Bitcoin, Tron and other networks', () => {
      for (const kind of [
        wallet('ETH', ETH_ADDRESS),
        wallet('BSC', ETH_ADDRESS.toLowerCase()),
        wallet('BASE', ETH_ADDRESS),
        wallet('BTC', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'),
        wallet('BTC', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'),
        wallet('BTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'),
        wallet('BTC', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'),
        wallet('TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'),
        wallet('TON', 'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2'),
        wallet('SOL', '9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM'),
      ]) {
        assert.deepEqual(validateInstruction(withDebtorAccount(kind)), [], JSON.stringify(kind));
      }
    });
  });

  describe('the instruction itself', () => {
    it('is required', () => {
      assert.deepEqual(validateInstruction(undefined), [
        { field: 'instruction', description: 'is required' },
      ]);
    });

    it('puts paths under the given root', () => {
      const i = validInstruction({ uetr: '' });
      assert.deepEqual(fields(validateInstruction(i, 'request.instruction')), ['request.instruction.uetr']);
      assert.deepEqual(fields(validateInstruction(undefined, 'request.instruction')), [
        'request.instruction',
      ]);
    });

    it('reports every missing required field of an empty message on the wire at once', () => {
      assert.deepEqual(fields(validateInstruction(SettlementInstruction.decode(new Uint8Array()))), [
        'instruction.uetr',
        'instruction.instruction_id',
        'instruction.end_to_end_id',
        'instruction.instructing_agent',
        'instruction.instructed_agent',
        'instruction.debtor',
        'instruction.debtor_agent',
        'instruction.creditor',
        'instruction.creditor_agent',
        'instruction.amount',
        'instruction.settlement_date',
        'instruction.charge_bearer',
      ]);
    });

    it('reports several bad fields as several violations', () => {
      const i = validInstruction({ uetr: 'nope', purpose: 'supp', settlementDate: '2025-02-30' });
      debtor(i).name = '';
      creditor(i).account = { kind: { $case: 'iban', value: 'KZ87125KZT5004100100' } };
      must(i.amount).value = '1.001';
      assert.deepEqual(fields(validateInstruction(i)), [
        'instruction.uetr',
        'instruction.debtor.name',
        'instruction.creditor.account.iban',
        'instruction.amount.value',
        'instruction.settlement_date',
        'instruction.purpose',
      ]);
    });
  });

  describe('uetr', () => {
    it('is required', () => {
      only(validInstruction({ uetr: '' }), 'instruction.uetr', /is required: a lower-case UUID version 4/);
    });

    it('must be lower case and says why', () => {
      const i = validInstruction();
      i.uetr = i.uetr.toUpperCase();
      only(i, 'instruction.uetr', /must be lower case \(ISO 20022 and SWIFT/);
    });

    it('must be version 4', () => {
      only(
        validInstruction({ uetr: 'eb6305c9-1f7f-11de-aed0-16487c27b42d' }),
        'instruction.uetr',
        /got version 1/,
      );
    });

    it('must have the RFC 4122 variant', () => {
      only(
        validInstruction({ uetr: 'eb6305c9-1f7f-49de-ced0-16487c27b42d' }),
        'instruction.uetr',
        /8, 9, a or b/,
      );
    });

    it('must be in canonical form', () => {
      for (const uetr of [
        'eb6305c91f7f49deaed016487c27b42d',
        '{eb6305c9-1f7f-49de-aed0-16487c27b42d}',
        'eb6305c9-1f7f-49de-aed0-16487c27b42',
        ' eb6305c9-1f7f-49de-aed0-16487c27b42d',
      ]) {
        only(validInstruction({ uetr }), 'instruction.uetr', /canonical form/);
      }
    });
  });

  describe('instruction_id and end_to_end_id', () => {
    for (const [name, field] of [
      ['instructionId', 'instruction.instruction_id'],
      ['endToEndId', 'instruction.end_to_end_id'],
    ] as const) {
      it(`${field} is required`, () => {
        only(validInstruction({ [name]: '' }), field, /is required \(ISO 20022 Max35Text/);
      });

      it(`${field} takes 35 characters and refuses 36`, () => {
        assert.deepEqual(validateInstruction(validInstruction({ [name]: 'A'.repeat(35) })), []);
        only(validInstruction({ [name]: 'A'.repeat(36) }), field, /at most 35 characters .* got 36/);
      });

      it(`${field} refuses control and invisible characters`, () => {
        for (const value of ['REF\n1', 'REF\t1', 'REF\u00001', 'REF\u200B1', 'REF\u202E1']) {
          only(
            validInstruction({ [name]: value }),
            field,
            'must not contain invisible or control characters',
          );
        }
      });

      it(`${field} refuses leading and trailing whitespace`, () => {
        only(validInstruction({ [name]: ' REF1' }), field, /leading or trailing whitespace/);
        only(validInstruction({ [name]: 'REF1 ' }), field, /leading or trailing whitespace/);
      });

      it(`${field} refuses a card number without echoing it`, () => {
        const i = validInstruction({ [name]: 'REF 4111 1111 1111 1111' });
        only(i, field, /full card number \(PAN\)/);
        assertNoDescriptionContains(i, '411111');
      });

      it(`${field} refuses characters that draw nothing`, () => {
        for (const ch of INVISIBLE_NOT_CONTROL) {
          only(
            validInstruction({ [name]: `REF${ch}1` }),
            field,
            'must not contain invisible or control characters',
          );
        }
      });

      it(`${field} refuses a card number grouped with dots, slashes or dashes of any kind`, () => {
        for (const value of [
          '4111.1111.1111.1111',
          'REF 4111/1111/1111/1111',
          'R-4111\u20131111\u20131111\u20131111',
        ]) {
          const i = validInstruction({ [name]: value });
          only(i, field, /full card number \(PAN\)/);
          assertNoDescriptionContains(i, '1111');
        }
      });

      it(`${field} accepts a date and a sequence number that together pass Luhn`, () => {
        // 2025031412345672 passes Luhn; written in halves it is a reference, not a card.
        for (const value of ['HSBK-20250314-12345672', 'HSBK/20250314/12345672', '2025031412345672']) {
          assert.deepEqual(validateInstruction(validInstruction({ [name]: value })), [], value);
        }
      });
    }
  });

  describe('agents', () => {
    for (const [name, field] of [
      ['instructingAgent', 'instruction.instructing_agent'],
      ['instructedAgent', 'instruction.instructed_agent'],
      ['debtorAgent', 'instruction.debtor_agent'],
      ['creditorAgent', 'instruction.creditor_agent'],
    ] as const) {
      it(`${field} is required`, () => {
        only(validInstruction({ [name]: undefined }), field, /is required/);
      });

      it(`${field}.bic is required`, () => {
        only(validInstruction({ [name]: { bic: '' } }), `${field}.bic`, /is required/);
      });

      it(`${field}.bic must be a valid BIC`, () => {
        only(
          validInstruction({ [name]: { bic: 'HSBKKZKXX' } }),
          `${field}.bic`,
          'must be 8 or 11 characters (ISO 9362 BIC), got 9',
        );
        only(validInstruction({ [name]: { bic: 'hsbkkzkx' } }), `${field}.bic`, /upper case/);
        only(validInstruction({ [name]: { bic: 'HSBKQQKX' } }), `${field}.bic`, /unknown country code "QQ"/);
      });
    }
  });

  describe('parties', () => {
    it('debtor and creditor are required', () => {
      only(validInstruction({ debtor: undefined }), 'instruction.debtor', 'is required');
      only(validInstruction({ creditor: undefined }), 'instruction.creditor', 'is required');
    });

    describe('name', () => {
      it('is required and must not be blank', () => {
        const i = validInstruction();
        debtor(i).name = '';
        only(i, 'instruction.debtor.name', /is required \(ISO 20022 Max140Text/);
        debtor(i).name = '   ';
        only(i, 'instruction.debtor.name', 'must not be blank');
      });

      it('refuses 141 characters', () => {
        const i = validInstruction();
        creditor(i).name = 'Ж'.repeat(141);
        only(
          i,
          'instruction.creditor.name',
          'must be at most 140 characters (ISO 20022 Max140Text), got 141',
        );
      });

      it('refuses each invisible, format and bidi control character without echoing the name', () => {
        const hidden = [
          '\u00AD',
          '\u200B',
          '\u200C',
          '\u200D',
          '\u200E',
          '\u200F',
          '\u202A',
          '\u202B',
          '\u202C',
          '\u202D',
          '\u202E',
          '\u2060',
          '\u2061',
          '\u2062',
          '\u2063',
          '\u2064',
          '\u2066',
          '\u2067',
          '\u2068',
          '\u2069',
          '\uFEFF',
        ];
        for (const ch of hidden) {
          const i = validInstruction();
          debtor(i).name = `Sanctioned${ch} Trading LLP`;
          only(i, 'instruction.debtor.name', 'must not contain invisible or control characters');
          assertNoDescriptionContains(i, 'Sanctioned');
        }
      });

      it('refuses a right-to-left override that disguises the name', () => {
        const i = validInstruction();
        creditor(i).name = 'Volga \u202EPLL gnidarT\u202C';
        only(i, 'instruction.creditor.name', 'must not contain invisible or control characters');
      });

      it('refuses every character that draws nothing, not only the known zero-width ones', () => {
        for (const ch of INVISIBLE_NOT_CONTROL) {
          const i = validInstruction();
          creditor(i).name = `OOO Vol${ch}ga Test Supplies`;
          only(i, 'instruction.creditor.name', 'must not contain invisible or control characters');
          assertNoDescriptionContains(i, 'Volga');
        }
      });

      it('accepts the scripts of the corridor and beyond, marks and variation selectors included', () => {
        for (const name of [
          'Արմեն Պետրոսյան ՍՊԸ', // Armenian
          'სს საქართველოს ბანკი', // Georgian
          'شركة الخليج للتجارة', // Arabic
          'شرکت ملی نفت ایران', // Persian, without joiners
          'Ўзбекистон Миллий Банки', // Uzbek Cyrillic
          'Кыргыз Ынтымак Банкы', // Kyrgyz
          'टाटा स्टील लिमिटेड', // Devanagari, with combining vowel signs
          '삼성전자 주식회사', // Hangul syllables
          '渡邊\u{E0100}商事', // an ideographic variation sequence
          'Zoë Müller-Łukasiewicz',
        ]) {
          const i = validInstruction();
          creditor(i).name = name;
          assert.deepEqual(validateInstruction(i), [], name);
        }
      });

      it('refuses control characters', () => {
        for (const ch of ['\n', '\r', '\t', '\u0000', '\u001B', '\u007F', '\u0085']) {
          const i = validInstruction();
          debtor(i).name = `ACME${ch}LLP`;
          only(i, 'instruction.debtor.name', 'must not contain invisible or control characters');
        }
      });

      it('refuses a 1 MB name by its length without echoing it', () => {
        const i = validInstruction();
        debtor(i).name = 'A'.repeat(MEGABYTE);
        only(i, 'instruction.debtor.name', `must be at most 140 characters, got ${MEGABYTE}`);
      });

      it('refuses U+FFFD as invalid UTF-8', () => {
        const i = validInstruction();
        debtor(i).name = 'Caravan \uFFFD Trading';
        only(i, 'instruction.debtor.name', 'is not valid UTF-8');
      });

      it('refuses an unpaired surrogate as invalid UTF-8', () => {
        const i = validInstruction();
        debtor(i).name = 'Caravan \uD800 Trading';
        only(i, 'instruction.debtor.name', 'is not valid UTF-8');
      });

      it('refuses a card number in a name', () => {
        const i = validInstruction();
        debtor(i).name = 'John Smith 4111 1111 1111 1111';
        only(i, 'instruction.debtor.name', /full card number/);
        assertNoDescriptionContains(i, '4111');
      });

      it('refuses a card number in a name however it is written, without echoing it', () => {
        for (const [how, pan] of Object.entries(DISGUISED_PANS)) {
          const i = validInstruction();
          creditor(i).name = `OOO Volga ${pan}`;
          const description = only(i, 'instruction.creditor.name', /full card number/);
          assert.ok(!/[0-9\p{Nd}]/u.test(description), `${how}: ${description}`);
        }
      });
    });

    describe('country', () => {
      it('is optional', () => {
        const i = validInstruction();
        creditor(i).country = '';
        assert.deepEqual(validateInstruction(i), []);
      });

      it('must be an upper-case ISO 3166-1 alpha-2 code', () => {
        const cases: [string, RegExp][] = [
          ['kz', /must be upper case \("KZ"\)/],
          ['XX', /"XX" is not an ISO 3166-1 alpha-2 country code/],
          ['KAZ', /2 upper-case letters/],
          ['K', /2 upper-case letters/],
        ];
        for (const [country, description] of cases) {
          const i = validInstruction();
          debtor(i).country = country;
          only(i, 'instruction.debtor.country', description);
        }
      });
    });

    describe('account', () => {
      it('is required', () => {
        const i = validInstruction();
        debtor(i).account = undefined;
        only(i, 'instruction.debtor.account', /exactly one of iban, account_number or wallet/);
        creditor(i).account = { kind: undefined };
        assert.deepEqual(fields(validateInstruction(i)), [
          'instruction.debtor.account',
          'instruction.creditor.account',
        ]);
      });

      it('iban is checked as an IBAN', () => {
        only(
          withDebtorAccount({ $case: 'iban', value: 'KZ87125KZT5004100100' }),
          'instruction.debtor.account.iban',
          /check digits/,
        );
        only(
          withDebtorAccount({ $case: 'iban', value: 'KZ86 125K ZT50 0410 0100' }),
          'instruction.debtor.account.iban',
          /without spaces/,
        );
        only(
          withDebtorAccount({ $case: 'iban', value: '' }),
          'instruction.debtor.account.iban',
          /is required/,
        );
      });

      it('iban from a country without IBANs points to account_number', () => {
        only(
          withDebtorAccount({ $case: 'iban', value: 'KG21123456789012345678' }),
          'instruction.debtor.account.iban',
          /KG does not issue IBANs; send the domestic account number in account_number/,
        );
      });

      it('account_number accepts domestic formats', () => {
        for (const value of ['40702810938000012345', '1234567890123', 'ACC/001-22 (USD)', '22900123456']) {
          assert.deepEqual(
            validateInstruction(withDebtorAccount({ $case: 'accountNumber', value })),
            [],
            value,
          );
        }
      });

      it('account_number is required and at most 34 characters', () => {
        only(
          withDebtorAccount({ $case: 'accountNumber', value: '' }),
          'instruction.debtor.account.account_number',
          /is required/,
        );
        only(
          withDebtorAccount({ $case: 'accountNumber', value: '1'.repeat(35) }),
          'instruction.debtor.account.account_number',
          'must be at most 34 characters (ISO 20022 Max34Text), got 35',
        );
      });

      it('account_number refuses characters outside the SWIFT set and stray spaces', () => {
        for (const value of ['№ 12345', '12345\n', '12345_678', '1234\u200B5678']) {
          only(
            withDebtorAccount({ $case: 'accountNumber', value }),
            'instruction.debtor.account.account_number',
            /may contain only letters, digits/,
          );
        }
        only(
          withDebtorAccount({ $case: 'accountNumber', value: ' 12345' }),
          'instruction.debtor.account.account_number',
          /leading or trailing/,
        );
      });

      it('account_number refuses a card number without echoing it', () => {
        for (const value of ['4111-1111-1111-1111', '4111 1111 1111 1111']) {
          const i = withDebtorAccount({ $case: 'accountNumber', value });
          only(i, 'instruction.debtor.account.account_number', /full card number/);
          assertNoDescriptionContains(i, '4111');
        }
      });

      it('account_number accepts an unbroken 16-digit domestic account even when it passes Luhn', () => {
        // Armenian and Kyrgyz accounts are 16 unbroken digits; one in ten passes Luhn by chance.
        assert.deepEqual(validateInstruction(withDebtorAccount({ $case: 'accountNumber', value: PAN })), []);
      });

      it('account_number refuses a card number grouped with dots, slashes or doubled spaces', () => {
        for (const value of ['4111.1111.1111.1111', '4111/1111/1111/1111', '4111  1111  1111  1111']) {
          const i = withDebtorAccount({ $case: 'accountNumber', value });
          only(i, 'instruction.debtor.account.account_number', /full card number/);
          assertNoDescriptionContains(i, '4111');
        }
      });

      it('account_number accepts a 16-digit domestic account written in halves', () => {
        for (const value of ['41111111 11111111', '41111111-11111111']) {
          assert.deepEqual(
            validateInstruction(withDebtorAccount({ $case: 'accountNumber', value })),
            [],
            value,
          );
        }
      });

      describe('wallet', () => {
        it('requires a network and an address', () => {
          const i = withDebtorAccount(wallet('', ''));
          assert.deepEqual(fields(validateInstruction(i)), [
            'instruction.debtor.account.wallet.network',
            'instruction.debtor.account.wallet.address',
          ]);
        });

        it('requires the wallet itself', () => {
          const i = validInstruction();
          debtor(i).account = { kind: { $case: 'wallet', value: undefined as never } };
          only(i, 'instruction.debtor.account.wallet', /is required/);
        });

        it('network must be 2 to 12 upper-case letters or digits', () => {
          only(
            withDebtorAccount(wallet('eth', ETH_ADDRESS)),
            'instruction.debtor.account.wallet.network',
            'must be upper case ("ETH")',
          );
          for (const network of ['E', 'ETHEREUM-MAINNET', 'ETH ']) {
            only(
              withDebtorAccount(wallet(network, 'someaddress')),
              'instruction.debtor.account.wallet.network',
              /2 to 12/,
            );
          }
        });

        it('address must be printable ASCII without spaces, at most 128 characters', () => {
          only(
            withDebtorAccount(wallet('TON', 'EQ abc')),
            'instruction.debtor.account.wallet.address',
            /printable ASCII without spaces/,
          );
          only(
            withDebtorAccount(wallet('TON', 'EQабв')),
            'instruction.debtor.account.wallet.address',
            /printable ASCII/,
          );
          only(
            withDebtorAccount(wallet('TON', 'E'.repeat(129))),
            'instruction.debtor.account.wallet.address',
            /at most 128 characters, got 129/,
          );
          only(
            withDebtorAccount(wallet('TON', '\u{1D504}'.repeat(128))),
            'instruction.debtor.account.wallet.address',
            /printable ASCII/,
          );
        });

        it('EVM networks require 0x and 40 hex digits', () => {
          for (const network of ['ETH', 'BSC', 'POLYGON', 'ARB', 'OP', 'AVAXC', 'BASE']) {
            only(
              withDebtorAccount(wallet(network, ETH_ADDRESS.slice(0, -1))),
              'instruction.debtor.account.wallet.address',
              new RegExp(`must be a ${network} address: "0x" followed by 40 hex digits`),
            );
          }
          only(
            withDebtorAccount(wallet('ETH', ETH_ADDRESS.slice(2))),
            'instruction.debtor.account.wallet.address',
            /0x/,
          );
          only(
            withDebtorAccount(wallet('ETH', '0xZZ' + ETH_ADDRESS.slice(4))),
            'instruction.debtor.account.wallet.address',
            /0x/,
          );
        });

        it('BTC requires a mainnet base58 or bech32 address, bech32 not mixed-case', () => {
          for (const address of [
            'bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
            'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx',
            '0A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa',
            '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNO',
            ETH_ADDRESS,
          ]) {
            only(
              withDebtorAccount(wallet('BTC', address)),
              'instruction.debtor.account.wallet.address',
              /Bitcoin mainnet address/,
            );
          }
        });

        it('TRX requires T and 33 base58 characters', () => {
          for (const address of [
            'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6',
            'XR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
            'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60',
          ]) {
            only(
              withDebtorAccount(wallet('TRX', address)),
              'instruction.debtor.account.wallet.address',
              /Tron address/,
            );
          }
        });

        it('refuses an address that is a card number on any network, without echoing it', () => {
          for (const [network, address] of [
            ['XLM', PAN],
            ['TON', '4111-1111-1111-1111'],
            ['XRP', '4111.1111.1111.1111'],
            ['ETH', PAN],
            ['BTC', '4222222222222'],
          ]) {
            const i = withDebtorAccount(wallet(network, address));
            only(i, 'instruction.debtor.account.wallet.address', /full card number \(PAN\)/);
            assertNoDescriptionContains(i, address.slice(0, 6));
          }
        });

        it('accepts addresses holding a Luhn-valid digit run by chance', () => {
          // 529084000985271 passes Luhn; hex addresses hold such runs, and they are not card numbers.
          const raw = `0:ab529084000985271${'c'.repeat(47)}`;
          for (const kind of [
            wallet('TON', raw),
            wallet('XLM', 'GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7'),
            wallet('APT', `0x529084000985271${'d'.repeat(49)}`),
          ]) {
            assert.deepEqual(validateInstruction(withDebtorAccount(kind)), [], JSON.stringify(kind));
          }
        });
      });
    });

    describe('identifiers', () => {
      it('at most 10, and an over-long list is reported once', () => {
        const many = Array.from({ length: 11 }, () => id(IdentifierType.IDENTIFIER_TYPE_UNSPECIFIED, ''));
        only(
          withDebtorIdentifiers(...many),
          'instruction.debtor.identifiers',
          'must have at most 10 entries, got 11',
        );
        const tenValid = Array.from({ length: 10 }, () =>
          id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, samples.kzBin),
        );
        assert.deepEqual(validateInstruction(withDebtorIdentifiers(...tenValid)), []);
      });

      it('type is required and must be known', () => {
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_UNSPECIFIED, 'X1')),
          'instruction.debtor.identifiers[0].type',
          /is required: one of IDENTIFIER_TYPE_BIC/,
        );
        only(
          withDebtorIdentifiers(id(99 as IdentifierType, 'X1')),
          'instruction.debtor.identifiers[0].type',
          /unknown value 99/,
        );
        only(
          withDebtorIdentifiers(id(IdentifierType.UNRECOGNIZED, 'X1')),
          'instruction.debtor.identifiers[0].type',
          /unknown value -1/,
        );
      });

      it('value is required and reported at its index', () => {
        only(
          withDebtorIdentifiers(
            id(IdentifierType.IDENTIFIER_TYPE_BIC, 'HSBKKZKX'),
            id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, ''),
          ),
          'instruction.debtor.identifiers[1].value',
          'is required',
        );
      });

      it('a missing type and a missing value are both reported', () => {
        assert.deepEqual(
          fields(
            validateInstruction(withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_UNSPECIFIED, ''))),
          ),
          ['instruction.debtor.identifiers[0].type', 'instruction.debtor.identifiers[0].value'],
        );
      });

      it('BIC is checked as a BIC', () => {
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_BIC, 'HSBKKZ')),
          'instruction.debtor.identifiers[0].value',
          /8 or 11 characters/,
        );
      });

      it('LEI has 20 characters and mod-97 check digits', () => {
        // 5493001KJTIIGC8Y1R12 read as digits (A=10 ... Z=35) is 1 modulo 97, as for an IBAN.
        const digits = Array.from(LEI, (c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join('');
        assert.equal(BigInt(digits) % 97n, 1n);
        assert.equal(checkLei(LEI), null);
        const path = 'instruction.debtor.identifiers[0].value';
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_LEI, '5493001KJTIIGC8Y1R13')),
          path,
          /wrong check digits \(ISO 17442 LEI/,
        );
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_LEI, LEI.slice(1))),
          path,
          /20 characters \(ISO 17442 LEI\), got 19/,
        );
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_LEI, LEI.toLowerCase())),
          path,
          /upper case/,
        );
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_LEI, '5493001KJTIIGC8Y1RAB')),
          path,
          /2 check digits/,
        );
      });

      describe('Kazakhstan IIN and BIN', () => {
        it('accepts numbers whose check digit comes from the first weights (1..11)', () => {
          // BIN 940140000385: 9·1 + 4·2 + 0·3 + 1·4 + 4·5 + 0·6 + 0·7 + 0·8 + 0·9 + 3·10 + 8·11 = 159; 159 mod 11 = 5.
          assert.equal(9 * 1 + 4 * 2 + 1 * 4 + 4 * 5 + 3 * 10 + 8 * 11, 159);
          assert.equal(159 % 11, Number(samples.kzBin[11]));
          // IIN 900101300017: 9·1 + 1·4 + 1·6 + 3·7 + 1·11 = 51; 51 mod 11 = 7.
          assert.equal((9 * 1 + 1 * 4 + 1 * 6 + 3 * 7 + 1 * 11) % 11, Number(samples.kzIin[11]));
          assert.equal(checkKzIdentificationNumber(samples.kzBin, 'Kazakhstan BIN'), null);
          assert.equal(checkKzIdentificationNumber(samples.kzIin, 'Kazakhstan IIN'), null);
        });

        it('accepts a number whose check digit needs the second weights (3..11, 1, 2)', () => {
          // IIN 880715301804: first pass 8·1 + 8·2 + 7·4 + 1·5 + 5·6 + 3·7 + 1·9 + 8·10 = 197, 197 mod 11 = 10;
          // second pass 8·3 + 8·4 + 7·6 + 1·7 + 5·8 + 3·9 + 1·11 + 8·1 = 191, 191 mod 11 = 4.
          assert.equal((8 * 1 + 8 * 2 + 7 * 4 + 1 * 5 + 5 * 6 + 3 * 7 + 1 * 9 + 8 * 10) % 11, 10);
          assert.equal((8 * 3 + 8 * 4 + 7 * 6 + 1 * 7 + 5 * 8 + 3 * 9 + 1 * 11 + 8 * 1) % 11, 4);
          assert.deepEqual(
            validateInstruction(
              withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_IIN, '880715301804')),
            ),
            [],
          );
          only(
            withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_IIN, '880715301800')),
            'instruction.debtor.identifiers[0].value',
            'has a wrong check digit (Kazakhstan IIN)',
          );
        });

        it('refuses 11 digits for which no check digit exists', () => {
          // 10000190056: first pass 1·1 + 1·6 + 9·7 + 5·10 + 6·11 = 186 ≡ 10; second 1·3 + 1·8 + 9·9 + 5·1 + 6·2 = 109 ≡ 10.
          assert.equal((1 + 6 + 63 + 50 + 66) % 11, 10);
          assert.equal((3 + 8 + 81 + 5 + 12) % 11, 10);
          for (let last = 0; last <= 9; last++) {
            only(
              withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, `10000190056${last}`)),
              'instruction.debtor.identifiers[0].value',
              /is not a valid Kazakhstan BIN: no check digit exists/,
            );
          }
        });

        it('refuses a wrong check digit and a wrong length', () => {
          const path = 'instruction.debtor.identifiers[0].value';
          only(
            withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, '940140000386')),
            path,
            'has a wrong check digit (Kazakhstan BIN)',
          );
          only(
            withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, '94014000038')),
            path,
            'must be 12 digits (Kazakhstan BIN), got 11 digits',
          );
          only(
            withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_IIN, '9001013000-7')),
            path,
            /12 digits \(Kazakhstan IIN\), got 12 characters including non-digits/,
          );
        });
      });

      describe('Russian INN', () => {
        it('checks the one check digit of a 10-digit INN', () => {
          // 7707083893: 7·2 + 7·4 + 0·10 + 7·3 + 0·5 + 8·9 + 3·4 + 8·6 + 9·8 = 267; 267 mod 11 = 3; 3 mod 10 = 3.
          assert.equal(14 + 28 + 0 + 21 + 0 + 72 + 12 + 48 + 72, 267);
          assert.equal((267 % 11) % 10, 3);
          assert.equal(checkRuInn('7707083893'), null);
          assert.equal(checkRuInn('7707083894'), 'has a wrong check digit (Russian INN)');
        });

        it('checks both check digits of a 12-digit INN', () => {
          // 500100732259: n11 = (5·7 + 1·10 + 7·9 + 3·4 + 2·6 + 2·8) mod 11 = 148 mod 11 = 5;
          //               n12 = (5·3 + 1·4 + 7·5 + 3·9 + 2·4 + 2·6 + 5·8) mod 11 = 141 mod 11 = 9.
          assert.equal((35 + 10 + 63 + 12 + 12 + 16) % 11, 5);
          assert.equal((15 + 4 + 35 + 27 + 8 + 12 + 40) % 11, 9);
          assert.equal(checkRuInn('500100732259'), null);
          assert.equal(checkRuInn('500100732269'), 'has a wrong check digit (Russian INN)');
          assert.equal(checkRuInn('500100732258'), 'has a wrong check digit (Russian INN)');
        });

        it('reports a wrong check digit and a wrong length at the identifier path', () => {
          const path = 'creditor.identifiers[0].value';
          const i = validInstruction();
          must(creditor(i).identifiers[0]).value = '7707083894';
          only(i, `instruction.${path}`, 'has a wrong check digit (Russian INN)');
          must(creditor(i).identifiers[0]).value = '77070838931';
          only(
            i,
            `instruction.${path}`,
            /10 digits for an organisation or 12 for an individual \(Russian INN\), got 11 digits/,
          );
        });
      });

      describe('Russian OGRN', () => {
        it('checks a 13-digit OGRN modulo 11', () => {
          // 1027700132195: 102770013219 = 11 · 9342728474 + 5, and the last digit is 5.
          assert.equal(11 * 9342728474 + 5, 102770013219);
          assert.equal(checkRuOgrn('1027700132195'), null);
          assert.equal(checkRuOgrn('1027700132196'), 'has a wrong check digit (Russian OGRN)');
        });

        it('checks a 15-digit OGRNIP modulo 13', () => {
          // 304500116000157: 30450011600015 = 13 · 2342308584616 + 7, and the last digit is 7.
          assert.equal(13 * 2342308584616 + 7, 30450011600015);
          assert.equal(checkRuOgrn('304500116000157'), null);
          assert.equal(checkRuOgrn('304500116000158'), 'has a wrong check digit (Russian OGRN)');
        });

        it('reports a wrong length at the identifier path', () => {
          const i = validInstruction();
          must(creditor(i).identifiers[1]).value = '10277001321950';
          only(
            i,
            'instruction.creditor.identifiers[1].value',
            'must be 13 digits (OGRN) or 15 digits (OGRNIP), got 14 digits',
          );
        });
      });

      describe('passports and national ids', () => {
        for (const type of [
          IdentifierType.IDENTIFIER_TYPE_PASSPORT,
          IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID,
        ]) {
          it(`${IdentifierType[type]} requires an issuer country`, () => {
            only(
              withDebtorIdentifiers(id(type, 'N12345678')),
              'instruction.debtor.identifiers[0].issuer_country',
              /is required/,
            );
            only(
              withDebtorIdentifiers(id(type, 'N12345678', 'QQ')),
              'instruction.debtor.identifiers[0].issuer_country',
              /"QQ" is not/,
            );
          });

          it(`${IdentifierType[type]} takes upper-case letters, digits and dashes, up to 35`, () => {
            const path = 'instruction.debtor.identifiers[0].value';
            // 35 characters outside the BMP are 70 UTF-16 units: the charset is what is wrong, not the length.
            for (const value of ['n12345678', 'N 12345678', 'N/123', 'N123\u200B', '\u{1D504}'.repeat(35)]) {
              only(
                withDebtorIdentifiers(id(type, value, 'KZ')),
                path,
                /upper-case letters, digits and "-" only/,
              );
            }
            assert.deepEqual(validateInstruction(withDebtorIdentifiers(id(type, 'A'.repeat(35), 'KZ'))), []);
            only(
              withDebtorIdentifiers(id(type, 'A'.repeat(36), 'KZ')),
              path,
              /at most 35 characters, got 36/,
            );
          });
        }
      });

      it('a passport number that is a card number is refused without echoing it', () => {
        for (const value of [PAN, '4111-1111-1111-1111', 'N4111111111111111', '4222222222222']) {
          const i = withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_PASSPORT, value, 'RU'));
          only(i, 'instruction.debtor.identifiers[0].value', /full card number \(PAN\)/);
          assertNoDescriptionContains(i, value.slice(-6));
        }
      });

      it('a national id refuses a card-grouped card number but takes long personal numbers that pass Luhn', () => {
        const path = 'instruction.debtor.identifiers[0].value';
        const nationalId = (value: string, country: string) =>
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID, value, country));
        only(nationalId('4111-1111-1111-1111', 'UZ'), path, /full card number \(PAN\)/);
        // Each passes Luhn, as one in ten such numbers do: an Uzbek PINFL and a Kyrgyz PIN (14
        // digits), an Indonesian NIK (16), a Chinese resident id (18).
        for (const [value, country] of [
          ['31205850123454', 'UZ'],
          ['20101198500128', 'KG'],
          ['3171011203900000', 'ID'],
          ['110105194912310028', 'CN'],
        ]) {
          assert.deepEqual(validateInstruction(nationalId(value, country)), [], value);
        }
      });

      it('issuer_country is optional for other types but checked when set', () => {
        only(
          withDebtorIdentifiers(id(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, samples.kzBin, 'kz')),
          'instruction.debtor.identifiers[0].issuer_country',
          'must be upper case ("KZ")',
        );
      });
    });
  });

  describe('amount', () => {
    it('is required', () => {
      only(validInstruction({ amount: undefined }), 'instruction.amount', /is required/);
    });

    it('currency must be known', () => {
      only(
        validInstruction({ amount: { currency: 'QQQ', value: '1.00' } }),
        'instruction.amount.currency',
        /ISO 4217.*crypto asset/,
      );
      only(
        validInstruction({ amount: { currency: '', value: '1.00' } }),
        'instruction.amount.currency',
        /is required/,
      );
      only(
        validInstruction({ amount: { currency: 'kzt', value: '1.00' } }),
        'instruction.amount.currency',
        /upper case/,
      );
    });

    it('value is checked against the currency scale', () => {
      only(
        validInstruction({ amount: { currency: 'KZT', value: '125000.505' } }),
        'instruction.amount.value',
        'KZT allows at most 2 decimals, got 3',
      );
      only(
        validInstruction({ amount: { currency: 'JPY', value: '1.5' } }),
        'instruction.amount.value',
        'JPY allows no decimals, got 1',
      );
      assert.deepEqual(
        validateInstruction(validInstruction({ amount: { currency: 'BTC', value: '0.00000001' } })),
        [],
      );
    });

    it('value refuses malformed numbers, zero and too many digits', () => {
      const cases: [string, RegExp][] = [
        ['', /is required/],
        ['-5', /sign/],
        ['1e3', /exponent/],
        ['0.00', /greater than zero/],
        ['1'.repeat(19), /19 integer digits/],
        ['125 000.50', /thousands separators|spaces/],
      ];
      for (const [value, description] of cases) {
        only(
          validInstruction({ amount: { currency: 'KZT', value } }),
          'instruction.amount.value',
          description,
        );
      }
    });

    it('reports a bad currency and a bad value together', () => {
      const violations = validateInstruction(validInstruction({ amount: { currency: 'QQQ', value: '-1' } }));
      assert.deepEqual(fields(violations), ['instruction.amount.currency', 'instruction.amount.value']);
    });

    it('value refuses leading zeros and an amount past signed 64-bit minor units', () => {
      only(
        validInstruction({ amount: { currency: 'KZT', value: '0125000.50' } }),
        'instruction.amount.value',
        /must not have leading zeros/,
      );
      only(
        validInstruction({ amount: { currency: 'KZT', value: '99999999999999999.99' } }),
        'instruction.amount.value',
        /KZT allows at most 16, so that the amount in minor units \(2 decimals\) fits a signed 64-bit integer/,
      );
    });

    it('every way of writing one amount is valid and becomes one canonical instruction', () => {
      const forms = ['125000.5', '125000.50'].map((value) =>
        validInstruction({
          uetr: 'eb6305c9-1f7f-49de-aed0-16487c27b42d',
          amount: { currency: 'KZT', value },
        }),
      );
      for (const i of forms) assert.deepEqual(validateInstruction(i), []);
      const [short, full] = forms.map(canonicalInstruction);
      assert.deepEqual(short, full);
      assert.equal(short.amount?.value, '125000.50');
      assert.equal(forms[0].amount?.value, '125000.5', 'the submitted instruction is left as it was');
      assert.equal(canonicalInstruction(forms[1]), forms[1], 'a canonical instruction is returned as is');
    });

    it('refuses a 1 MB value by its length', () => {
      only(
        validInstruction({ amount: { currency: 'KZT', value: '9'.repeat(MEGABYTE) } }),
        'instruction.amount.value',
        /got 1048576$/,
      );
    });
  });

  describe('settlement_date', () => {
    it('accepts real dates from 2000-01-01 to 2100-12-31, leap days included', () => {
      for (const date of ['2000-01-01', '2024-02-29', '2000-02-29', '2100-12-31', '2025-12-31']) {
        assert.deepEqual(validateInstruction(validInstruction({ settlementDate: date })), [], date);
      }
    });

    it('is required', () => {
      only(
        validInstruction({ settlementDate: '' }),
        'instruction.settlement_date',
        /is required: an ISO 8601 date/,
      );
    });

    it('must be written YYYY-MM-DD', () => {
      for (const date of [
        '2025-3-14',
        '14.03.2025',
        '2025/03/14',
        '20250314',
        '2025-03-14T00:00:00Z',
        '２０２５-03-14',
      ]) {
        only(validInstruction({ settlementDate: date }), 'instruction.settlement_date', /YYYY-MM-DD/);
      }
    });

    it('must be a calendar date', () => {
      for (const date of [
        '2025-02-30',
        '2023-02-29',
        '2100-02-29',
        '2025-04-31',
        '2025-13-01',
        '2025-00-10',
        '2025-01-00',
      ]) {
        only(
          validInstruction({ settlementDate: date }),
          'instruction.settlement_date',
          /is not a calendar date/,
        );
      }
    });

    it('must be between 2000-01-01 and 2100-12-31', () => {
      for (const date of ['1999-12-31', '2101-01-01', '0001-01-01', '9999-12-31']) {
        only(
          validInstruction({ settlementDate: date }),
          'instruction.settlement_date',
          'must be between 2000-01-01 and 2100-12-31',
        );
      }
    });
  });

  describe('charge_bearer', () => {
    it('is required', () => {
      only(
        validInstruction({ chargeBearer: ChargeBearer.CHARGE_BEARER_UNSPECIFIED }),
        'instruction.charge_bearer',
        'is required: one of CHARGE_BEARER_DEBT, CHARGE_BEARER_CRED, CHARGE_BEARER_SHAR, CHARGE_BEARER_SLEV',
      );
    });

    it('refuses numbers the proto does not declare', () => {
      for (const value of [5, 99, -1, 1.5]) {
        only(
          validInstruction({ chargeBearer: value as ChargeBearer }),
          'instruction.charge_bearer',
          /has unknown value/,
        );
      }
    });

    it('refuses an unknown name decoded from JSON', () => {
      const json = {
        ...(SettlementInstruction.toJSON(validInstruction()) as object),
        chargeBearer: 'CHARGE_BEARER_OUR',
      };
      only(SettlementInstruction.fromJSON(json), 'instruction.charge_bearer', /has unknown value -1/);
    });
  });

  describe('purpose', () => {
    it('is optional but must be 4 upper-case letters when set', () => {
      assert.deepEqual(validateInstruction(validInstruction({ purpose: '' })), []);
      for (const purpose of ['supp', 'SUP', 'SUPPL', 'SUP1', 'SUP ']) {
        only(
          validInstruction({ purpose }),
          'instruction.purpose',
          /4 upper-case letters \(ISO 20022 ExternalPurpose1Code/,
        );
      }
    });
  });

  describe('remittance_information', () => {
    it('is optional and takes up to 140 characters', () => {
      assert.deepEqual(validateInstruction(validInstruction({ remittanceInformation: 'Ә'.repeat(140) })), []);
      only(
        validInstruction({ remittanceInformation: 'Ә'.repeat(141) }),
        'instruction.remittance_information',
        'must be at most 140 characters (ISO 20022 Max140Text), got 141',
      );
    });

    it('refuses control and invisible characters', () => {
      for (const text of ['line one\nline two', 'bell\u0007', 'hidden\u200Bspace', 'rtl \u202E override']) {
        only(
          validInstruction({ remittanceInformation: text }),
          'instruction.remittance_information',
          'must not contain invisible or control characters',
        );
      }
    });

    it('refuses U+FFFD', () => {
      only(
        validInstruction({ remittanceInformation: 'Payment \uFFFD' }),
        'instruction.remittance_information',
        'is not valid UTF-8',
      );
    });

    it('refuses a plain card number without echoing it', () => {
      const i = validInstruction({ remittanceInformation: `Refund to card ${PAN} please` });
      only(
        i,
        'instruction.remittance_information',
        'contains what looks like a full card number (PAN); card numbers are never accepted',
      );
      assertNoDescriptionContains(i, '4111');
    });

    it('refuses a spaced card number without echoing it', () => {
      const i = validInstruction({ remittanceInformation: 'Card 4111 1111 1111 1111' });
      only(i, 'instruction.remittance_information', /full card number \(PAN\)/);
      assertNoDescriptionContains(i, '4111');
    });

    it('accepts ordinary references, dates and a 20-digit account', () => {
      const text = 'Inv 2025-0042 of 2025-03-14, acc 40702810938000012345, contract 77/15';
      assert.deepEqual(validateInstruction(validInstruction({ remittanceInformation: text })), []);
    });

    it('refuses a card number however it is written, without echoing it', () => {
      for (const [how, pan] of Object.entries(DISGUISED_PANS)) {
        const i = validInstruction({ remittanceInformation: `Refund to card ${pan} please` });
        const description = only(i, 'instruction.remittance_information', /full card number \(PAN\)/);
        assert.ok(!/[0-9\p{Nd}]/u.test(description), `${how}: ${description}`);
      }
    });

    it('refuses characters that draw nothing', () => {
      for (const ch of INVISIBLE_NOT_CONTROL) {
        only(
          validInstruction({ remittanceInformation: `Invoice${ch} 42` }),
          'instruction.remittance_information',
          'must not contain invisible or control characters',
        );
      }
    });

    it('accepts dates, amounts and references in other scripts and separators', () => {
      for (const text of [
        'Счёт № 2025/0042 от 14.03.2025, сумма 1 250 000.50 тенге, тел. +7 (701) 123-45-67',
        'فاتورة رقم ٢٠٢٥/٠٠٤٢ بتاريخ ٢٠٢٥/٠٣/١٤ المبلغ ١٢٥٠٠٠٫٥٠',
        'Contract HSBK-20250314-000123 of 2025.03.14, HSBK/20250314/000123',
        'ინვოისი 2025/0042, 14.03.2025',
      ]) {
        assert.deepEqual(validateInstruction(validInstruction({ remittanceInformation: text })), [], text);
      }
    });
  });

  describe('card', () => {
    const card = (overrides: Partial<{ scheme: CardScheme; bin: string; last4: string }>) =>
      validInstruction({
        card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '220220', last4: '4242', ...overrides },
      });

    it('is optional and accepts a 6- or 8-digit BIN with the last four digits', () => {
      assert.deepEqual(validateInstruction(card({})), []);
      assert.deepEqual(validateInstruction(card({ bin: '22022012' })), []);
    });

    it('scheme is required and must be known', () => {
      only(
        card({ scheme: CardScheme.CARD_SCHEME_UNSPECIFIED }),
        'instruction.card.scheme',
        /is required: one of CARD_SCHEME_VISA/,
      );
      only(card({ scheme: 42 as CardScheme }), 'instruction.card.scheme', /has unknown value 42/);
    });

    it('bin must be 6 or 8 digits', () => {
      for (const bin of ['22022', '2202201', 'ABCDEF', '2202-2', 'ABCDEFGHIJ']) {
        only(card({ bin }), 'instruction.card.bin', 'must be the first 6 or 8 digits of the card number');
      }
      only(card({ bin: '' }), 'instruction.card.bin', /is required/);
    });

    it('bin refuses a full card number and never echoes it', () => {
      const i = card({ bin: PAN });
      const description = only(i, 'instruction.card.bin', /a full card number is not accepted/);
      assert.ok(!/[0-9]{4}/.test(description), description);
      assertNoDescriptionContains(i, '411111');
      assertNoDescriptionContains(card({ bin: '4111 1111 1111 1111' }), '4111');
    });

    it('last4 must be exactly 4 digits and never echoes a card number', () => {
      only(card({ last4: '123' }), 'instruction.card.last4', 'must be exactly 4 digits');
      only(card({ last4: 'abcd' }), 'instruction.card.last4', 'must be exactly 4 digits');
      only(card({ last4: '' }), 'instruction.card.last4', /is required/);
      const i = card({ last4: PAN });
      only(i, 'instruction.card.last4', /a full card number is not accepted/);
      assertNoDescriptionContains(i, '4111');
    });

    it('reports every bad card field', () => {
      const i = card({ scheme: CardScheme.CARD_SCHEME_UNSPECIFIED, bin: PAN, last4: '1' });
      assert.deepEqual(fields(validateInstruction(i)), [
        'instruction.card.scheme',
        'instruction.card.bin',
        'instruction.card.last4',
      ]);
    });
  });

  describe('hostile input', () => {
    it('reports a megabyte in every string field by length only, quickly', () => {
      const huge = 'Z'.repeat(MEGABYTE);
      const i = validInstruction({
        uetr: huge,
        instructionId: huge,
        endToEndId: huge,
        instructingAgent: { bic: huge },
        settlementDate: huge,
        purpose: huge,
        remittanceInformation: huge,
        amount: { currency: huge, value: huge },
        card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: huge, last4: huge },
      });
      debtor(i).name = huge;
      debtor(i).country = huge;
      debtor(i).account = { kind: { $case: 'iban', value: huge } };
      debtor(i).identifiers = [id(IdentifierType.IDENTIFIER_TYPE_PASSPORT, huge, huge)];
      creditor(i).account = { kind: wallet(huge, huge) };
      const started = process.hrtime.bigint();
      const violations = validateInstruction(i);
      assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'validation took over a second');
      assert.equal(violations.length, 18);
      for (const v of violations) {
        assert.match(
          v.description,
          new RegExp(`^must be at most \\d+ characters, got ${MEGABYTE}$`),
          v.field,
        );
      }
    });

    it('refuses U+FFFD in any string field', () => {
      const bad = 'X\uFFFDX';
      const i = validInstruction({ uetr: bad, instructionId: bad, purpose: bad });
      creditor(i).account = { kind: { $case: 'accountNumber', value: bad } };
      must(creditor(i).identifiers[0]).value = bad;
      const violations = validateInstruction(i);
      assert.deepEqual(fields(violations), [
        'instruction.uetr',
        'instruction.instruction_id',
        'instruction.creditor.account.account_number',
        'instruction.creditor.identifiers[0].value',
        'instruction.purpose',
      ]);
      for (const v of violations) assert.equal(v.description, 'is not valid UTF-8');
    });

    it('never puts a card number into any description', () => {
      const i = validInstruction({
        instructionId: '4111 1111 1111 1111',
        endToEndId: '4111-1111-1111-1111',
        remittanceInformation: PAN,
        card: { scheme: CardScheme.CARD_SCHEME_VISA, bin: PAN, last4: PAN },
      });
      debtor(i).name = PAN;
      creditor(i).account = { kind: { $case: 'accountNumber', value: '4111 1111 1111 1111' } };
      debtor(i).identifiers = [id(IdentifierType.IDENTIFIER_TYPE_KZ_IIN, PAN)];
      const violations = validateInstruction(i);
      assert.equal(violations.length, 8);
      assertNoDescriptionContains(i, '1111');
    });

    it('never echoes a name, however it fails', () => {
      for (const name of [
        'Secret Person\u200B',
        'Secret Person\n',
        'Secret Person'.repeat(20),
        'Secret Person \uFFFD',
      ]) {
        const i = validInstruction();
        debtor(i).name = name;
        assert.equal(validateInstruction(i).length, 1);
        assertNoDescriptionContains(i, 'Secret');
      }
    });
  });
});
