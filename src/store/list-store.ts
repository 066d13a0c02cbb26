import type { Redis, Cluster } from 'ioredis';
import type { ListEntry, ListEntryKind } from '../screening/list-entry';
import type { KeySpace } from './keys';
import { lua } from './lua-scripts';
import { intentArgs, type AuditIntent } from './audit-log';
import { parseStoredJson } from './store-data';

/**
 * What a version's entries hold beyond their number. An import can keep the entry count and still
 * lose every alias (an empty alt.csv) or every wallet address (an empty sdn_comments.csv), so the
 * next import is compared with these too.
 */
export interface VersionContent {
  /** Aliases of the name entries. */
  aliases: number;
  /** Entries per kind: names, and each kind of identifier. */
  kinds: Partial<Record<ListEntryKind, number>>;
}

/** What is kept about each list version beside its entries. */
export interface ListVersionMeta {
  list: string;
  version: number;
  entryCount: number;
  createdAtMs: number;
  createdBy: string;
  origin: string;
  note: string;
  /** built → activated, or built → refused (its entries are then deleted). */
  status: 'built' | 'activated' | 'refused';
  /** Absent in the meta of versions written before it was recorded (see ListStore.content). */
  content?: VersionContent;
}

/**
 * A version being built no longer holds what was written of it: its staging keys expired between
 * two writes (or were changed by someone else). Nothing was activated, and what is left expires.
 */
export class StagingLostError extends Error {
  constructor(list: string, version: number) {
    super(
      `version ${version} of ${list} was not written whole: its keys in Redis expired or changed between two ` +
        `writes (a version being built expires ${STAGING_TTL_MS / 60_000} minutes after its last write); ` +
        'nothing was activated, import again',
    );
    this.name = 'StagingLostError';
  }
}

export type ActivateResult = { kind: 'ok' } | { kind: 'moved'; current: number } | { kind: 'missing' };

export interface ListStore {
  listNames(): Promise<string[]>;
  currentVersion(list: string): Promise<number>;
  /** Activated versions, newest first. */
  versions(list: string): Promise<ListVersionMeta[]>;
  meta(list: string, version: number): Promise<ListVersionMeta | null>;
  /** The version's content counts: from its meta, or counted over its entries for an older meta. */
  content(list: string, version: number): Promise<VersionContent>;
  /**
   * Writes a new, not yet current version; screening cannot see it until it is activated. Throws
   * StagingLostError when the version's keys expired while it was written.
   */
  createVersion(list: string, entries: ListEntry[], meta: VersionOrigin): Promise<ListVersionMeta>;
  /** A new version equal to `from` with one entry added or replaced (upsert) or removed. */
  deriveVersion(
    list: string,
    from: number,
    change: { op: 'upsert'; entry: ListEntry } | { op: 'remove'; entryId: string },
    meta: VersionOrigin,
  ): Promise<ListVersionMeta | 'absent'>;
  /**
   * Makes `version` current if the current version is still `expected` (0 for none), leaving the
   * change's audit entry pending beside it.
   */
  activate(list: string, version: number, expected: number, audit?: AuditIntent): Promise<ActivateResult>;
  /** Where the list's changes leave their audit entries pending (AuditLog.settle). */
  auditPendingOf(list: string): string;
  /** Marks a built version refused and frees its entries; an activated one is kept. */
  refuse(list: string, version: number): Promise<void>;
  loadEntries(list: string, version: number): Promise<ListEntry[]>;
  entriesPage(
    list: string,
    version: number,
    cursor: string,
    count: number,
  ): Promise<{ entries: ListEntry[]; cursor: string }>;
  /**
   * Frees the entries of activated versions older than the newest `keep` (never the current one,
   * even when a rollback makes one of them current meanwhile); answers how many it freed.
   */
  prune(list: string, keep: number): Promise<number>;
}

export interface VersionOrigin {
  createdBy: string;
  origin: string;
  note: string;
  nowMs: number;
}

const WRITE_BATCH = 1000;

/**
 * How long the keys of a version being built live unless it is activated. Each write renews it, so
 * it bounds only the pause between two writes of one build and between its last write and the
 * activation (milliseconds in practice); a build that outlives it is refused, by its next write
 * (stage-hash.lua) or at activation, never activated half-empty.
 */
export const STAGING_TTL_MS = 10 * 60_000;

