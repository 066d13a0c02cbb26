import type { Readable } from 'node:stream';
import type { ListEntry } from '../screening/list-entry';
import type { SettlementError } from '../settlement/errors';
import { invalidArgument, type FieldViolation } from '../settlement/errors';
import { auditIntent, type AuditLog } from '../store/audit-log';
import { unconfirmedDecision, type DecisionReplication } from '../settlement/decision-replication';
import {
  countContent,
  StagingLostError,
  type ListStore,
  type ListVersionMeta,
  type VersionContent,
} from '../store/list-store';
import type { ImportError, ImportResult } from './importers/import-result';

export type ListFormatName = 'ofac-sdn' | 'ofac-consolidated' | 'un-xml' | 'csv' | 'json';

export type ParseList = (
  format: ListFormatName,
  files: { name: string; stream: Readable }[],
) => Promise<ImportResult>;

export interface ImportOutcome {
  /** The version built; absent when the files were refused before a version was written. */
  version: ListVersionMeta | null;
  activated: boolean;
  previousEntryCount: number;
  problems: ImportError[];
  problemsOmitted: number;
  refusal: string;
}

export interface ListMaintenanceDeps {
  lists: ListStore;
  audit: AuditLog;
  parse: ParseList;
  now: () => number;
  /**
   * Share an import may lose against the current version before it needs force: of the entries,
   * of the aliases, and of the entries of each kind.
   */
  maxDropShare: number;
  keepVersions: number;
  /** With CARAVAN_REDIS_MIN_REPLICAS: a list change is acknowledged once replicas hold it. */
  replication?: DecisionReplication;
}

export interface ImportRequest {
  list: string;
  format: ListFormatName;
  files: { name: string; stream: Readable }[];
  force: boolean;
  note: string;
  actor: string;
  /**
   * True once the uploading client has cancelled. A cancelled upload can reach the parser looking
   * complete (grpc-js ends the message stream of a Node client's cancelled call as if the client
   * had finished sending), so the cut-off file must not be written or activated once this is true.
   */
  cancelled?: () => boolean;
}

const LIST_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PROBLEMS_SHOWN = 200;

/** Longest officer's note or justification: it is kept in every version listing and audit event. */
export const MAX_NOTE_CHARS = 2000;

export function checkNote(note: string, field = 'note'): FieldViolation | null {
  return note.length > MAX_NOTE_CHARS && [...note].length > MAX_NOTE_CHARS
    ? { field, description: `must be at most ${MAX_NOTE_CHARS} characters` }
    : null;
}

const LIST_NAME_RULE = 'must be 1-63 lower-case letters, digits and dashes, e.g. ofac-sdn';

/** The list name and the note every change carries. */
function checkChange(list: string, note: string): SettlementError | null {
  const violations: FieldViolation[] = [];
  if (!LIST_NAME.test(list)) violations.push({ field: 'list', description: LIST_NAME_RULE });
  const badNote = checkNote(note);
  if (badNote) violations.push(badNote);
  return violations.length > 0 ? invalidArgument(violations) : null;
}

export function checkListName(list: string): SettlementError | null {
  return LIST_NAME.test(list) ? null : invalidArgument([{ field: 'list', description: LIST_NAME_RULE }]);
}

/**
 * List versions as compliance officers change them. Every change builds a new version beside the
 * current one and then flips the current pointer in one atomic step that also checks nobody else
 * flipped it meanwhile; screening never sees a half-written version. Every flip is audited.
 */
export interface ListMaintenance {
  importList(request: ImportRequest): Promise<ImportOutcome | SettlementError>;
  upsertEntry(
    list: string,
    entry: ListEntry,
    note: string,
    actor: string,
  ): Promise<ListVersionMeta | SettlementError>;
  removeEntry(
    list: string,
    entryId: string,
    note: string,
    actor: string,
  ): Promise<ListVersionMeta | SettlementError>;
  /** Makes `toVersion` (0: the one before the current) current again. */
  rollback(
    list: string,
    toVersion: number,
    note: string,
    actor: string,
  ): Promise<ListVersionMeta | SettlementError>;
  summaries(): Promise<{ list: string; current: ListVersionMeta | null }[]>;
}

/** The share of one kind of identifier entry an import may lose without force. */
const IDENTIFIER_DROP_SHARE = 0.05;

