/**
 * The typed entries of a screening list, as importers produce them, Redis stores them (JSON) and
 * the screening index reads them. One sanctioned party usually yields one `name` entry and zero or
 * more identifier entries (BIC, wallet, national id...) that share its `ref`.
 */

export type PartyType = 'person' | 'entity' | 'vessel' | 'aircraft' | 'unknown';

export type AliasKind = 'aka' | 'fka' | 'nka' | 'original-script' | 'weak';

export interface EntryBase {
  /** Unique within its list version, stable across imports of the same source (e.g. "18723", "18723/bic/VTBAKZKZ"). */
  id: string;
  /** The source's own reference of the listed party: OFAC ent_num, UN REFERENCE_NUMBER, an internal case id. */
  ref: string;
  /** The listed party's primary name, shown to officers beside identifier hits. Empty when unknown. */
  subject: string;
  /** Sanctions programmes, e.g. ["RUSSIA-EO14024"]. */
  programs: string[];
}

export interface NameEntry extends EntryBase {
  kind: 'name';
  name: string;
  aliases: { name: string; kind: AliasKind }[];
  type: PartyType;
  /** ISO 3166-1 alpha-2 codes of countries linked to the party (addresses, nationality). */
  countries: string[];
}

export interface BicEntry extends EntryBase {
  kind: 'bic';
  /** 8 or 11 characters; matched on its first 8. */
  bic: string;
}

export interface IbanEntry extends EntryBase {
  kind: 'iban';
  /** Electronic form: upper case, no spaces. */
  iban: string;
}

export interface WalletEntry extends EntryBase {
  kind: 'wallet';
  /** Network or asset code as the source writes it: XBT, ETH, USDT, TRX, ... */
  network: string;
  /** As written by the source; EVM addresses are compared lower-case, others exactly. */
  address: string;
}

export interface NationalIdEntry extends EntryBase {
  kind: 'national-id';
  /** passport, national-id, registration, tax-id, kz-bin, kz-iin, ru-inn, ru-ogrn, lei, imo, mmsi, other */
  scheme: string;
  /** Issuing country, ISO 3166-1 alpha-2, or empty when the source does not say. */
  country: string;
  /** Letters and digits only, upper case: lists write one number as 78.865.882 or K357514(4). */
  value: string;
}

export interface CardSchemeEntry extends EntryBase {
  kind: 'card-scheme';
  /** Scheme name in upper case, e.g. MIR; matches the proto CardScheme name without its prefix. */
  scheme: string;
  /** IIN prefix ranges, inclusive, compared on the same number of leading digits, e.g. 2200-2204. */
  iinRanges: { from: string; to: string }[];
}

export interface JurisdictionEntry extends EntryBase {
  kind: 'jurisdiction';
  /** ISO 3166-1 alpha-2 country whose parties and agents are blocked. */
  country: string;
}

export type ListEntry =
  NameEntry | BicEntry | IbanEntry | WalletEntry | NationalIdEntry | CardSchemeEntry | JurisdictionEntry;

export type ListEntryKind = ListEntry['kind'];