type ListScriptClient = (Redis | Cluster) & {
  activateListVersion(...args: (string | number)[]): Promise<(string | number)[]>;
  deriveListVersion(...args: (string | number)[]): Promise<(string | number)[]>;
  stageHash(...args: (string | number)[]): Promise<number>;
  refuseListVersion(...args: (string | number)[]): Promise<string>;
  pruneListVersions(...args: (string | number)[]): Promise<number>;
};

function parseMeta(list: string, version: number, hash: Record<string, string>): ListVersionMeta | null {
  if (hash.created_at === undefined) return null;
  const status = hash.status === 'activated' || hash.status === 'refused' ? hash.status : 'built';
  const meta: ListVersionMeta = {
    list,
    version,
    entryCount: Number(hash.count ?? 0),
    createdAtMs: Number(hash.created_at),
    createdBy: hash.created_by ?? '',
    origin: hash.origin ?? '',
    note: hash.note ?? '',
    status,
  };
  const content = parseContent(hash.content);
  if (content) meta.content = content;
  return meta;
}

/** Counts of the entries, each id once (the last of an id, as the version's hash keeps it). */
export function countContent(entries: readonly ListEntry[]): VersionContent {
  const content: VersionContent = { aliases: 0, kinds: {} };
  const seen = new Set<string>();
  for (let i = entries.length - 1; i >= 0; i--) {
    if (seen.has(entries[i].id)) continue;
    seen.add(entries[i].id);
    addContent(content, entries[i], 1);
  }
  return content;
}

function addContent(content: VersionContent, entry: ListEntry, sign: 1 | -1): void {
  content.kinds[entry.kind] = (content.kinds[entry.kind] ?? 0) + sign;
  if (entry.kind === 'name') content.aliases += sign * entry.aliases.length;
}

const ENTRY_KINDS: ReadonlySet<string> = new Set<ListEntryKind>([
  'name',
  'bic',
  'iban',
  'wallet',
  'national-id',
  'card-scheme',
  'jurisdiction',
]);

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

// A field that does not read as counts is treated as absent: the counts are then taken again.
function parseContent(json: string | undefined): VersionContent | undefined {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { aliases, kinds } = value as { aliases?: unknown; kinds?: unknown };
  if (!isCount(aliases) || typeof kinds !== 'object' || kinds === null) return undefined;
  const content: VersionContent = { aliases, kinds: {} };
  for (const [kind, count] of Object.entries(kinds)) {
    if (!ENTRY_KINDS.has(kind) || !isCount(count)) return undefined;
    content.kinds[kind as ListEntryKind] = count;
  }
  return content;
}

function parseEntries(flat: string[]): ListEntry[] {
  const entries: ListEntry[] = [];
  for (let i = 1; i < flat.length; i += 2)
    entries.push(parseStoredJson(flat[i], 'a list entry') as ListEntry);
  return entries;
}

