import {
  CardScheme,
  IdentifierType,
  type Card,
  type Party,
  type SettlementInstruction,
} from '../gen/caravan/settlement/v1/instruction';
import { nationalIdKey, type IdentifierIndex } from './identifier-index';
import type { ListEntry, ListEntryKind, NameEntry, NationalIdEntry } from './list-entry';
import type { NameMatch, NameSearchOptions, SharedNameIndex } from './name-index';
import { prepareName, type PreparedName } from './name-score';

/** One list version, indexed for screening (list-index.ts). */
export interface ListIndex {
  list: string;
  version: number;
  /** Its names: an index of its own, or its place in one shared with other lists. */
  names: {
    index: SharedNameIndex;
    /** The list's place among the index's lists. */
    group: number;
    /** Its name entries, to build a shared index again when another list sharing it changes. */
    entries: readonly NameEntry[];
  };
  identifiers: IdentifierIndex;
}

export type HitEffect = 'review' | 'block';

export interface ScreeningHit {
  list: string;
  listVersion: number;
  entryId: string;
  kind: ListEntryKind;
  ref: string;
  subject: string;
  programs: string[];
  /** The instruction field that matched, e.g. "creditor.name", "creditor_agent.bic". */
  field: string;
  /** The listed value that matched (list data, never the screened party's own value). */
  matched: string;
  nameKind: string;
  score: number;
  pairs: { query: string; candidate: string; similarity: number }[];
  unmatchedQuery: string[];
  unmatchedCandidate: string[];
  effect: HitEffect;
}

export interface ScreeningResult {
  decision: 'clear' | 'review' | 'block';
  hits: ScreeningHit[];
  versions: { list: string; version: number }[];
}

export interface ScreeningOptions {
  /** Name matches scoring at least this are held for review. */
  reviewThreshold: number;
}

/** What of one party (or a bare agent) is screened, and under which field path. */
export interface PartyToScreen {
  field: string;
  party?: Party | undefined;
  bics?: { field: string; bic: string }[];
  card?: Card | undefined;
  /** Free text (remittance information) searched for listed BICs, IBANs and wallet addresses. */
  text?: { field: string; value: string };
}

/**
 * Which list schemes an instruction's identifier type can match; generic schemes match any, and a
 * NATIONAL_ID matches every scheme: what a sender files under it (an internal passport, a tax
 * number) is the sender's reading, and a listed number is stopped whatever it is called.
 */
const SCHEMES_OF: Partial<Record<IdentifierType, readonly string[]>> = {
  [IdentifierType.IDENTIFIER_TYPE_KZ_BIN]: ['kz-bin', 'kz-iin'],
  [IdentifierType.IDENTIFIER_TYPE_KZ_IIN]: ['kz-iin', 'kz-bin'],
  [IdentifierType.IDENTIFIER_TYPE_RU_INN]: ['ru-inn'],
  [IdentifierType.IDENTIFIER_TYPE_RU_OGRN]: ['ru-ogrn'],
  [IdentifierType.IDENTIFIER_TYPE_LEI]: ['lei'],
  [IdentifierType.IDENTIFIER_TYPE_PASSPORT]: ['passport'],
};
const GENERIC_SCHEMES: ReadonlySet<string> = new Set(['registration', 'tax-id', 'national-id', 'other']);

function identifierMatches(entry: NationalIdEntry, type: IdentifierType, issuerCountry: string): boolean {
  const schemes = SCHEMES_OF[type];
  const anyScheme = type === IdentifierType.IDENTIFIER_TYPE_NATIONAL_ID;
  if (!anyScheme && !(schemes ?? []).includes(entry.scheme) && !GENERIC_SCHEMES.has(entry.scheme))
    return false;
  return entry.country === '' || issuerCountry === '' || entry.country === issuerCountry;
}

/** National ids shorter than this (letters and digits) hold for review rather than reject. */
const MIN_BLOCKING_ID_LENGTH = 5;

/** An IBAN's shape: an account number written like one is screened as one (list and country). */
const IBAN_SHAPED = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}$/;

