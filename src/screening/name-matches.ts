/**
 * From list entries to explained matches: every primary name and alias as an indexed name, and
 * the collector that scores candidates and keeps each entry's best name. Shared by the index
 * and the full scan, so that both return exactly the same results. Names may come from several
 * lists (groups) searched at once: each list then gets the results it would get alone.
 */
import type { AliasKind, NameEntry, PartyType } from './list-entry';
import type { NameToken } from './name-normalise';
import type { KeySet } from './name-similarity';
import { QueryScorer, prepareName, type PreparedName, type SchemaHint, type TokenPair } from './name-score';

export interface NameMatch {
  entryId: string;
  ref: string;
  subject: string;
  matchedName: string;
  nameKind: 'primary' | AliasKind;
  score: number;
  pairs: TokenPair[];
  unmatchedQuery: string[];
  unmatchedCandidate: string[];
  programs: string[];
}

export interface NameSearchOptions {
  /** Names scoring below are not returned. */
  threshold: number;
  /** Most matches returned, best first; default 10. */
  limit?: number;
  /** Only entries of this type (or of unknown type); also tells the scorer person from entity. */
  type?: PartyType;
}

const DEFAULT_LIMIT = 10;
/** Above this limit the collector does not track the limit-th score (costlier than it saves). */
const MAX_TRACKED_LIMIT = 100;

export interface IndexedName {
  /** Position in the list of indexed names: breaks ties between equally scored names. */
  position: number;
  /** Which of the lists indexed together the name's entry is on (its place in their order). */
  group: number;
  entry: NameEntry;
  raw: string;
  kind: 'primary' | AliasKind;
  prepared: PreparedName;
}

/**
 * Primary name and aliases of every entry of every list, each normalised once, duplicates within
 * an entry dropped, and equal tokens shared between names (memory, and the scorer's similarity
 * cache), across the lists too.
 */
export function indexedNames(lists: readonly (readonly NameEntry[])[]): IndexedName[] {
  const tokens = new Map<string, { token: NameToken; keySet: KeySet }>();
  const intern = (token: NameToken, keySet: KeySet) => {
    const key = `${token.kind}|${token.text}|${token.keys.join(',')}|${token.legalFamily ?? ''}`;
    let known = tokens.get(key);
    if (!known) {
      known = { token, keySet };
      tokens.set(key, known);
    }
    return known;
  };
  const names: IndexedName[] = [];
  lists.forEach((entries, group) => {
    for (const entry of entries) addEntry(entry, group);
  });
  return names;

  function addEntry(entry: NameEntry, group: number): void {
    const seen = new Set<string>();
    const all: { raw: string; kind: 'primary' | AliasKind }[] = [
      { raw: entry.name, kind: 'primary' },
      ...entry.aliases.map((a) => ({ raw: a.name, kind: a.kind })),
    ];
    for (const { raw, kind } of all) {
      const prepared = prepareName(raw);
      const signature = prepared.tokens.map((t) => `${t.kind}:${t.keys.join(',')}`).join(' ');
      if (prepared.tokens.length === 0 || seen.has(signature)) continue;
      seen.add(signature);
      const interned = prepared.tokens.map((token, i) => intern(token, prepared.keySets[i]));
      prepared.tokens = interned.map((t) => t.token);
      prepared.keySets = interned.map((t) => t.keySet);
      names.push({ position: names.length, group, entry, raw, kind, prepared });
    }
  }
}

export function typeAllowed(entry: NameEntry, type: PartyType | undefined): boolean {
  return type === undefined || type === 'unknown' || entry.type === type || entry.type === 'unknown';
}

export function schemaOf(type: PartyType): SchemaHint | undefined {
  if (type === 'person') return 'person';
  return type === 'unknown' ? undefined : 'entity';
}

interface Best {
  name: IndexedName;
  score: number;
  schema: SchemaHint | undefined;
}

/**
 * Scores candidates in any order and keeps the best-scoring name per entry, and the `limit` best
 * entries of each of `groups` lists.
 */
export class MatchCollector {
  private readonly scorer: QueryScorer;
  private readonly best = new Map<NameEntry, Best>();
  private readonly limit: number;
  /** Per list, its `limit` best entry scores so far, best first, when `limit` is small enough to track. */
  private readonly top: { entry: NameEntry; score: number }[][];
  /** Per list, tieCutoff's answer until its entries change; undefined when it must be worked out again. */
  private readonly cutoffs: (string | null | undefined)[];