export function createListStore(redis: Redis | Cluster, keys: KeySpace): ListStore {
  redis.defineCommand('activateListVersion', { numberOfKeys: 5, lua: lua('activate-list-version') });
  redis.defineCommand('deriveListVersion', { numberOfKeys: 2, lua: lua('derive-list-version') });
  redis.defineCommand('stageHash', { numberOfKeys: 1, lua: lua('stage-hash') });
  redis.defineCommand('refuseListVersion', { numberOfKeys: 3, lua: lua('refuse-list-version') });
  redis.defineCommand('pruneListVersions', { lua: lua('prune-list-versions') });
  const scripts = redis as ListScriptClient;

  async function newVersion(list: string): Promise<number> {
    await redis.sadd(keys.listNames(), list);
    return redis.incr(keys.list(list).sequence);
  }

  /**
   * Every entry of a version once, a page at a time, so that going through a large list never
   * holds all of it: HSCAN may return an entry twice (while Redis resizes the hash).
   */
  async function eachEntry(list: string, version: number, visit: (entry: ListEntry) => void): Promise<void> {
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const page = await store.entriesPage(list, version, cursor, 2000);
      for (const entry of page.entries) {
        if (seen.has(entry.id)) continue;
        seen.add(entry.id);
        visit(entry);
      }
      cursor = page.cursor;
    } while (cursor !== '0');
  }

  async function writeMeta(
    list: string,
    version: number,
    count: number,
    origin: VersionOrigin,
    content: VersionContent,
  ) {
    const meta: ListVersionMeta = {
      list,
      version,
      entryCount: count,
      createdAtMs: origin.nowMs,
      createdBy: origin.createdBy,
      origin: origin.origin,
      note: origin.note,
      status: 'built',
      content,
    };
    const held = await scripts.stageHash(
      keys.list(list).meta(version),
      STAGING_TTL_MS,
      0,
      'content',
      JSON.stringify(content),
      'count',
      count,
      'created_at',
      origin.nowMs,
      'created_by',
      origin.createdBy,
      'origin',
      origin.origin,
      'note',
      origin.note,
      'status',
      'built',
    );
    if (held === -1) throw new StagingLostError(list, version);
    return meta;
  }

  const store: ListStore = {
    async listNames() {
      return (await redis.smembers(keys.listNames())).sort();
    },

    async currentVersion(list) {
      return Number((await redis.get(keys.list(list).current)) ?? 0);
    },

    async versions(list) {
      const numbers = (await redis.zrevrange(keys.list(list).versions, 0, -1)).map(Number);
      const metas = await Promise.all(numbers.map((v) => store.meta(list, v)));
      return metas.filter((m): m is ListVersionMeta => m !== null);
    },

    async meta(list, version) {
      return parseMeta(list, version, await redis.hgetall(keys.list(list).meta(version)));
    },

    async content(list, version) {
      const recorded = (await store.meta(list, version))?.content;
      if (recorded) return recorded;
      const content: VersionContent = { aliases: 0, kinds: {} };
      await eachEntry(list, version, (entry) => addContent(content, entry, 1));
      return content;
    },

    async createVersion(list, entries, origin) {
      const version = await newVersion(list);
      const key = keys.list(list).entries(version);
      // The distinct ids written so far: the fields the hash must hold.
      const written = new Set<string>();
      for (let i = 0; i < entries.length; i += WRITE_BATCH) {
        const before = written.size;
        const batch: string[] = [];
        for (const entry of entries.slice(i, i + WRITE_BATCH)) {
          batch.push(entry.id, JSON.stringify(entry));
          written.add(entry.id);
        }
        const held = await scripts.stageHash(key, STAGING_TTL_MS, before, ...batch);
        // What is left of the build carries its TTL and expires.
        if (held !== written.size) throw new StagingLostError(list, version);
      }
      return writeMeta(list, version, written.size, origin, countContent(entries));
    },

    async deriveVersion(list, from, change, origin) {
      const version = await newVersion(list);
      const k = keys.list(list);
      const reply =
        change.op === 'upsert'
          ? await scripts.deriveListVersion(
              k.entries(from),
              k.entries(version),
              'upsert',
              change.entry.id,
              JSON.stringify(change.entry),
              STAGING_TTL_MS,
            )
          : await scripts.deriveListVersion(
              k.entries(from),
              k.entries(version),
              'remove',
              change.entryId,
              '',
              STAGING_TTL_MS,
            );
      if (reply[0] === 'absent') return 'absent';
      const fromContent = await store.content(list, from);
      const content: VersionContent = { aliases: fromContent.aliases, kinds: { ...fromContent.kinds } };
      const replaced = String(reply[2]);
      if (replaced !== '') addContent(content, parseStoredJson(replaced, 'a list entry') as ListEntry, -1);
      if (change.op === 'upsert') addContent(content, change.entry, 1);
      return writeMeta(list, version, Number(reply[1]), origin, content);
    },

    async activate(list, version, expected, audit) {
      const k = keys.list(list);
      const reply = await scripts.activateListVersion(
        k.current,
        k.versions,
        k.meta(version),
        k.entries(version),
        k.auditPending,
        String(expected),
        String(version),
        keys.listsChannel(),
        list,
        ...intentArgs(audit),
      );
      if (reply[0] === 'ok') return { kind: 'ok' };
      if (reply[0] === 'moved') return { kind: 'moved', current: Number(reply[1]) };
      return { kind: 'missing' };
    },

    auditPendingOf: (list) => keys.list(list).auditPending,

    async refuse(list, version) {
      const k = keys.list(list);
      await scripts.refuseListVersion(k.current, k.meta(version), k.entries(version), version);
    },

    async loadEntries(list, version) {
      const entries: ListEntry[] = [];
      await eachEntry(list, version, (entry) => entries.push(entry));
      return entries;
    },

    async entriesPage(list, version, cursor, count) {
      const [next, flat] = await redis.hscan(keys.list(list).entries(version), cursor, 'COUNT', count);
      return { entries: parseEntries(flat), cursor: next };
    },

    async prune(list, keep) {
      const k = keys.list(list);
      const old = (await redis.zrevrange(k.versions, keep, -1)).map(Number);
      if (old.length === 0) return 0;
      return scripts.pruneListVersions(1 + old.length, k.current, ...old.map((v) => k.entries(v)), ...old);
    },
  };
  return store;
}
