/**
 * From list entries to explained matches: every primary name and alias as an indexed name, and
 * the collector that scores candidates and keeps each entry's best name. Shared by the index
 * and the full scan, so that both return exactly the same results.
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
  entry: NameEntry;
  raw: string;
  kind: 'primary' | AliasKind;
  prepared: PreparedName;
}

/**
 * Primary name and aliases of every entry, each normalised once, duplicates within an entry
 * dropped, and equal tokens shared between names (memory, and the scorer's similarity cache).
 */
export function indexedNames(entries: readonly NameEntry[]): IndexedName[] {
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
  for (const entry of entries) {
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
      names.push({ position: names.length, entry, raw, kind, prepared });
    }
  }
  return names;
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

/** Scores candidates in any order and keeps the best-scoring name per entry. */
export class MatchCollector {
  private readonly scorer: QueryScorer;
  private readonly best = new Map<NameEntry, Best>();
  private readonly limit: number;
  /** The `limit` best entry scores so far, best first, when `limit` is small enough to track. */
  private readonly top: { entry: NameEntry; score: number }[] = [];
  /** tieCutoff's answer until `best` changes; undefined when it must be worked out again. */
  private cutoff: string | null | undefined = null;

  constructor(
    query: PreparedName,
    private readonly options: NameSearchOptions,
  ) {
    this.scorer = new QueryScorer(query);
    this.limit = options.limit ?? DEFAULT_LIMIT;
  }

  /**
   * The score a candidate must reach to change the results: the threshold, or once `limit`
   * entries are held, the lowest of them (a tie may still win on entry id, so equal is enough).
   */
  floor(): number {
    return this.top.length >= this.limit ? this.top[this.top.length - 1].score : this.options.threshold;
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
    this.cutoff = undefined;
    if (this.limit <= MAX_TRACKED_LIMIT) this.track(name.entry, score);
  }

  /**
   * Whether a name of `entry` scoring no more than floor() might still change the results: once
   * `limit` entries are held it would only tie with the lowest of them, which it beats on entry id
   * alone (results()), and it may replace the name shown for its own entry. Names scoring as the
   * floor often come by the dozen (a given name alone against "SURNAME, Given" names), each of which
   * would otherwise be aligned only to lose the tie.
   */
  tieMightWin(entry: NameEntry): boolean {
    if (this.top.length < this.limit || this.best.has(entry)) return true;
    const cutoff = this.tieCutoff();
    return cutoff === null || compareEntryIds(entry.id, cutoff) < 0;
  }

  /** The entry id a tie at floor() must come before to be returned; null when any would be. */
  private tieCutoff(): string | null {
    if (this.cutoff !== undefined) return this.cutoff;
    const floor = this.floor();
    let above = 0;
    const tied: string[] = [];
    for (const { name, score } of this.best.values()) {
      if (score > floor) above++;
      else if (score === floor) tied.push(name.entry.id);
    }
    tied.sort(compareEntryIds);
    const room = this.limit - above;
    this.cutoff = room > 0 && room <= tied.length ? tied[room - 1] : null;
    return this.cutoff;
  }

  private track(entry: NameEntry, score: number): void {
    const at = this.top.findIndex((t) => t.entry === entry);
    if (at >= 0) this.top[at].score = score;
    else if (this.top.length < this.limit) this.top.push({ entry, score });
    else if (score > this.top[this.top.length - 1].score) this.top[this.top.length - 1] = { entry, score };
    else return;
    this.top.sort((a, b) => b.score - a.score);
  }

  /** Best entries first, ties in entry id order; explanations only for what is returned. */
  results(): NameMatch[] {
    return [...this.best.values()]
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
      });
  }
}

/** The order of entry ids that breaks ties between equal scores in the results. */
export function compareEntryIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Scores every name: the reference the index must agree with, and its fallback. */
export function scanAll(
  names: readonly IndexedName[],
  name: string | PreparedName,
  options: NameSearchOptions,
): NameMatch[] {
  const query = typeof name === 'string' ? prepareName(name) : name;
  if (query.tokens.length === 0) return [];
  const collector = new MatchCollector(query, options);
  for (const candidate of names) if (typeAllowed(candidate.entry, options.type)) collector.offer(candidate);
  return collector.results();
}
