import { randomUUID } from 'node:crypto';
import {
  ChargeBearer,
  IdentifierType,
  SettlementInstruction,
} from '../../src/gen/caravan/settlement/v1/instruction';

/** Sample values that pass every format and check-digit rule, shared by the specs. */
export const samples = {
  /** Kazakhstan IBAN, 20 characters, mod-97 valid. */
  kzIban: 'KZ86125KZT5004100100',
  /**
   * Russian 20-digit account at Sberbank Moscow (BIK 044525225): balance account 40702 (resident
   * company), currency 810 (RUB), control key 9 computed with the BIK's last three digits and
   * weights 7-1-3.
   */
  ruAccountNumber: '40702810938000012345',
  /** Kazakhstan BIN: 9·1+4·2+0·3+1·4+4·5+0+0+0+0+3·10+8·11 = 159, 159 mod 11 = 5. */
  kzBin: '940140000385',
  /** Kazakhstan IIN: 9·1+1·4+1·6+3·7+1·11 = 51, 51 mod 11 = 7. */
  kzIin: '900101300017',
  /**
   * Russian INN of an organisation (10 digits), made up for tests and on no list:
   * 7·2 + 7·4 + 0·10 + 8·3 + 1·5 + 2·9 + 3·4 + 4·6 + 5·8 = 165, 165 mod 11 = 0.
   */
  ruInn10: '7708123450',
  /** Russian OGRN (13 digits), made up for tests and on no list: 102770012345 mod 11 = 0. */
  ruOgrn: '1027700123450',
} as const;

/**
 * A valid KZ → RU instruction: a Kazakh company pays a Russian company 125 000.50 KZT from Halyk
 * Bank (HSBKKZKX) to Raiffeisenbank Russia (RZBMRUMM), neither on the sanctions lists in test/fixtures. Every call returns a fresh object with a new UETR, so a
 * test may change any nested field in place.
 */
export function validInstruction(overrides: Partial<SettlementInstruction> = {}): SettlementInstruction {
  return {
    uetr: randomUUID(),
    instructionId: 'HSBK-250314-A0123',
    endToEndId: 'INV-2025-0042',
    instructingAgent: { bic: 'HSBKKZKX' },
    instructedAgent: { bic: 'RZBMRUMM' },
    debtor: {
      name: 'TOO Caravan Test Trading',
      country: 'KZ',
      account: { kind: { $case: 'iban', value: samples.kzIban } },
      identifiers: [
        { type: IdentifierType.IDENTIFIER_TYPE_KZ_BIN, value: samples.kzBin, issuerCountry: 'KZ' },
      ],
    },
    debtorAgent: { bic: 'HSBKKZKX' },
    creditor: {
      name: 'OOO Volga Test Supplies',
      country: 'RU',
      account: { kind: { $case: 'accountNumber', value: samples.ruAccountNumber } },
      identifiers: [
        { type: IdentifierType.IDENTIFIER_TYPE_RU_INN, value: samples.ruInn10, issuerCountry: 'RU' },
        { type: IdentifierType.IDENTIFIER_TYPE_RU_OGRN, value: samples.ruOgrn, issuerCountry: '' },
      ],
    },
    creditorAgent: { bic: 'RZBMRUMM' },
    amount: { currency: 'KZT', value: '125000.50' },
    settlementDate: '2025-03-14',
    chargeBearer: ChargeBearer.CHARGE_BEARER_SHAR,
    purpose: 'SUPP',
    remittanceInformation: 'Invoice INV-2025-0042 for steel pipes',
    card: undefined,
    ...overrides,
  };
}