function exactHit(
  index: ListIndex,
  entry: ListEntry,
  field: string,
  matched: string,
  effect: HitEffect = 'block',
): ScreeningHit {
  return {
    list: index.list,
    listVersion: index.version,
    entryId: entry.id,
    kind: entry.kind,
    ref: entry.ref,
    subject: entry.subject,
    programs: entry.programs,
    field,
    matched,
    nameKind: '',
    score: 1,
    pairs: [],
    unmatchedQuery: [],
    unmatchedCandidate: [],
    effect,
  };
}

const BIC_SHAPED = /^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/;
const TEXT_TOKEN = /[A-Za-z0-9]+/g;

/**
 * Listed identifiers written in free text ("on behalf of ... SWIFT VTBAKZKZ"): each run of letters
 * and digits looked up as a BIC, an IBAN and a wallet address. What free text says is for an
 * officer to weigh, so these hold the instruction rather than reject it.
 */
function textHits(index: ListIndex, field: string, text: string): ScreeningHit[] {
  const ids = index.identifiers;
  const hits: ScreeningHit[] = [];
  for (const [token] of text.matchAll(TEXT_TOKEN)) {
    const upper = token.toUpperCase();
    if (BIC_SHAPED.test(upper))
      for (const e of ids.bic(upper)) hits.push(exactHit(index, e, field, e.bic, 'review'));
    if (IBAN_SHAPED.test(upper))
      for (const e of ids.iban(upper)) hits.push(exactHit(index, e, field, e.iban, 'review'));
    for (const e of ids.wallet(token))
      hits.push(exactHit(index, e, field, `${e.network} ${e.address}`, 'review'));
  }
  return hits;
}

const cardSchemeName = (scheme: CardScheme): string =>
  (CardScheme[scheme] as string | undefined)?.replace('CARD_SCHEME_', '') ?? '';

/** `nameMatches`: what the list holds like the party's name. */
function screenOne(
  index: ListIndex,
  target: PartyToScreen,
  nameMatches: readonly NameMatch[],
): ScreeningHit[] {
  const hits: ScreeningHit[] = [];
  const ids = index.identifiers;
  const { party, field } = target;
  const checkCountry = (country: string, where: string) => {
    if (country === '') return;
    for (const e of ids.jurisdiction(country)) hits.push(exactHit(index, e, where, e.country));
  };
  for (const { field: bicField, bic } of target.bics ?? []) {
    if (bic === '') continue;
    for (const e of ids.bic(bic)) hits.push(exactHit(index, e, bicField, e.bic));
    checkCountry(bic.slice(4, 6), bicField);
  }
  if (party) {
    for (const m of nameMatches) {
      hits.push({
        list: index.list,
        listVersion: index.version,
        entryId: m.entryId,
        kind: 'name',
        ref: m.ref,
        subject: m.subject,
        programs: m.programs,
        field: `${field}.name`,
        matched: m.matchedName,
        nameKind: m.nameKind,
        score: m.score,
        pairs: m.pairs,
        unmatchedQuery: m.unmatchedQuery,
        unmatchedCandidate: m.unmatchedCandidate,
        effect: 'review',
      });
    }
    checkCountry(party.country, `${field}.country`);
    const account = party.account?.kind;
    if (account?.$case === 'iban') {
      for (const e of ids.iban(account.value)) hits.push(exactHit(index, e, `${field}.account.iban`, e.iban));
      checkCountry(account.value.slice(0, 2).toUpperCase(), `${field}.account.iban`);
    } else if (account?.$case === 'accountNumber') {
      // An IBAN sent as a domestic account number (Iran's, which the IBAN field refuses) must not
      // pass what the IBAN field would stop.
      const where = `${field}.account.account_number`;
      for (const e of ids.iban(account.value)) hits.push(exactHit(index, e, where, e.iban));
      const compact = account.value.replace(/\s+/g, '').toUpperCase();
      if (IBAN_SHAPED.test(compact)) checkCountry(compact.slice(0, 2), where);
    } else if (account?.$case === 'wallet') {
      for (const e of ids.wallet(account.value.address)) {
        hits.push(exactHit(index, e, `${field}.account.wallet`, `${e.network} ${e.address}`));
      }
    }
    party.identifiers.forEach((identifier, i) => {
      const where = `${field}.identifiers[${i}]`;
      if (identifier.type === IdentifierType.IDENTIFIER_TYPE_BIC) {
        for (const e of ids.bic(identifier.value)) hits.push(exactHit(index, e, where, e.bic));
        checkCountry(identifier.value.slice(4, 6).toUpperCase(), where);
        return;
      }
      // The issuing country of a passport or id is the holder's, as much as the party's country is.
      checkCountry(identifier.issuerCountry.toUpperCase(), where);
      for (const e of ids.nationalId(identifier.value)) {
        // A number this short (OFAC lists a "registration 1000") names many parties besides the
        // listed one: an officer decides, rather than a rejection.
        const effect = nationalIdKey(e.value).length < MIN_BLOCKING_ID_LENGTH ? 'review' : 'block';
        if (identifierMatches(e, identifier.type, identifier.issuerCountry))
          hits.push(exactHit(index, e, where, e.value, effect));
      }
    });
  }
  if (target.text && target.text.value !== '')
    hits.push(...textHits(index, target.text.field, target.text.value));
  if (target.card) {
    for (const e of ids.card(cardSchemeName(target.card.scheme), target.card.bin)) {
      hits.push(exactHit(index, e, `${field === '' ? '' : `${field}.`}card`, e.scheme));
    }
  }
  return hits;
}