/**
 * What an import loses beyond the allowed share against the current version, each as "aliases
 * (0 against 12034 now)". The entry count alone misses a set whose companion file came empty: the
 * parties stay, their aliases or wallet addresses go.
 */
function drops(
  current: VersionContent & { entries: number },
  next: VersionContent & { entries: number },
  maxDropShare: number,
): string[] {
  const measures: [what: string, current: number, next: number, share: number][] = [
    ['entries', current.entries, next.entries, maxDropShare],
    ['aliases', current.aliases, next.aliases, maxDropShare],
    ...Object.entries(current.kinds)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, count]): [string, number, number, number] => [
        `${kind} entries`,
        count ?? 0,
        next.kinds[kind as keyof VersionContent['kinds']] ?? 0,
        // Identifiers are stopped outright, and a list rarely delists many at once: a set whose
        // comments file was left out loses 17 of its 97 wallet addresses, under the general share.
        kind === 'name' ? maxDropShare : Math.min(maxDropShare, IDENTIFIER_DROP_SHARE),
      ]),
  ];
  return measures
    .filter(([, before, after, share]) => after < Math.ceil(before * (1 - share)))
    .map(([what, before, after]) => `${what} (${after} against ${before} now)`);
}

export function createListMaintenance(deps: ListMaintenanceDeps): ListMaintenance {
  const { lists, audit, now } = deps;

  /**
   * `built`: the version was written by this change (an import or an entry change), and is refused
   * if it cannot be made current. A rollback's target is an activated version that stays kept.
   */
  async function activateAudited(
    list: string,
    meta: ListVersionMeta,
    expected: number,
    built: boolean,
    actor: string,
    action: string,
    details: Record<string, unknown>,
  ): Promise<ListVersionMeta | SettlementError> {
    const entry = auditIntent(
      {
        actor,
        action,
        subject: `${list}@${meta.version}`,
        details: { ...details, previous: expected, entries: meta.entryCount },
      },
      now(),
    );
    const flipped = await lists.activate(list, meta.version, expected, entry);
    if (flipped.kind !== 'ok') {
      if (built) await lists.refuse(list, meta.version);
      return {
        kind: 'failed-precondition',
        message:
          flipped.kind === 'moved'
            ? `list ${list} changed meanwhile (now version ${flipped.current}); nothing was changed, try again`
            : `version ${meta.version} of ${list} no longer exists`,
      };
    }
    await audit.settle(lists.auditPendingOf(list), entry);
    await lists.prune(list, deps.keepVersions);
    // A change the replicas do not hold could be undone by a failover: gateways would then screen
    // with the previous version while the officer believes the change is in force.
    return (
      (await unconfirmedDecision(
        deps.replication,
        list,
        `version ${meta.version} of ${list} is current`,
        `the versions of ${list}`,
      )) ?? { ...meta, status: 'activated' }
    );
  }

  async function importList(request: ImportRequest): Promise<ImportOutcome | SettlementError> {
    const bad = checkChange(request.list, request.note);
    if (bad) return bad;
    const previous = await lists.currentVersion(request.list);
    const previousEntryCount =
      previous === 0 ? 0 : ((await lists.meta(request.list, previous))?.entryCount ?? 0);
    const parsed = await deps.parse(request.format, request.files);
    const refused = (refusal: string, version: ListVersionMeta | null = null): ImportOutcome => ({
      version,
      activated: false,
      previousEntryCount,
      problems: parsed.errors.slice(0, PROBLEMS_SHOWN),
      problemsOmitted: Math.max(0, parsed.stats.errorCount - PROBLEMS_SHOWN),
      refusal,
    });
    if (parsed.stats.errorCount > 0) {
      return refused(`${parsed.stats.errorCount} problem(s) in the files; fix them and import again`);
    }
    if (parsed.entries.length === 0 && !request.force) {
      return refused('the files hold no entries; use force to activate an empty list');
    }
    if (previousEntryCount > 0 && !request.force) {
      const dropped = drops(
        { entries: previousEntryCount, ...(await lists.content(request.list, previous)) },
        { entries: parsed.entries.length, ...countContent(parsed.entries) },
        deps.maxDropShare,
      );
      if (dropped.length > 0) {
        return refused(
          `the new version loses too much: ${dropped.join(', ')}; without force at most ${Math.round(deps.maxDropShare * 100)}% of the entries, names or aliases and ${Math.round(Math.min(deps.maxDropShare, IDENTIFIER_DROP_SHARE) * 100)}% of any kind of identifier may go; check the files, or use force`,
        );
      }
    }
    const cancelled: SettlementError = {
      kind: 'cancelled',
      message: 'the client cancelled the import; the current version was kept',
    };
    if (request.cancelled?.()) return cancelled;
    const files = request.files.map((f) => f.name);
    let meta: ListVersionMeta;
    try {
      meta = await lists.createVersion(request.list, parsed.entries, {
        createdBy: request.actor,
        origin: `import ${request.format} ${files.join(' ')}`,
        note: request.note,
        nowMs: now(),
      });
    } catch (err) {
      if (err instanceof StagingLostError) return refused(err.message);
      throw err;
    }
    // The cancellation may only have been noticed while the version was written (an I/O turn).
    if (request.cancelled?.()) {
      await lists.refuse(request.list, meta.version);
      return cancelled;
    }
    const activated = await activateAudited(
      request.list,
      meta,
      previous,
      true,
      request.actor,
      'list.import',
      {
        format: request.format,
        files,
        force: request.force,
        note: request.note,
      },
    );
    if ('kind' in activated) return refused(activated.message, { ...meta, status: 'refused' });
    return { ...refused(''), version: activated, activated: true };
  }

  async function changeEntry(
    list: string,
    change: { op: 'upsert'; entry: ListEntry } | { op: 'remove'; entryId: string },
    note: string,
    actor: string,
  ): Promise<ListVersionMeta | SettlementError> {
    const bad = checkChange(list, note);
    if (bad) return bad;
    const previous = await lists.currentVersion(list);
    const id = change.op === 'upsert' ? change.entry.id : change.entryId;
    const origin = { createdBy: actor, origin: `${change.op} ${id}`, note, nowMs: now() };
    let meta: ListVersionMeta | 'absent';
    if (previous === 0) {
      if (change.op === 'remove') return { kind: 'not-found', message: `list ${list} has no entries` };
      meta = await lists.createVersion(list, [change.entry], origin);
    } else {
      meta = await lists.deriveVersion(list, previous, change, origin);
    }
    if (meta === 'absent') return { kind: 'not-found', message: `list ${list} has no entry ${id}` };
    return activateAudited(list, meta, previous, true, actor, `list.${change.op}`, {
      entryId: id,
      note,
      ...(change.op === 'upsert' ? { entry: change.entry } : {}),
    });
  }

  return {
    importList,
    upsertEntry: (list: string, entry: ListEntry, note: string, actor: string) =>
      changeEntry(list, { op: 'upsert', entry }, note, actor),
    removeEntry: (list: string, entryId: string, note: string, actor: string) =>
      changeEntry(list, { op: 'remove', entryId }, note, actor),

    async rollback(
      list: string,
      toVersion: number,
      note: string,
      actor: string,
    ): Promise<ListVersionMeta | SettlementError> {
      const bad = checkChange(list, note);
      if (bad) return bad;
      const current = await lists.currentVersion(list);
      const versions = await lists.versions(list);
      const target =
        toVersion === 0
          ? versions.find((v) => v.version < current)
          : versions.find((v) => v.version === toVersion);
      if (target === undefined) {
        return {
          kind: 'not-found',
          message:
            toVersion === 0
              ? `list ${list} has no version before ${current} to roll back to`
              : `list ${list} has no activated version ${toVersion}`,
        };
      }
      if (target.version === current) {
        return { kind: 'failed-precondition', message: `version ${current} of ${list} is already current` };
      }
      const entries = await lists.entriesPage(list, target.version, '0', 1);
      if (target.entryCount > 0 && entries.entries.length === 0) {
        return {
          kind: 'failed-precondition',
          message: `version ${target.version} of ${list} is too old: its entries were pruned (only the last ${deps.keepVersions} versions are kept)`,
        };
      }
      return activateAudited(list, target, current, false, actor, 'list.rollback', {
        to: target.version,
        note,
      });
    },

    async summaries(): Promise<{ list: string; current: ListVersionMeta | null }[]> {
      const names = await lists.listNames();
      return Promise.all(
        names.map(async (list) => {
          const v = await lists.currentVersion(list);
          return { list, current: v === 0 ? null : await lists.meta(list, v) };
        }),
      );
    },
  };
}
