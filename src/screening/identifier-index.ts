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
 * same way on both sides: BICs on their first 8 characters, IBANs without spaces in upper case,
 * EVM addresses (0x + 40 hex) lower-case, every other wallet address exactly as written (base58 and
 * bech32 are case-significant), national ids as letters and digits only, upper case.
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

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export const bicKey = (bic: string): string => bic.trim().toUpperCase().slice(0, 8);
export const ibanKey = (iban: string): string => iban.replace(/\s+/g, '').toUpperCase();
export const walletKey = (address: string): string => {
  const trimmed = address.trim();
  return EVM_ADDRESS.test(trimmed) ? trimmed.toLowerCase() : trimmed;
};
export const nationalIdKey = (value: string): string => value.toUpperCase().replace(/[^A-Z0-9]+/g, '');

/** Whether the BIN's leading digits fall in the range, compared on the range's prefix length. */
export function binInRange(bin: string, range: { from: string; to: string }): boolean {
  const prefix = bin.slice(0, range.from.length);
  if (prefix.length < range.from.length) return false;
  return Number(prefix) >= Number(range.from) && Number(prefix) <= Number(range.to);
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
          (scheme !== '' && s.scheme.toUpperCase() === scheme.toUpperCase()) ||
          (bin !== '' && s.iinRanges.some((r) => binInRange(bin, r))),
      ),
    jurisdiction: (country) => countries.get(country.toUpperCase()) ?? [],
  };
}
