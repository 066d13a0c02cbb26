import { randomUUID } from 'node:crypto';
import {
  CardScheme,
  ChargeBearer,
  IdentifierType,
  type Party,
  type SettlementInstruction,
} from '../gen/caravan/settlement/v1/instruction';
import { InstructionState } from '../gen/caravan/settlement/v1/status';
import { SANCTIONED } from './demo-sample-list';

/** The bank the demo submits as (Halyk Bank, Kazakhstan). */
export const DEMO_PARTICIPANT = 'HSBKKZKX';

/** A receiving bank the demo routes to: a reference receiver when up, an address nobody listens on when down. */
export interface DemoCounterparty {
  name: string;
  bic: string;
  /** The creditor agents' country its route takes. */
  country: string;
  up: boolean;
}

const RUSSIA: DemoCounterparty = { name: 'rzbm-moscow', bic: 'RZBMRUMM', country: 'RU', up: true };
const GEORGIA: DemoCounterparty = { name: 'tbcb-tbilisi', bic: 'TBCBGE22', country: 'GE', up: true };
const ARMENIA: DemoCounterparty = { name: 'ameria-yerevan', bic: 'ARMIAM22', country: 'AM', up: false };

/** One route per counterparty; Uzbekistan has none, on purpose. */
export const DEMO_COUNTERPARTIES: readonly DemoCounterparty[] = [RUSSIA, GEORGIA, ARMENIA];

export interface DemoCase {
  title: string;
  /** What the case is there to show; the outcome printed is always the gateway's own answer. */
  expected: { state: InstructionState; code: string };
  /** A new instruction with a fresh UETR on every call, so runs never collide. */
  instruction(): SettlementInstruction;
}

const DEBTOR: Party = {
  name: 'TOO Caravan Demo Trading',
  country: 'KZ',
  account: { kind: { $case: 'iban', value: 'KZ86125KZT5004100100' } },
  // Kazakh BIN with a valid check digit: 9·1+4·2+1·4+4·5+3·10+8·11 = 159, 159 mod 11 = 5.
  identifiers: [{ type: IdentifierType.IDENTIFIER_TYPE_KZ_BIN, value: '940140000385', issuerCountry: 'KZ' }],
};

/** A Russian company with a made-up INN (check digit valid) that is on no list. */
const RUSSIAN_CREDITOR: Party = {
  name: 'OOO Volga Demo Supplies',
  country: 'RU',
  account: { kind: { $case: 'accountNumber', value: '40702810938000012345' } },
  identifiers: [{ type: IdentifierType.IDENTIFIER_TYPE_RU_INN, value: '7708123450', issuerCountry: 'RU' }],
};

function payment(
  creditorAgent: DemoCounterparty | string,
  creditor: Party,
  changes: Partial<SettlementInstruction> = {},
): SettlementInstruction {
  const bic = typeof creditorAgent === 'string' ? creditorAgent : creditorAgent.bic;
  const uetr = randomUUID();
  return {
    uetr,
    instructionId: `HSBK-DEMO-${uetr.slice(0, 8)}`,
    endToEndId: `DEMO-${uetr.slice(0, 8)}`,
    instructingAgent: { bic: DEMO_PARTICIPANT },
    instructedAgent: { bic },
    debtor: DEBTOR,
    debtorAgent: { bic: DEMO_PARTICIPANT },
    creditor,
    creditorAgent: { bic },
    amount: { currency: 'KZT', value: '125000.50' },
    settlementDate: new Date().toISOString().slice(0, 10),
    chargeBearer: ChargeBearer.CHARGE_BEARER_SHAR,
    purpose: 'SUPP',
    remittanceInformation: 'Caravan demo: supply contract 17/2024',
    card: undefined,
    ...changes,
  };
}

const expect = (state: InstructionState, code = '') => ({ state, code });

export const DEMO_CASES: readonly DemoCase[] = [
  {
    title: `Russian bank via ${RUSSIA.name}`,
    expected: expect(InstructionState.INSTRUCTION_STATE_DELIVERED),
    instruction: () => payment(RUSSIA, RUSSIAN_CREDITOR),
  },
  {
    title: `Georgian bank via ${GEORGIA.name}`,
    expected: expect(InstructionState.INSTRUCTION_STATE_DELIVERED),
    instruction: () =>
      payment(
        GEORGIA,
        {
          name: 'Mtkvari Demo Imports LLC',
          country: 'GE',
          account: { kind: { $case: 'iban', value: 'GE61TB7777777777777777' } },
          identifiers: [],
        },
        { amount: { currency: 'USD', value: '4800.00' } },
      ),
  },
  {
    title: 'sanctioned party (listed INN)',
    expected: expect(InstructionState.INSTRUCTION_STATE_REJECTED, 'RR04'),
    instruction: () =>
      payment(RUSSIA, {
        ...RUSSIAN_CREDITOR,
        name: SANCTIONED.name,
        identifiers: [
          { type: IdentifierType.IDENTIFIER_TYPE_RU_INN, value: SANCTIONED.inn, issuerCountry: 'RU' },
        ],
      }),
  },
  {
    title: 'doubtful name (fuzzy match)',
    expected: expect(InstructionState.INSTRUCTION_STATE_HELD_FOR_REVIEW),
    instruction: () =>
      payment(RUSSIA, {
        ...RUSSIAN_CREDITOR,
        // The listed name respelt, with the Russian legal form: a fuzzy match, not an exact one.
        name: 'OOO Demo Sanktioned Trading',
        identifiers: [
          { type: IdentifierType.IDENTIFIER_TYPE_RU_INN, value: '7705555558', issuerCountry: 'RU' },
        ],
      }),
  },
  {
    title: 'Mir card (IIN 2200-2204)',
    expected: expect(InstructionState.INSTRUCTION_STATE_REJECTED, 'AG01'),
    instruction: () =>
      payment(RUSSIA, RUSSIAN_CREDITOR, {
        card: { scheme: CardScheme.CARD_SCHEME_MIR, bin: '22001234', last4: '0417' },
      }),
  },
  {
    title: 'Uzbek bank: no route to UZ',
    expected: expect(InstructionState.INSTRUCTION_STATE_REJECTED, 'CNOR'),
    instruction: () =>
      payment('NBFAUZ2X', {
        name: 'Samarkand Demo Textiles LLC',
        country: 'UZ',
        account: { kind: { $case: 'accountNumber', value: '20208000900123456001' } },
        identifiers: [],
      }),
  },
  {
    title: `Armenian bank: ${ARMENIA.name} down`,
    expected: expect(InstructionState.INSTRUCTION_STATE_FAILED, 'AB06'),
    instruction: () =>
      payment(ARMENIA, {
        name: 'Ararat Demo Instruments LLC',
        country: 'AM',
        account: { kind: { $case: 'accountNumber', value: '1570012345670100' } },
        identifiers: [],
      }),
  },
];
