import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  CardScheme,
  IdentifierType,
  type SettlementInstruction,
} from '../../src/gen/caravan/settlement/v1/instruction';
import type { ListEntry, WalletEntry } from '../../src/screening/list-entry';
import { indexLists } from '../../src/screening/list-index';
import { screenInstruction, type ListIndex } from '../../src/screening/screen-instruction';
import { validInstruction } from '../support/instructions';

const CRYPTO = path.join(__dirname, '..', 'fixtures', 'sanctions', 'ofac_crypto_addresses_2024-09-27');

function index(list: string, entries: ListEntry[]): ListIndex {
  return indexLists([{ list, version: 1, entries }])[0];
}

const base = { ref: 'r', subject: 'listed party', programs: ['TEST'] };

/** Every address of the OFAC digital-currency lists, one wallet entry each. */
function cryptoEntries(): WalletEntry[] {
  return readdirSync(CRYPTO).flatMap((file) => {
    const network = /sanctioned_addresses_([A-Z]+)\.txt/.exec(file)![1];
    return readFileSync(path.join(CRYPTO, file), 'utf8')
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((address, i) => ({
        ...base,
        kind: 'wallet' as const,
        id: `${network}-${i}`,
        network,
        address: address.trim(),
      }));
  });
}

function withCreditorWallet(network: string, address: string): SettlementInstruction {
  const ins = validInstruction();
  ins.creditor!.account = { kind: { $case: 'wallet', value: { network, address } } };
  return ins;
}

const decide = (ins: SettlementInstruction, lists: ListIndex[]) =>
  screenInstruction(ins, lists, { reviewThreshold: 0.9 });

