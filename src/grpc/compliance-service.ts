import { Readable } from 'node:stream';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  DecideHoldRequest,
  HoldDecision,
  ImportListRequest,
  ListAuditEventsRequest,
  ListEntriesRequest,
  ListFormat,
  ListHoldsRequest,
  ListListsRequest,
  ListVersionsRequest,
  RemoveEntryRequest,
  RollbackListRequest,
  ScreenPartyRequest,
  UpsertEntryRequest,
  VerifyAuditLogRequest,
  type ComplianceService,
  type ImportListResponse,
} from '../gen/caravan/compliance/v1/compliance';
import type { RoleToken } from '../config/config';
import type { HoldReview } from '../compliance/hold-review';
import { checkEntry } from '../compliance/entry-rules';
import {
  checkListName,
  checkNote,
  type ListFormatName,
  type ListMaintenance,
} from '../compliance/list-maintenance';
import type { ScreeningSync } from '../compliance/screening-sync';
import { screenTargets } from '../screening/screen-instruction';
import { loggableUetr } from '../settlement/read-instruction';
import { invalidArgument, isSettlementError, type FieldViolation } from '../settlement/errors';
import type { AuditLog } from '../store/audit-log';
import type { ListStore, ListVersionMeta } from '../store/list-store';
import type { Logger } from '../telemetry/logger';
import { traceparentOf } from '../telemetry/tracing';
import { officerOf, type IdentityMode, type Officer } from './caller-identity';
import {
  decisionToProto,
  entryFromProto,
  entryToProto,
  hitToProto,
  versionToProto,
} from './compliance-mapping';
import { clientStreaming } from './handlers';
import { officerUnaryFactory } from './officer-calls';
import { MAX_SCREEN_PARTY_REQUEST_BYTES } from './request-limits';
import { stateToProto, timestampOf } from './instruction-mapping';
import { isEdgeError, type EdgeError } from './status';

export interface ComplianceServiceDeps {
  maintenance: ListMaintenance;
  lists: ListStore;
  holds: HoldReview;
  audit: AuditLog;
  sync: ScreeningSync;
  identity: IdentityMode;
  roleTokens: readonly RoleToken[];
  log: Logger;
  reviewThreshold: number;
  /**
   * Upper bound of one import's files together, so an upload cannot exhaust memory; every chunk
   * message counts IMPORT_CHUNK_OVERHEAD_BYTES beyond its data.
   */
  maxImportBytes: number;
}

/**
 * What one chunk message is counted for beyond its data: a kept chunk costs a Buffer object and an
 * array slot whatever its size, so without this a stream of empty or one-byte chunks would grow
 * memory without ever reaching the byte limit. Real uploads send 64-256 KiB chunks, for which it
 * is noise.
 */
export const IMPORT_CHUNK_OVERHEAD_BYTES = 1024;

const SERVICE = 'caravan.compliance.v1.Compliance';

const FORMATS: Partial<Record<ListFormat, ListFormatName>> = {
  [ListFormat.LIST_FORMAT_OFAC_SDN]: 'ofac-sdn',
  [ListFormat.LIST_FORMAT_OFAC_CONSOLIDATED]: 'ofac-consolidated',
  [ListFormat.LIST_FORMAT_UN_XML]: 'un-xml',
  [ListFormat.LIST_FORMAT_CSV]: 'csv',
  [ListFormat.LIST_FORMAT_JSON]: 'json',
};
const FILE_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_PAGE = 1000;
const pageSize = (requested: number, fallback = 100) =>
  Math.min(Math.max(requested || fallback, 1), MAX_PAGE);

type Method = keyof typeof ComplianceService;

