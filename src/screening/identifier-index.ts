import type {
  BicEntry,
  CardSchemeEntry,
  IbanEntry,
  JurisdictionEntry,
  ListEntry,
  NationalIdEntry,
  WalletEntry,
} from './list-entry';

/**
 * Exact-match lookups for the identifier entries of one list version. Every key is normalised the
 * same way on both sides: BICs on their first 8 characters, IBANs as ibanKey says,
 * wallet addresses as walletKey says, national ids as letters and digits only, upper case.
 */
export interface IdentifierIndex {
  readonly size: number;
  bic(bic: string): BicEntry[];
  iban(iban: string): IbanEntry[];
  wallet(address: string): WalletEntry[];
  nationalId(value: string): NationalIdEntry[];
  /** Entries blocking the card's scheme by name or its BIN by IIN range. */
  card(scheme: string, bin: string): CardSchemeEntry[];
  jurisdiction(country: string): JurisdictionEntry[];
}

const EVM_ADDRESS = /^0x[0-9a-f]{40}$/i;
/** A payment URI's scheme, as wallets copy addresses: bitcoin:, bitcoincash:, ethereum:. */
const URI_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** Bech32 (BIP 173: human-readable part, 1, data) and CashAddr payloads: one letter case throughout. */
const BECH32 = /^[a-z0-9]+1[02-9ac-hj-np-z]{6,}$/i;
const CASHADDR = /^[qp][02-9ac-hj-np-z]{41}$/i;

export const bicKey = (bic: string): string => bic.trim().toUpperCase().slice(0, 8);
/**
 * An IBAN by its country and account (BBAN), without its check digits: an account has one IBAN,
 * but each check pair 97, 98 and 02 has a second one (00, 01, 99) that passes mod 97, and a
 * receiver checking only mod 97 books either.
 */
export function ibanKey(iban: string): string {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  return /^[A-Z]{2}[0-9]{2}/.test(s) ? s.slice(0, 2) + s.slice(4) : s;
}
/**
 * A wallet address without a payment URI's scheme; lower case where its format ignores case (EVM
 * hex, and bech32 and CashAddr, which are written all in one case or the other), exactly as
 * written otherwise (base58, where case makes another address).
 */
export const walletKey = (address: string): string => {
  const bare = address.trim().replace(URI_SCHEME, '');
  if (EVM_ADDRESS.test(bare)) return bare.toLowerCase();
  const oneCase = bare === bare.toLowerCase() || bare === bare.toUpperCase();
  return oneCase && (BECH32.test(bare) || CASHADDR.test(bare)) ? bare.toLowerCase() : bare;
};
export const nationalIdKey = (value: string): string => value.toUpperCase().replace(/[^A-Z0-9]+/g, '');

/** Card scheme names as officers and lists also write them, under the names the API uses. */
const SCHEME_ALIASES: Readonly<Record<string, string>> = {
  AMERICANEXPRESS: 'AMEX',
  CHINAUNIONPAY: 'UNIONPAY',
  CUP: 'UNIONPAY',
  MASTER: 'MASTERCARD',
  BELCART: 'BELKART',
};
/** A card scheme's name in upper case without separators ("Union Pay", "UNION_PAY": UNIONPAY). */
export const cardSchemeKey = (scheme: string): string => {
  const key = scheme.toUpperCase().replace(/[^A-Z0-9]+/g, '');
  return SCHEME_ALIASES[key] ?? key;
};

/**
 * Whether a card with this BIN can fall in the range, compared on the range's length: a BIN
 * shorter than the range stands for every number it starts (220100 for 22010000–22019999 against
 * an 8-digit range), and matches when any of them is in it.
 */
export function binInRange(bin: string, range: { from: string; to: string }): boolean {
  const length = range.from.length;
  const lowest = Number(bin.slice(0, length).padEnd(length, '0'));
  const highest = Number(bin.slice(0, length).padEnd(length, '9'));
  return highest >= Number(range.from) && lowest <= Number(range.to);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function buildIdentifierIndex(entries: readonly ListEntry[]): IdentifierIndex {
  const bics = new Map<string, BicEntry[]>();
  const ibans = new Map<string, IbanEntry[]>();
  const wallets = new Map<string, WalletEntry[]>();
  const ids = new Map<string, NationalIdEntry[]>();
  const schemes: CardSchemeEntry[] = [];
  const countries = new Map<string, JurisdictionEntry[]>();
  let size = 0;
  for (const entry of entries) {
    switch (entry.kind) {
      case 'bic':
        push(bics, bicKey(entry.bic), entry);
        break;
      case 'iban':
        push(ibans, ibanKey(entry.iban), entry);
        break;
      case 'wallet':
        push(wallets, walletKey(entry.address), entry);
        break;
      case 'national-id':
        push(ids, nationalIdKey(entry.value), entry);
        break;
      case 'card-scheme':
        schemes.push(entry);
        break;
      case 'jurisdiction':
        push(countries, entry.country.toUpperCase(), entry);
        break;
      case 'name':
        continue;
    }
    size++;
  }
  return {
    size,
    bic: (bic) => bics.get(bicKey(bic)) ?? [],
    iban: (iban) => ibans.get(ibanKey(iban)) ?? [],
    wallet: (address) => wallets.get(walletKey(address)) ?? [],
    nationalId: (value) => ids.get(nationalIdKey(value)) ?? [],
    card: (scheme, bin) =>
      schemes.filter(
        (s) =>
          (scheme !== '' && cardSchemeKey(s.scheme) === cardSchemeKey(scheme)) ||
          (bin !== '' && s.iinRanges.some((r) => binInRange(bin, r))),
      ),
    jurisdiction: (country) => countries.get(country.toUpperCase()) ?? [],
  };
}