describe('identifier screening', function () {
  const wallets = cryptoEntries();
  const lists = [index('ofac-crypto', wallets)];

  it('reads every OFAC address list (435 XBT, 152 ETH, 26 USDT ...)', () => {
    const count = (network: string) => wallets.filter((w) => w.network === network).length;
    assert.equal(count('XBT'), 435);
    assert.equal(count('ETH'), 152);
    assert.equal(count('USDT'), 26);
  });

  it('blocks every listed address, as written', () => {
    const missed = wallets.filter(
      (w) => decide(withCreditorWallet(w.network, w.address), lists).decision !== 'block',
    );
    assert.deepEqual(missed, []);
  });

  it('blocks EVM addresses in any letter case', () => {
    const evm = wallets.filter((w) => /^0x[0-9a-fA-F]{40}$/.test(w.address));
    assert.ok(evm.length > 150);
    for (const w of evm) {
      for (const variant of [w.address.toLowerCase(), `0x${w.address.slice(2).toUpperCase()}`]) {
        const result = decide(withCreditorWallet('ETH', variant), lists);
        assert.equal(result.decision, 'block', variant);
        assert.equal(result.hits[0].field, 'creditor.account.wallet');
      }
    }
  });

  it('compares base58 addresses exactly: a case change is another address', () => {
    const base58 = wallets.filter((w) => w.network === 'XBT' && /^[13]/.test(w.address));
    assert.ok(base58.length > 100);
    for (const w of base58) {
      const flipped = w.address.replace(/[a-zA-Z]/, (c) =>
        c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(),
      );
      if (flipped === w.address) continue;
      assert.equal(decide(withCreditorWallet('BTC', flipped), lists).decision, 'clear', flipped);
    }
  });

  it('blocks bech32 and CashAddr addresses in either case, and addresses copied with a payment URI scheme', () => {
    const listed = [
      index('l', [
        {
          ...base,
          kind: 'wallet',
          id: 'btc',
          network: 'XBT',
          address: 'bc1qv7k70u2zynvem59u88ctdlaw7hc735d8xep9rq',
        },
        {
          ...base,
          kind: 'wallet',
          id: 'bch',
          network: 'BCH',
          address: 'qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq',
        },
        {
          ...base,
          kind: 'wallet',
          id: 'evm',
          network: 'USDT',
          address: '0X098B716B8AAF21512996DC57EB0615E2383E2F96',
        },
      ]),
    ];
    for (const [network, address] of [
      ['BTC', 'BC1QV7K70U2ZYNVEM59U88CTDLAW7HC735D8XEP9RQ'],
      ['BTC', 'bitcoin:bc1qv7k70u2zynvem59u88ctdlaw7hc735d8xep9rq'],
      ['BCH', 'bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq'],
      ['BCH', 'QPF2CPHC5DKUCLKQUR7LHJ2YUQQ9PK3HMUKLE77VHQ'],
      ['ETH', '0x098b716b8aaf21512996dc57eb0615e2383e2f96'],
      ['ETH', 'ethereum:0x098B716B8AAF21512996DC57EB0615E2383E2F96'],
    ]) {
      assert.equal(decide(withCreditorWallet(network, address), listed).decision, 'block', address);
    }
    // A mixed-case string is no bech32 address: it stays as written, and misses.
    assert.equal(
      decide(withCreditorWallet('BTC', 'bc1qv7k70u2zynvem59u88ctdlaw7hc735d8xeP9RQ'), listed).decision,
      'clear',
    );
  });

  it('screens an account number against listed IBANs, and an IBAN-shaped one against jurisdictions', () => {
    const lists = [
      index('l', [
        { ...base, kind: 'iban', id: 'ge', iban: 'GE29NB0000000101904917' },
        { ...base, kind: 'jurisdiction', id: 'ir', country: 'IR' },
      ]),
    ];
    const withAccount = (value: string) => {
      const ins = validInstruction();
      ins.creditor!.account = { kind: { $case: 'accountNumber', value } };
      return ins;
    };
    const fields = (value: string) => decide(withAccount(value), lists).hits.map((h) => h.field);
    assert.deepEqual(fields('ge29 nb00 0000 0101 9049 17'), ['creditor.account.account_number']);
    assert.deepEqual(fields('IR062960000000100324200001'), ['creditor.account.account_number']);
    assert.deepEqual(fields('40702810900000012345'), []);
    // The listed account with check digits 00 instead of 97 (mod 97 accepts both): the same account.
    const kz = [index('l', [{ ...base, kind: 'iban', id: 'kz', iban: 'KZ97125KZT5004100193' }])];
    assert.deepEqual(
      decide(withAccount('KZ00125KZT5004100193'), kz).hits.map((h) => h.field),
      ['creditor.account.account_number'],
    );
    const asIban = validInstruction();
    asIban.creditor!.account = { kind: { $case: 'iban', value: 'KZ00125KZT5004100193' } };
    assert.deepEqual(
      decide(asIban, kz).hits.map((h) => h.field),
      ['creditor.account.iban'],
    );
  });

  it('blocks a card whose BIN is shorter than a listed IIN range it falls in', () => {
    const lists = [
      index('card-schemes', [
        {
          ...base,
          kind: 'card-scheme',
          id: 'r8',
          scheme: 'LISTED',
          iinRanges: [{ from: '22000000', to: '22049999' }],
        },
      ]),
    ];
    const card = (bin: string) =>
      validInstruction({ card: { scheme: CardScheme.CARD_SCHEME_VISA, bin, last4: '0000' } });
    for (const bin of ['220100', '22010000', '220499', '2204']) {
      assert.equal(decide(card(bin), lists).decision, 'block', bin);
    }
    for (const bin of ['220500', '22050000', '219999']) {
      assert.equal(decide(card(bin), lists).decision, 'clear', bin);
    }
  });

  it('matches a NATIONAL_ID against a listed number of any scheme', () => {
    const lists = [
      index('l', [
        { ...base, kind: 'national-id', id: 'pp', scheme: 'passport', country: 'RU', value: '4511264874' },
        { ...base, kind: 'national-id', id: 'inn', scheme: 'ru-inn', country: 'RU', value: '7707083893' },
      ]),
    ];
    const withId = (value: string) => {
      const ins = validInstruction();
      ins.creditor!.identifiers = [
        { type: IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID, value, issuerCountry: 'RU' },
      ];
      return ins;
    };
    assert.equal(decide(withId('4511-264874'), lists).decision, 'block');
    assert.equal(decide(withId('7707083893'), lists).decision, 'block');
    assert.equal(decide(withId('4511264875'), lists).decision, 'clear');
  });

  it('holds an instruction whose remittance information names a listed BIC, IBAN or wallet', () => {
    const lists = [
      index('l', [
        { ...base, kind: 'bic', id: 'b', bic: 'VTBAKZKZ' },
        { ...base, kind: 'iban', id: 'i', iban: 'GE29NB0000000101904917' },
        {
          ...base,
          kind: 'wallet',
          id: 'w',
          network: 'ETH',
          address: '0x098b716b8aaf21512996dc57eb0615e2383e2f96',
        },
      ]),
    ];
    const remitted = (remittanceInformation: string) =>
      decide(validInstruction({ remittanceInformation }), lists);
    for (const text of [
      'On behalf of JSC VTB Bank Kazakhstan, SWIFT vtbakzkzxxx',
      'refund to GE29NB0000000101904917',
      'fees 0x098B716B8AAF21512996DC57EB0615E2383E2F96',
    ]) {
      const result = remitted(text);
      assert.equal(result.decision, 'review', text);
      assert.deepEqual(
        result.hits.map((h) => h.field),
        ['remittance_information'],
      );
    }
    assert.equal(remitted('INVOICE 2025-0042 SHIPMENT PAYMENTS VTBAKZKA').decision, 'clear');
  });

  it('matches a BIC on its first 8 characters', () => {
    const bics = [index('l', [{ ...base, kind: 'bic', id: 'b', bic: 'VTBAKZKZ' }])];
    for (const bic of ['VTBAKZKZ', 'VTBAKZKZXXX', 'VTBAKZKZALM']) {
      assert.equal(decide(validInstruction({ creditorAgent: { bic } }), bics).decision, 'block', bic);
    }
    for (const bic of ['HSBKKZKX', 'EURIKZKA', 'VTBAKZKA']) {
      assert.equal(decide(validInstruction({ creditorAgent: { bic } }), bics).decision, 'clear', bic);
    }
  });

  it('blocks a Mir card by IIN 2200-2204 and lets 2205-2220 and Mastercard 2221 through', () => {
    const mir = [
      index('card-schemes', [
        { ...base, kind: 'card-scheme', id: 'mir', scheme: 'MIR', iinRanges: [{ from: '2200', to: '2204' }] },
      ]),
    ];
    const card = (scheme: CardScheme, bin: string) =>
      validInstruction({ card: { scheme, bin, last4: '0000' } });
    for (let p = 2200; p <= 2204; p++) {
      assert.equal(decide(card(CardScheme.CARD_SCHEME_VISA, `${p}1234`), mir).decision, 'block', String(p));
    }
    for (let p = 2205; p <= 2220; p++) {
      assert.equal(decide(card(CardScheme.CARD_SCHEME_VISA, `${p}1234`), mir).decision, 'clear', String(p));
    }
    assert.equal(decide(card(CardScheme.CARD_SCHEME_MASTERCARD, '22210000'), mir).decision, 'clear');
    assert.equal(decide(card(CardScheme.CARD_SCHEME_MIR, '41111111'), mir).decision, 'block');
  });

  it('matches card schemes listed under the names people write them (UNION_PAY, AMERICAN_EXPRESS)', () => {
    const card = (scheme: CardScheme, bin: string) =>
      validInstruction({ card: { scheme, bin, last4: '0000' } });
    const named = [
      index('card-schemes', [
        { ...base, kind: 'card-scheme', id: 'cup', scheme: 'UNION_PAY', iinRanges: [] },
        { ...base, kind: 'card-scheme', id: 'amex', scheme: 'AMERICAN_EXPRESS', iinRanges: [] },
      ]),
    ];
    assert.equal(decide(card(CardScheme.CARD_SCHEME_UNIONPAY, '62000000'), named).decision, 'block');
    assert.equal(decide(card(CardScheme.CARD_SCHEME_AMEX, '37000000'), named).decision, 'block');
    assert.equal(decide(card(CardScheme.CARD_SCHEME_JCB, '35280000'), named).decision, 'clear');
  });

  it('blocks listed national ids only for a compatible scheme and country', () => {
    const ids = [
      index('l', [
        { ...base, kind: 'national-id', id: 'kz', scheme: 'kz-bin', country: 'KZ', value: '110140012405' },
        { ...base, kind: 'national-id', id: 'pp', scheme: 'passport', country: 'RU', value: '760508990' },
      ]),
    ];
    const withId = (type: IdentifierType, value: string, issuerCountry: string) => {
      const ins = validInstruction();
      ins.creditor!.identifiers = [{ type, value, issuerCountry }];
      return ins;
    };
    assert.equal(
      decide(withId(IdentifierType.IDENTIFIER_TYPE_KZ_BIN, '110140012405', 'KZ'), ids).decision,
      'block',
    );
    assert.equal(
      decide(withId(IdentifierType.IDENTIFIER_TYPE_PASSPORT, '760508990', 'RU'), ids).decision,
      'block',
    );
    assert.equal(
      decide(withId(IdentifierType.IDENTIFIER_TYPE_PASSPORT, '760508990', 'KZ'), ids).decision,
      'clear',
    );
    assert.equal(
      decide(withId(IdentifierType.IDENTIFIER_TYPE_RU_INN, '110140012405', 'RU'), ids).decision,
      'clear',
    );
    // OFAC lists a "registration 1000": a number that short is held for an officer, not rejected.
    const short = [
      index('l', [
        { ...base, kind: 'national-id', id: 'r', scheme: 'registration', country: 'RU', value: '1000' },
      ]),
    ];
    assert.equal(
      decide(withId(IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID, '1000', ''), short).decision,
      'review',
    );
  });

  it('blocks parties, agents, IBANs, party BICs and issuing countries of a blocked jurisdiction', () => {
    const kp = [index('l', [{ ...base, kind: 'jurisdiction', id: 'kp', country: 'KP' }])];
    const party = validInstruction();
    party.creditor!.country = 'KP';
    assert.deepEqual(
      decide(party, kp).hits.map((h) => h.field),
      ['creditor.country'],
    );
    assert.deepEqual(
      decide(validInstruction({ creditorAgent: { bic: 'KOEXKPPY' } }), kp).hits.map((h) => h.field),
      ['creditor_agent.bic'],
    );
    assert.equal(decide(validInstruction(), kp).decision, 'clear');
    const identified = validInstruction();
    identified.creditor!.identifiers = [
      { type: IdentifierType.IDENTIFIER_TYPE_BIC, value: 'KOEXKPPY', issuerCountry: '' },
      { type: IdentifierType.IDENTIFIER_TYPE_PASSPORT, value: '381110042', issuerCountry: 'KP' },
    ];
    assert.deepEqual(
      decide(identified, kp).hits.map((h) => h.field),
      ['creditor.identifiers[0]', 'creditor.identifiers[1]'],
    );
  });
});