export function complianceHandlers(deps: ComplianceServiceDeps): UntypedServiceImplementation {
  const { log } = deps;

  const officerUnary = officerUnaryFactory({
    service: SERVICE,
    role: 'compliance',
    identity: deps.identity,
    roleTokens: deps.roleTokens,
    log,
  });

  const versionReply = async (meta: ListVersionMeta | EdgeError) =>
    isEdgeError(meta) ? meta : versionToProto(meta, await deps.lists.currentVersion(meta.list));

  async function importList(
    messages: AsyncIterable<ImportListRequest>,
    officer: Officer,
    cancelled: () => boolean,
  ): Promise<ImportListResponse | EdgeError> {
    const iterator = messages[Symbol.asyncIterator]();
    const first = await iterator.next();
    const header = first.done ? undefined : first.value.part;
    if (header?.$case !== 'header') {
      return invalidArgument([
        { field: 'header', description: 'the first message of an import must be its header' },
      ]);
    }
    const h = header.value;
    const violations: FieldViolation[] = [];
    const badName = checkListName(h.list);
    if (badName && badName.kind === 'invalid-argument')
      violations.push(...badName.violations.map((v) => ({ ...v, field: `header.${v.field}` })));
    const format = FORMATS[h.format];
    if (format === undefined)
      violations.push({
        field: 'header.format',
        description: 'is required: ofac-sdn, ofac-consolidated, un-xml, csv or json',
      });
    const badNote = checkNote(h.note, 'header.note');
    if (badNote) violations.push(badNote);
    if (h.fileNames.length === 0 || h.fileNames.length > 8)
      violations.push({ field: 'header.file_names', description: 'must name 1 to 8 files' });
    h.fileNames.forEach((n, i) => {
      if (!FILE_NAME.test(n))
        violations.push({
          field: `header.file_names[${i}]`,
          description: 'must be a plain file name: letters, digits, . _ -',
        });
    });
    if (violations.length > 0 || format === undefined) return invalidArgument(violations);

    const chunks: Buffer[][] = h.fileNames.map(() => []);
    let total = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const part = next.value.part;
      if (part?.$case !== 'chunk')
        return invalidArgument([{ field: 'chunk', description: 'only file chunks may follow the header' }]);
      const target = chunks[part.value.fileIndex];
      if (target === undefined)
        return invalidArgument([
          { field: 'chunk.file_index', description: `must be below ${h.fileNames.length}` },
        ]);
      total += part.value.data.length + IMPORT_CHUNK_OVERHEAD_BYTES;
      if (total > deps.maxImportBytes) {
        return {
          kind: 'resource-exhausted',
          message:
            `the import exceeds ${deps.maxImportBytes} bytes: its files together, each chunk message counted ` +
            `with ${IMPORT_CHUNK_OVERHEAD_BYTES} bytes beyond its data (send chunks of 64 KiB or more)`,
          retryAfterMs: 0,
        };
      }
      if (part.value.data.length > 0) target.push(Buffer.from(part.value.data));
    }
    const outcome = await deps.maintenance.importList({
      list: h.list,
      format,
      files: h.fileNames.map((name, i) => ({ name, stream: Readable.from(chunks[i]) })),
      force: h.force,
      note: h.note,
      actor: officer.id,
      cancelled,
    });
    if (isSettlementError(outcome)) return outcome;
    log.info(
      { list: h.list, officer: officer.id, activated: outcome.activated, problems: outcome.problems.length },
      'list import',
    );
    const current = await deps.lists.currentVersion(h.list);
    return {
      version: outcome.version === null ? undefined : versionToProto(outcome.version, current),
      activated: outcome.activated,
      previousEntryCount: String(outcome.previousEntryCount),
      problems: outcome.problems,
      problemsOmitted: outcome.problemsOmitted,
      refusal: outcome.refusal,
    };
  }

  const handlers: Record<Method, UntypedServiceImplementation[string]> = {
    importList: clientStreaming<ImportListRequest, ImportListResponse>(
      `${SERVICE}/ImportList`,
      ImportListRequest,
      'caravan.compliance.v1.ImportListRequest',
      log,
      async (messages, scope, call) => {
        const officer = officerOf(call, deps.identity, deps.roleTokens, 'compliance');
        if (isSettlementError(officer)) return officer;
        scope.span.setAttribute('enduser.id', officer.id);
        return importList(messages, officer, () => call.cancelled);
      },
    ),

    upsertEntry: officerUnary('UpsertEntry', UpsertEntryRequest, async (request, officer) => {
      const entry = request.entry === undefined ? null : entryFromProto(request.entry);
      if (entry === null) return invalidArgument([{ field: 'entry.kind', description: 'is required' }]);
      const violations = checkEntry(entry).map((v) => ({ ...v, field: `entry.${v.field}` }));
      if (violations.length > 0) return invalidArgument(violations);
      return versionReply(await deps.maintenance.upsertEntry(request.list, entry, request.note, officer.id));
    }),

    removeEntry: officerUnary('RemoveEntry', RemoveEntryRequest, async (request, officer) => {
      if (request.entryId === '') return invalidArgument([{ field: 'entry_id', description: 'is required' }]);
      return versionReply(
        await deps.maintenance.removeEntry(request.list, request.entryId, request.note, officer.id),
      );
    }),

    listLists: officerUnary('ListLists', ListListsRequest, async () => ({
      lists: (await deps.maintenance.summaries()).map((s) => ({
        name: s.list,
        current: s.current === null ? undefined : versionToProto(s.current, s.current.version),
      })),
    })),

    listVersions: officerUnary('ListVersions', ListVersionsRequest, async (request) => {
      const bad = checkListName(request.list);
      if (bad) return bad;
      const current = await deps.lists.currentVersion(request.list);
      return { versions: (await deps.lists.versions(request.list)).map((v) => versionToProto(v, current)) };
    }),

    listEntries: officerUnary('ListEntries', ListEntriesRequest, async (request) => {
      const bad = checkListName(request.list);
      if (bad) return bad;
      const version = Number(request.version) || (await deps.lists.currentVersion(request.list));
      if (version === 0 || (await deps.lists.meta(request.list, version)) === null) {
        return { kind: 'not-found', message: `list ${request.list} has no version ${request.version}` };
      }
      if (request.pageToken !== '' && !/^[0-9]{1,20}$/.test(request.pageToken)) {
        return invalidArgument([
          { field: 'page_token', description: 'must be a next_page_token from an earlier answer' },
        ]);
      }
      const page = await deps.lists.entriesPage(
        request.list,
        version,
        request.pageToken || '0',
        pageSize(request.pageSize),
      );
      return {
        entries: page.entries.map(entryToProto),
        nextPageToken: page.cursor === '0' ? '' : page.cursor,
        version: String(version),
      };
    }),

    rollbackList: officerUnary('RollbackList', RollbackListRequest, async (request, officer) =>
      versionReply(
        await deps.maintenance.rollback(request.list, Number(request.toVersion), request.note, officer.id),
      ),
    ),

    screenParty: officerUnary(
      'ScreenParty',
      ScreenPartyRequest,
      (request) => {
        const violations: FieldViolation[] = [];
        if (request.party === undefined && request.bics.length === 0 && request.card === undefined) {
          violations.push({ field: 'party', description: 'give a party, BICs or a card to screen' });
        }
        if ((request.party?.name.length ?? 0) > 1000)
          violations.push({ field: 'party.name', description: 'must be at most 1000 characters' });
        if (request.bics.length > 20) violations.push({ field: 'bics', description: 'at most 20 BICs' });
        if (request.card !== undefined && !/^[0-9]{6,8}$/.test(request.card.bin) && request.card.bin !== '') {
          violations.push({
            field: 'card.bin',
            description: 'must be the first 6 or 8 digits; a full card number is never accepted',
          });
        }
        if (request.minScore < 0 || request.minScore > 1)
          violations.push({ field: 'min_score', description: 'must be between 0 and 1' });
        if (violations.length > 0) return Promise.resolve(invalidArgument(violations));
        const snapshot = deps.sync.snapshot();
        if (snapshot.kind === 'stale') {
          return Promise.resolve({
            kind: 'unavailable' as const,
            message: 'screening lists cannot be confirmed current; try again',
            retryAfterMs: 2000,
          });
        }
        const targets = [
          {
            field: 'party',
            party: request.party,
            bics: request.bics.map((bic, i) => ({ field: `bics[${i}]`, bic })),
            card: request.card,
          },
        ];
        // The decision is intake's, at the review threshold; min_score only widens or narrows
        // which hits are shown.
        const reportFrom = request.minScore || deps.reviewThreshold;
        const decided = screenTargets(targets, snapshot.lists, { reviewThreshold: deps.reviewThreshold });
        const shown =
          reportFrom < deps.reviewThreshold
            ? screenTargets(targets, snapshot.lists, { reviewThreshold: reportFrom })
            : decided;
        return Promise.resolve({
          decision: decisionToProto(decided.decision),
          hits: shown.hits.filter((hit) => hit.score >= reportFrom).map(hitToProto),
          listVersions: decided.versions.map((v) => ({ list: v.list, version: String(v.version) })),
        });
      },
      MAX_SCREEN_PARTY_REQUEST_BYTES,
    ),

    listHolds: officerUnary('ListHolds', ListHoldsRequest, async (request) => ({
      holds: (await deps.holds.list(pageSize(request.pageSize))).map((h) => ({
        uetr: h.uetr,
        evidence: h.evidence,
        participant: h.participant,
        heldAt: timestampOf(h.heldAtMs),
        amount: h.amount,
        hits: h.hits.map(hitToProto),
        releasedBy: h.releasedBy,
        listVersions: h.versions.map((v) => ({ list: v.list, version: String(v.version) })),
      })),
    })),

    decideHold: officerUnary('DecideHold', DecideHoldRequest, async (request, officer, scope) => {
      if (
        request.decision === HoldDecision.HOLD_DECISION_UNSPECIFIED ||
        HoldDecision[request.decision] === undefined
      ) {
        return invalidArgument([{ field: 'decision', description: 'is required: release or reject' }]);
      }
      scope.span.setAttribute('caravan.uetr', loggableUetr(request.uetr));
      const outcome = await deps.holds.decide({
        uetr: request.uetr,
        decision: request.decision === HoldDecision.HOLD_DECISION_RELEASE ? 'release' : 'reject',
        reasonCode: request.reasonCode,
        comment: request.comment,
        evidence: request.evidence,
        officer: officer.id,
        traceId: scope.traceId,
        traceparent: traceparentOf(scope.span),
      });
      if (isSettlementError(outcome)) return outcome;
      log.info(
        { uetr: loggableUetr(request.uetr), officer: officer.id, state: outcome.state },
        'hold decided',
      );
      return {
        state: stateToProto(outcome.state),
        releasedBy: outcome.releasedBy,
        releasesNeeded: outcome.releasesNeeded,
      };
    }),

    listAuditEvents: officerUnary('ListAuditEvents', ListAuditEventsRequest, async (request) => ({
      events: (await deps.audit.list(Number(request.afterSequence), pageSize(request.limit))).map((e) => ({
        sequence: String(e.sequence),
        occurredAt: timestampOf(e.occurredAtMs),
        actor: e.actor,
        action: e.action,
        subject: e.subject,
        detailsJson: e.detailsJson,
        previousHash: e.previousHash,
        hash: e.hash,
      })),
    })),

    verifyAuditLog: officerUnary('VerifyAuditLog', VerifyAuditLogRequest, async () => {
      const result = await deps.audit.verify();
      return result.intact
        ? { intact: true, checked: String(result.checked), firstBadSequence: '0', problem: '' }
        : {
            intact: false,
            checked: String(result.checked),
            firstBadSequence: String(result.firstBadSequence),
            problem: result.problem,
          };
    }),
  };
  return handlers;
}