  constructor(
    query: PreparedName,
    private readonly options: NameSearchOptions,
    private readonly groups = 1,
  ) {
    this.scorer = new QueryScorer(query);
    this.limit = options.limit ?? DEFAULT_LIMIT;
    this.top = Array.from({ length: groups }, () => []);
    this.cutoffs = new Array<undefined>(groups);
  }

  /**
   * The score a candidate of list `group` must reach to change the results: the threshold, or
   * once `limit` of its entries are held, the lowest of them (a tie may still win on entry id, so
   * equal is enough).
   */
  floor(group: number): number {
    const top = this.top[group];
    return top.length >= this.limit ? top[top.length - 1].score : this.options.threshold;
  }

  offer(name: IndexedName): void {
    const schema = schemaOf(this.options.type ?? name.entry.type);
    const score = this.scorer.score(name.prepared, schema);
    if (score < this.options.threshold) return;
    const current = this.best.get(name.entry);
    // Equal scores keep the earlier name, whatever order the candidates come in.
    if (
      current &&
      (current.score > score || (current.score === score && current.name.position < name.position))
    ) {
      return;
    }
    this.best.set(name.entry, { name, score, schema });
    this.cutoffs[name.group] = undefined;
    if (this.limit <= MAX_TRACKED_LIMIT) this.track(name, score);
  }

  /**
   * Whether `name` scoring no more than floor() might still change the results: once `limit`
   * entries of its list are held it would only tie with the lowest of them, which it beats on
   * entry id alone (results()), and it may replace the name shown for its own entry. Names scoring
   * as the floor often come by the dozen (a given name alone against "SURNAME, Given" names), each
   * of which would otherwise be aligned only to lose the tie.
   */
  tieMightWin(name: IndexedName): boolean {
    if (this.top[name.group].length < this.limit || this.best.has(name.entry)) return true;
    const cutoff = this.tieCutoff(name.group);
    return cutoff === null || compareEntryIds(name.entry.id, cutoff) < 0;
  }

  /** The entry id a tie at floor(group) must come before to be returned; null when any would be. */
  private tieCutoff(group: number): string | null {
    const known = this.cutoffs[group];
    if (known !== undefined) return known;
    const floor = this.floor(group);
    let above = 0;
    const tied: string[] = [];
    for (const { name, score } of this.best.values()) {
      if (name.group !== group) continue;
      if (score > floor) above++;
      else if (score === floor) tied.push(name.entry.id);
    }
    tied.sort(compareEntryIds);
    const room = this.limit - above;
    const cutoff = room > 0 && room <= tied.length ? tied[room - 1] : null;
    this.cutoffs[group] = cutoff;
    return cutoff;
  }

  private track(name: IndexedName, score: number): void {
    const top = this.top[name.group];
    const entry = name.entry;
    const at = top.findIndex((t) => t.entry === entry);
    if (at >= 0) top[at].score = score;
    else if (top.length < this.limit) top.push({ entry, score });
    else if (score > top[top.length - 1].score) top[top.length - 1] = { entry, score };
    else return;
    top.sort((a, b) => b.score - a.score);
  }

  /**
   * Per list, its best entries first, ties in entry id order; explanations only for what is
   * returned.
   */
  results(): NameMatch[][] {
    const byGroup: Best[][] = Array.from({ length: this.groups }, () => []);
    for (const best of this.best.values()) byGroup[best.name.group].push(best);
    return byGroup.map((bests) =>
      bests
        .sort((a, b) => b.score - a.score || compareEntryIds(a.name.entry.id, b.name.entry.id))
        .slice(0, this.limit)
        .map(({ name, schema }) => {
          const explained = this.scorer.explain(name.prepared, schema);
          return {
            entryId: name.entry.id,
            ref: name.entry.ref,
            subject: name.entry.subject,
            matchedName: name.raw,
            nameKind: name.kind,
            score: explained.score,
            pairs: explained.pairs,
            unmatchedQuery: explained.unmatchedQuery,
            unmatchedCandidate: explained.unmatchedCandidate,
            programs: name.entry.programs,
          };
        }),
    );
  }
}

/** The order of entry ids that breaks ties between equal scores in the results. */
export function compareEntryIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Scores every name of `groups` lists: the reference the index must agree with, and its fallback. */
export function scanAll(
  names: readonly IndexedName[],
  name: string | PreparedName,
  options: NameSearchOptions,
  groups: number,
): NameMatch[][] {
  const query = typeof name === 'string' ? prepareName(name) : name;
  const collector = new MatchCollector(query, options, groups);
  if (query.tokens.length === 0) return collector.results();
  for (const candidate of names) if (typeAllowed(candidate.entry, options.type)) collector.offer(candidate);
  return collector.results();
}
