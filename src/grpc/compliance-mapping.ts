import {
  EntryKind,
  PartyType as PartyTypeProto,
  type ListEntry as ListEntryProto,
  type ListVersion,
} from '../gen/caravan/compliance/v1/lists';
import {
  ScreeningDecision,
  type ScreeningHit as ScreeningHitProto,
} from '../gen/caravan/compliance/v1/screening';
import type { AliasKind, ListEntry, ListEntryKind, PartyType } from '../screening/list-entry';
import type { ScreeningHit } from '../screening/screen-instruction';
import { nationalIdKey } from '../screening/identifier-index';
import type { ListVersionMeta } from '../store/list-store';
import { timestampOf } from './instruction-mapping';

const KINDS: readonly [ListEntryKind, EntryKind][] = [
  ['name', EntryKind.ENTRY_KIND_NAME],
  ['bic', EntryKind.ENTRY_KIND_BIC],
  ['iban', EntryKind.ENTRY_KIND_IBAN],
  ['wallet', EntryKind.ENTRY_KIND_WALLET],
  ['national-id', EntryKind.ENTRY_KIND_NATIONAL_ID],
  ['card-scheme', EntryKind.ENTRY_KIND_CARD_SCHEME],
  ['jurisdiction', EntryKind.ENTRY_KIND_JURISDICTION],
];
const PARTY_TYPES: readonly [PartyType, PartyTypeProto][] = [
  ['unknown', PartyTypeProto.PARTY_TYPE_UNSPECIFIED],
  ['person', PartyTypeProto.PARTY_TYPE_PERSON],
  ['entity', PartyTypeProto.PARTY_TYPE_ENTITY],
  ['vessel', PartyTypeProto.PARTY_TYPE_VESSEL],
  ['aircraft', PartyTypeProto.PARTY_TYPE_AIRCRAFT],
];

export const entryKindToProto = (kind: ListEntryKind): EntryKind => KINDS.find(([k]) => k === kind)![1];
const entryKindFromProto = (kind: EntryKind): ListEntryKind | null =>
  KINDS.find(([, p]) => p === kind)?.[0] ?? null;

export function versionToProto(meta: ListVersionMeta, current: number): ListVersion {
  return {
    list: meta.list,
    version: String(meta.version),
    entryCount: String(meta.entryCount),
    createdAt: timestampOf(meta.createdAtMs),
    createdBy: meta.createdBy,
    origin: meta.origin,
    current: meta.version === current,
    note: meta.note,
  };
}

const EMPTY: Omit<ListEntryProto, 'id' | 'kind' | 'ref' | 'subject' | 'programs'> = {
  name: '',
  aliases: [],
  partyType: PartyTypeProto.PARTY_TYPE_UNSPECIFIED,
  countries: [],
  bic: '',
  iban: '',
  network: '',
  address: '',
  scheme: '',
  country: '',
  value: '',
  iinRanges: [],
};

export function entryToProto(entry: ListEntry): ListEntryProto {
  const base = {
    ...EMPTY,
    id: entry.id,
    kind: entryKindToProto(entry.kind),
    ref: entry.ref,
    subject: entry.subject,
    programs: entry.programs,
  };
  switch (entry.kind) {
    case 'name':
      return {
        ...base,
        name: entry.name,
        aliases: entry.aliases,
        partyType: PARTY_TYPES.find(([t]) => t === entry.type)![1],
        countries: entry.countries,
      };
    case 'bic':
      return { ...base, bic: entry.bic };
    case 'iban':
      return { ...base, iban: entry.iban };
    case 'wallet':
      return { ...base, network: entry.network, address: entry.address };
    case 'national-id':
      return { ...base, scheme: entry.scheme, country: entry.country, value: entry.value };
    case 'card-scheme':
      return { ...base, scheme: entry.scheme, iinRanges: entry.iinRanges };
    case 'jurisdiction':
      return { ...base, country: entry.country };
  }
}

/** The domain entry for a proto entry, or null when its kind is not set. Field rules are checked separately. */
export function entryFromProto(p: ListEntryProto): ListEntry | null {
  const kind = entryKindFromProto(p.kind);
  const base = { id: p.id, ref: p.ref, subject: p.subject, programs: p.programs };
  switch (kind) {
    case null:
      return null;
    case 'name':
      return {
        ...base,
        kind,
        name: p.name,
        aliases: p.aliases.map((a) => ({ name: a.name, kind: a.kind as AliasKind })),
        type: PARTY_TYPES.find(([, t]) => t === p.partyType)?.[0] ?? 'unknown',
        countries: p.countries.map((c) => c.toUpperCase()),
      };
    case 'bic':
      return { ...base, kind, bic: p.bic };
    case 'iban':
      return { ...base, kind, iban: p.iban };
    case 'wallet':
      return { ...base, kind, network: p.network.toUpperCase(), address: p.address };
    case 'national-id':
      return {
        ...base,
        kind,
        scheme: p.scheme,
        country: p.country.toUpperCase(),
        value: nationalIdKey(p.value),
      };
    case 'card-scheme':
      return { ...base, kind, scheme: p.scheme.toUpperCase(), iinRanges: p.iinRanges };
    case 'jurisdiction':
      return { ...base, kind, country: p.country.toUpperCase() };
  }
}

export function hitToProto(hit: ScreeningHit): ScreeningHitProto {
  return {
    list: hit.list,
    listVersion: String(hit.listVersion),
    entryId: hit.entryId,
    kind: entryKindToProto(hit.kind),
    ref: hit.ref,
    subject: hit.subject,
    programs: hit.programs,
    field: hit.field,
    matched: hit.matched,
    nameKind: hit.nameKind,
    score: hit.score,
    pairs: hit.pairs,
    unmatchedQuery: hit.unmatchedQuery,
    unmatchedCandidate: hit.unmatchedCandidate,
    effect:
      hit.effect === 'block'
        ? ScreeningDecision.SCREENING_DECISION_BLOCK
        : ScreeningDecision.SCREENING_DECISION_REVIEW,
  };
}

export function decisionToProto(decision: 'clear' | 'review' | 'block'): ScreeningDecision {
  return decision === 'block'
    ? ScreeningDecision.SCREENING_DECISION_BLOCK
    : decision === 'review'
      ? ScreeningDecision.SCREENING_DECISION_REVIEW
      : ScreeningDecision.SCREENING_DECISION_CLEAR;
}