/**
 * Per list, in their order, its matches of one name: each index searched once, however many of
 * the lists share it.
 */
export function searchNames(
  lists: readonly ListIndex[],
  name: PreparedName,
  options: NameSearchOptions,
): NameMatch[][] {
  const searched = new Map<SharedNameIndex, NameMatch[][]>();
  return lists.map(({ names }) => {
    let found = searched.get(names.index);
    if (found === undefined) {
      found = names.index.search(name, options);
      searched.set(names.index, found);
    }
    return found[names.group];
  });
}

/** Screens parties, agents and a card against every list; identifier hits block, name hits review. */
export function screenTargets(
  targets: readonly PartyToScreen[],
  lists: readonly ListIndex[],
  options: ScreeningOptions,
): ScreeningResult {
  // Each name is normalised once for every list rather than once per list, and not at all when no
  // list holds a name.
  const anyNames = lists.some((index) => index.names.index.size > 0);
  const matches = targets.map((t) =>
    anyNames && t.party && t.party.name !== ''
      ? searchNames(lists, prepareName(t.party.name), { threshold: options.reviewThreshold })
      : lists.map(() => []),
  );
  const hits = lists.flatMap((index, l) => targets.flatMap((t, i) => screenOne(index, t, matches[i][l])));
  hits.sort((a, b) => (a.effect === b.effect ? b.score - a.score : a.effect === 'block' ? -1 : 1));
  const decision = hits.some((h) => h.effect === 'block') ? 'block' : hits.length > 0 ? 'review' : 'clear';
  return { decision, hits, versions: lists.map((l) => ({ list: l.list, version: l.version })) };
}

/** The agents whose BICs are screened, with their proto field paths (worked out once, not per call). */
const AGENT_FIELDS = (['instructingAgent', 'instructedAgent', 'debtorAgent', 'creditorAgent'] as const).map(
  (key) => ({ key, field: key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) + '.bic' }),
);

/**
 * Everything of an instruction that can be on a list: both parties (names, countries, accounts,
 * identifiers), the four agents' BICs, the funding card, and identifiers written in the
 * remittance information.
 */
export function screenInstruction(
  instruction: SettlementInstruction,
  lists: readonly ListIndex[],
  options: ScreeningOptions,
): ScreeningResult {
  const agents = AGENT_FIELDS.map(({ key, field }) => ({ field, bic: instruction[key]?.bic ?? '' }));
  return screenTargets(
    [
      { field: 'debtor', party: instruction.debtor },
      { field: 'creditor', party: instruction.creditor },
      {
        field: '',
        bics: agents,
        card: instruction.card,
        text: { field: 'remittance_information', value: instruction.remittanceInformation },
      },
    ],
    lists,
    options,
  );
}
