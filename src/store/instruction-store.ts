import { isValidTraceId } from '@opentelemetry/api';
import type { Redis, Cluster } from 'ioredis';
import { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { KeySpace } from './keys';
import { defineInstructionScripts, recordInstructionScript, type ScriptReply } from './lua-scripts';
import type { ReplicaConfirmation } from './replica-confirmation';
import { intentArgs, type AuditIntent } from './audit-log';
import { StoreDataError, parseStoredJson } from './store-data';
import {
  ISO_STATUS_OF,
  isIsoStatus,
  isState,
  type InstructionRecord,
  type Reason,
  type State,
  type DeliveryAttemptRecord,
  type StatusEventRecord,
  type SubmissionAnswer,
} from './instruction-record';

export interface NewInstruction {
  uetr: string;
  instruction: SettlementInstruction;
  bodyHash: string;
  participant: string;
  traceId: string;
  /** W3C traceparent carried with the outbox entry so delivery joins the submission's trace. */
  traceparent: string;
  nowMs: number;
  outcome: { state: State; reason: Reason };
  /** JSON of the screening decision, stored on the record for compliance and operators. */
  screening: string;
}

export type RecordResult =
  | { kind: 'created' }
  | { kind: 'replay'; participant: string; answer: SubmissionAnswer }
  | { kind: 'conflict'; participant: string }
  /**
   * Written on the primary, but fewer replicas than required confirmed it in time: not to be
   * acknowledged, since a failover now could lose it. A retry with the same body replays it.
   */
  | { kind: 'unconfirmed'; replicas: number; required: number; timeoutMs: number };

export interface Transition {
  uetr: string;
  from: readonly State[];
  to: State;
  reason: Reason;
  traceId: string;
  traceparent: string;
  nowMs: number;
  /** Replaces the stored screening evidence (JSON) in the same step, e.g. after re-screening. */
  screening?: string;
  /** The outbox entry this change settles, acknowledged in the same step. */
  ack?: { group: string; entryId: string };
  /**
   * Refuse (answers 'in-delivery') an accepted instruction any delivery attempt of which has started,
   * before a replay too: an attempt that timed out may have delivered it.
   */
  unlessDelivering?: boolean;
  /**
   * Refuse (as 'stale') unless the stored screening evidence is still this: the change was decided
   * on that evidence, which re-screening may have replaced meanwhile without changing the state.
   */
  ifScreening?: string;
  /** The change's audit entry, left pending beside it in the same step (AuditLog.settle writes it). */
  audit?: AuditIntent;
  /**
   * The delivery's attempts ran out: a stop requested meanwhile (requestDeliveryStop) gives the
   * reason instead, since no later attempt will see it.
   */
  preferStopReason?: boolean;
}

export type TransitionResult =
  /** `stopReason`: the stop request's reason it was recorded with instead (preferStopReason). */
  | { kind: 'ok'; sequence: number; stopReason?: Reason }
  | { kind: 'missing' }
  | { kind: 'stale'; state: State }
  | { kind: 'in-delivery' };

/** 'stale' with HELD_FOR_REVIEW: held again, on other evidence. */
export type ReleaseResult =
  { kind: 'ok'; releasedBy: string[] } | { kind: 'missing' } | { kind: 'stale'; state: State };

export type AttemptStart =
  | { kind: 'ok'; attempt: number }
  | { kind: 'missing' }
  | { kind: 'stale'; state: State }
  /** Re-screening asked for no further attempt (requestDeliveryStop), for this reason. */
  | { kind: 'stopped'; reason: Reason };

/** What list filters look at, read without the body or history. */
export interface InstructionBrief {
  uetr: string;
  state: State;
  reasonCode: string;
  participant: string;
  /** The counterparty of the latest delivery attempt, '' before the first. */
  counterparty: string;
  updatedAtMs: number;
}

/** An instruction with everything Caravan recorded on its way, read as one snapshot. */
export interface InstructionStory {
  record: InstructionRecord;
  /** Recorded attempt outcomes, oldest first (the latest MAX_ATTEMPT_RECORDS). */
  attempts: DeliveryAttemptRecord[];
  /** When the latest attempt started, and whether its call is still under way; null before any. */
  latestAttempt: { startedAtMs: number; underway: boolean } | null;
  /** The status change (sequence) that the stored screening evidence decided. */
  screenedSequence: number;
  /** Officers who released the latest hold, or have approved releasing it so far. */
  releasedBy: string[];
}

export type IndexName = 'dead' | 'holds' | 'open' | 'recent';

export interface InstructionStore {
  record(input: NewInstruction): Promise<RecordResult>;
  get(uetr: string): Promise<InstructionRecord | null>;
  /** Status events after the given stream id ('0' for all), oldest first. */
  eventsAfter(uetr: string, afterStreamId: string): Promise<StatusEventRecord[]>;
  transition(input: Transition): Promise<TransitionResult>;
  /** Held instructions, oldest first, across all partitions. */
  holds(limit: number): Promise<{ uetr: string; heldAtMs: number }[]>;
  /**
   * Records an officer's release of a held instruction if it is still held on the screening
   * evidence `ifScreening`, its audit entry pending beside it; answers who has released it so far.
   */
  addRelease(uetr: string, officer: string, ifScreening: string, audit?: AuditIntent): Promise<ReleaseResult>;
  /** Where the instruction's changes leave their audit entries pending (AuditLog.settle). */
  auditPendingOf(uetr: string): string;
  releasesOf(uetr: string): Promise<string[]>;
  /** Open (held or accepted, undelivered) instructions of one partition, a page at a time. */
  openPage(partition: number, cursor: string, count: number): Promise<{ uetrs: string[]; cursor: string }>;
  /** Counts a delivery attempt of an accepted instruction and marks its delivery as under way. */
  startAttempt(uetr: string, counterparty: string, nowMs: number): Promise<AttemptStart>;
  /**
   * Asks that an accepted instruction in delivery get no further attempt (startAttempt then
   * answers 'stopped'); false when it is no longer accepted.
   */
  requestDeliveryStop(uetr: string, reason: Reason): Promise<boolean>;
  /** Keeps an attempt's outcome for operators (the latest MAX_ATTEMPT_RECORDS per instruction). */
  recordAttempt(uetr: string, attempt: DeliveryAttemptRecord): Promise<void>;
  attemptsOf(uetr: string): Promise<DeliveryAttemptRecord[]>;
  /**
   * One partition's instructions in a sorted set (failed, held, open, recently changed), newest
   * first, scored from `minScore` to `maxScore` (inclusive), up to `limit` after skipping `offset`.
   */
  indexed(
    index: IndexName,
    partition: number,
    limit: number,
    maxScore?: number,
    minScore?: number,
    offset?: number,
  ): Promise<{ uetr: string; sinceMs: number }[]>;
  /** One partition's instructions whose submission or a status change carried the trace id. */
  tracedBy(partition: number, traceId: string, limit: number): Promise<string[]>;
  /** The filterable fields of each instruction (null when it does not exist), in the order asked. */
  briefs(uetrs: readonly string[]): Promise<(InstructionBrief | null)[]>;
  story(uetr: string): Promise<InstructionStory | null>;
}

export interface InstructionStoreOptions {
  /** Instructions the recency index keeps per partition; the least recently changed are trimmed. */
  recentPerPartition?: number;
  /** When set, a submission is acknowledged only once this many replicas hold it (Redis WAIT). */
  replication?: { confirmation: ReplicaConfirmation; replicas: number; timeoutMs: number };
  /**
   * Bound on the record step from the moment it is asked for. The connection's command timeout
   * starts only when a command is sent, and auto-pipelining sends it only after the previous batch
   * is answered or timed out, so against a frozen Redis a submission would wait two timeouts.
   */
  recordTimeoutMs?: number;
}

/** The record step did not finish within InstructionStoreOptions.recordTimeoutMs. */
export class StorageTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer the record step within ${ms} ms`);
    this.name = 'StorageTimeoutError';
  }
}

/** `work`, or a StorageTimeoutError after `ms`; the work itself may still finish later. */
function within<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(ms)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

export const MAX_ATTEMPT_RECORDS = 100;

/**
 * At about 136 bytes per entry in Redis 7 (36-byte UETR, score, skiplist and dict entry), 20,000
 * per partition is about 2.7 MB each, 44 MB for the default 16 partitions.
 */
export const RECENT_PER_PARTITION = 20_000;

/** States whose entry puts the instruction on its partition's outbox for delivery. */
const ENQUEUED_STATES: ReadonlySet<State> = new Set<State>(['ACCEPTED']);

function stopReason(json: string): Reason {
  const value = parseStoredJson(json, 'a delivery stop request') as Partial<Reason>;
  if (typeof value.code !== 'string' || typeof value.description !== 'string')
    throw new StoreDataError('a delivery stop request in Redis is malformed');
  return { code: value.code, description: value.description };
}

function str(value: string | number | null | undefined, what: string): string {
  if (value === null || value === undefined) throw new StoreDataError(`missing ${what} in Redis reply`);
  return String(value);
}

function stateOf(value: string, what: string): State {
  if (!isState(value)) throw new StoreDataError(`unknown ${what} ${JSON.stringify(value)} in Redis`);
  return value;
}

function fieldMap(fields: string[]): Map<string, string> {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  return f;
}

function parseEvent(id: string, fields: string[]): StatusEventRecord {
  const f = fieldMap(fields);
  const state = stateOf(f.get('state') ?? '', 'event state');
  const iso = f.get('iso') ?? '';
  return {
    streamId: id,
    sequence: Number(f.get('seq')),
    state,
    isoStatus: isIsoStatus(iso) ? iso : ISO_STATUS_OF[state],
    reason: { code: f.get('code') ?? '', description: f.get('desc') ?? '' },
    occurredAtMs: Number(f.get('at')),
    traceId: f.get('trace') ?? '',
  };
}

function parseAttempt(fields: string[]): DeliveryAttemptRecord {
  const f = fieldMap(fields);
  return {
    attempt: Number(f.get('n')),
    counterparty: f.get('cp') ?? '',
    outcome: f.get('outcome') ?? '',
    reasonCode: f.get('code') ?? '',
    detail: f.get('detail') ?? '',
    startedAtMs: Number(f.get('at')),
    durationMs: Number(f.get('ms')),
    traceId: f.get('trace') ?? '',
  };
}

function recordOf(
  uetr: string,
  hash: Record<string, string>,
  events: [string, string[]][],
): InstructionRecord {
  const state = stateOf(hash.state ?? '', 'state');
  const iso = hash.iso ?? '';
  return {
    uetr,
    instruction: SettlementInstruction.fromJSON(
      parseStoredJson(str(hash.body, 'body'), 'an instruction body'),
    ),
    participant: str(hash.participant, 'participant'),
    state,
    isoStatus: isIsoStatus(iso) ? iso : ISO_STATUS_OF[state],
    reason: { code: hash.code ?? '', description: hash.desc ?? '' },
    traceId: hash.trace_id ?? '',
    createdAtMs: Number(hash.created_at),
    updatedAtMs: Number(hash.updated_at),
    history: events.map(([id, fields]) => parseEvent(id, fields)),
    screening: hash.screening ?? '',
    attempts: Number(hash.attempts ?? 0),
    counterparty: hash.counterparty ?? '',
  };
}

/**
 * Only a valid trace id is indexed: with the SDK disabled every trace id is all zeros, which would
 * file every instruction under one entry.
 */
const indexableTrace = (traceId: string) => (isValidTraceId(traceId) ? traceId : '');

/** Replies of one MULTI, each checked for its own error. */
function multiReplies(replies: [Error | null, unknown][] | null, what: string): unknown[] {
  if (replies === null) throw new StoreDataError(`transaction aborted while ${what}`);
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

export function createInstructionStore(
  redis: Redis | Cluster,
  keys: KeySpace,
  options: InstructionStoreOptions = {},
): InstructionStore {
  const scripts = defineInstructionScripts(redis);
  const channel = keys.eventsChannel();
  const recentPerPartition = options.recentPerPartition ?? RECENT_PER_PARTITION;
  const { replication, recordTimeoutMs } = options;
  const recordScript = recordInstructionScript();

  /** The record script's reply, and whether enough replicas hold its write (always, without replication). */
  async function runRecord(
    partition: number,
    keys: [string, string, string, string, string, string, string],
    args: (string | number)[],
  ): Promise<{ reply: ScriptReply; replicas: number | null }> {
    if (replication === undefined)
      return { reply: await scripts.recordInstruction(keys, args), replicas: null };
    return replication.confirmation.run<ScriptReply>(recordScript, `p${partition}`, [...keys, ...args]);
  }

  async function readEvents(eventsKey: string, start: string): Promise<StatusEventRecord[]> {
    const entries = await redis.xrange(eventsKey, start, '+');
    return entries.map(([id, fields]) => parseEvent(id, fields));
  }

  return {
    async record(input) {
      const k = keys.instruction(input.uetr);
      const { state, reason } = input.outcome;
      // Answering before a late write lands is safe: the caller is told UNAVAILABLE, and its retry
      // with the same UETR replays whatever was written.
      const { reply, replicas } = await within(
        runRecord(
          k.partition,
          [k.record, k.events, k.outbox, k.holds, k.open, k.recent, k.traces],
          [
            input.bodyHash,
            JSON.stringify(SettlementInstruction.toJSON(input.instruction)),
            input.participant,
            input.traceId,
            input.nowMs,
            state,
            ISO_STATUS_OF[state],
            reason.code,
            reason.description,
            ENQUEUED_STATES.has(state) ? '1' : '0',
            input.uetr,
            channel,
            input.traceparent,
            input.screening,
            recentPerPartition,
            indexableTrace(input.traceId),
          ],
        ),
        recordTimeoutMs,
      );
      // A conflict acknowledges nothing, so it needs no replica; a replay rewrote its record (see the
      // script), so the WAIT after it also covers the first write.
      if (
        replication !== undefined &&
        replicas !== null &&
        replicas < replication.replicas &&
        reply[0] !== 'conflict'
      ) {
        return {
          kind: 'unconfirmed',
          replicas,
          required: replication.replicas,
          timeoutMs: replication.timeoutMs,
        };
      }
      switch (reply[0]) {
        case 'created':
          return { kind: 'created' };
        case 'replay': {
          const answerState = stateOf(str(reply[2], 'answer state'), 'answer state');
          const iso = str(reply[3], 'answer ISO status');
          return {
            kind: 'replay',
            participant: str(reply[1], 'participant'),
            answer: {
              state: answerState,
              isoStatus: isIsoStatus(iso) ? iso : ISO_STATUS_OF[answerState],
              reason: { code: str(reply[4], 'reason code'), description: str(reply[5], 'reason') },
              traceId: str(reply[6], 'trace id'),
            },
          };
        }
        case 'conflict':
          return { kind: 'conflict', participant: str(reply[1], 'participant') };
        default:
          throw new StoreDataError(`unexpected reply ${JSON.stringify(reply[0])} from record-instruction`);
      }
    },

    async get(uetr) {
      const k = keys.instruction(uetr);
      // One MULTI on one slot: the record and its history are read as one snapshot.
      const replies = await redis.multi().hgetall(k.record).xrange(k.events, '-', '+').exec();
      const [hash, entries] = multiReplies(replies, 'reading an instruction') as [
        Record<string, string>,
        [string, string[]][],
      ];
      return hash.hash === undefined ? null : recordOf(uetr, hash, entries);
    },

    async story(uetr) {
      const k = keys.instruction(uetr);
      const replies = await redis
        .multi()
        .hgetall(k.record)
        .xrange(k.events, '-', '+')
        .xrange(k.attempts, '-', '+')
        .smembers(k.releases)
        .exec();
      const [hash, events, attempts, releasedBy] = multiReplies(replies, 'reading an instruction') as [
        Record<string, string>,
        [string, string[]][],
        [string, string[]][],
        string[],
      ];
      if (hash.hash === undefined) return null;
      return {
        record: recordOf(uetr, hash, events),
        attempts: attempts.map(([, fields]) => parseAttempt(fields)),
        latestAttempt:
          hash.attempted_at === undefined
            ? null
            : { startedAtMs: Number(hash.attempted_at), underway: hash.delivering === '1' },
        // Records written before screened_seq was kept were screened only at intake.
        screenedSequence: Number(hash.screened_seq ?? 2),
        releasedBy: releasedBy.sort(),
      };
    },

    eventsAfter(uetr, afterStreamId) {
      const start = afterStreamId === '0' ? '-' : `(${afterStreamId}`;
      return readEvents(keys.instruction(uetr).events, start);
    },

    async holds(limit) {
      const all: { uetr: string; heldAtMs: number }[] = [];
      for (let p = 0; p < keys.partitions; p++) {
        const flat = await redis.zrange(keys.holds(p), 0, limit - 1, 'WITHSCORES');
        for (let i = 0; i + 1 < flat.length; i += 2)
          all.push({ uetr: flat[i], heldAtMs: Number(flat[i + 1]) });
      }
      return all.sort((a, b) => a.heldAtMs - b.heldAtMs).slice(0, limit);
    },

    async addRelease(uetr, officer, ifScreening, audit) {
      const k = keys.instruction(uetr);
      const reply = await scripts.addRelease(
        [k.record, k.releases, k.auditPending],
        [officer, ifScreening, ...intentArgs(audit)],
      );
      if (reply[0] === 'missing') return { kind: 'missing' };
      if (reply[0] === 'stale') return { kind: 'stale', state: stateOf(str(reply[1], 'state'), 'state') };
      return {
        kind: 'ok',
        releasedBy: reply
          .slice(1)
          .map((o) => str(o, 'officer'))
          .sort(),
      };
    },

    async openPage(partition, cursor, count) {
      const [next, flat] = await redis.zscan(keys.open(partition), cursor, 'COUNT', count);
      return { uetrs: flat.filter((_, i) => i % 2 === 0), cursor: next };
    },

    auditPendingOf: (uetr) => keys.instruction(uetr).auditPending,

    async releasesOf(uetr) {
      return (await redis.smembers(keys.instruction(uetr).releases)).sort();
    },

    async transition(input) {
      const k = keys.instruction(input.uetr);
      const reply = await scripts.transitionInstruction(
        [
          k.record,
          k.events,
          k.outbox,
          k.holds,
          k.releases,
          k.open,
          k.dead,
          k.recent,
          k.traces,
          k.auditPending,
        ],
        [
          input.from.join(','),
          input.to,
          ISO_STATUS_OF[input.to],
          input.reason.code,
          input.reason.description,
          input.nowMs,
          input.traceId,
          ENQUEUED_STATES.has(input.to) ? '1' : '0',
          input.uetr,
          channel,
          input.traceparent,
          input.screening ?? '',
          input.ack?.group ?? '',
          input.ack?.entryId ?? '',
          input.unlessDelivering ? '1' : '0',
          recentPerPartition,
          indexableTrace(input.traceId),
          input.ifScreening === undefined ? '0' : '1',
          input.ifScreening ?? '',
          ...intentArgs(input.audit),
          input.preferStopReason ? '1' : '0',
        ],
      );
      switch (reply[0]) {
        case 'ok':
          return reply[2] === undefined
            ? { kind: 'ok', sequence: Number(reply[1]) }
            : {
                kind: 'ok',
                sequence: Number(reply[1]),
                stopReason: stopReason(str(reply[2], 'stop reason')),
              };
        case 'missing':
          return { kind: 'missing' };
        case 'stale':
          return { kind: 'stale', state: stateOf(str(reply[1], 'state'), 'state') };
        case 'in-delivery':
          return { kind: 'in-delivery' };
        default:
          throw new StoreDataError(
            `unexpected reply ${JSON.stringify(reply[0])} from transition-instruction`,
          );
      }
    },

    async startAttempt(uetr, counterparty, nowMs) {
      const reply = await scripts.startDeliveryAttempt(
        [keys.instruction(uetr).record],
        [counterparty, nowMs],
      );
      switch (reply[0]) {
        case 'ok':
          return { kind: 'ok', attempt: Number(reply[1]) };
        case 'missing':
          return { kind: 'missing' };
        case 'stale':
          return { kind: 'stale', state: stateOf(str(reply[1], 'state'), 'state') };
        case 'stopped':
          return { kind: 'stopped', reason: stopReason(str(reply[1], 'stop reason')) };
        default:
          throw new StoreDataError(
            `unexpected reply ${JSON.stringify(reply[0])} from start-delivery-attempt`,
          );
      }
    },

    async requestDeliveryStop(uetr, reason) {
      const asked = await scripts.requestDeliveryStop(
        [keys.instruction(uetr).record],
        [JSON.stringify({ code: reason.code, description: reason.description })],
      );
      return asked === 1;
    },

    async recordAttempt(uetr, a) {
      await redis.xadd(
        keys.instruction(uetr).attempts,
        'MAXLEN',
        '~',
        MAX_ATTEMPT_RECORDS,
        '*',
        'n',
        a.attempt,
        'cp',
        a.counterparty,
        'outcome',
        a.outcome,
        'code',
        a.reasonCode,
        'detail',
        a.detail,
        'at',
        a.startedAtMs,
        'ms',
        a.durationMs,
        'trace',
        a.traceId,
      );
    },

    async attemptsOf(uetr) {
      const entries = await redis.xrange(keys.instruction(uetr).attempts, '-', '+');
      return entries.map(([, fields]) => parseAttempt(fields));
    },

    async indexed(index, partition, limit, maxScore, minScore, offset = 0) {
      const flat = await redis.zrevrangebyscore(
        keys[index](partition),
        maxScore === undefined ? '+inf' : maxScore,
        minScore === undefined ? '-inf' : minScore,
        'WITHSCORES',
        'LIMIT',
        offset,
        limit,
      );
      const found: { uetr: string; sinceMs: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        found.push({ uetr: flat[i], sinceMs: Number(flat[i + 1]) });
      return found;
    },

    async tracedBy(partition, traceId, limit) {
      // Members are "<trace id>:<uetr>"; ';' sorts right after ':', closing the range.
      const members = await redis.zrangebylex(
        keys.traces(partition),
        `[${traceId}:`,
        `(${traceId};`,
        'LIMIT',
        0,
        limit,
      );
      return members.map((m) => m.slice(traceId.length + 1));
    },

    async briefs(uetrs) {
      const byPartition = new Map<number, number[]>();
      uetrs.forEach((uetr, i) => {
        const p = keys.partitionOf(uetr);
        const group = byPartition.get(p);
        if (group) group.push(i);
        else byPartition.set(p, [i]);
      });
      const found: (InstructionBrief | null)[] = uetrs.map(() => null);
      // One pipeline per partition: a Cluster pipeline must stay in one slot.
      await Promise.all(
        [...byPartition.values()].map(async (indexes) => {
          const pipeline = redis.pipeline();
          for (const i of indexes)
            pipeline.hmget(
              keys.instruction(uetrs[i]).record,
              'state',
              'code',
              'participant',
              'counterparty',
              'updated_at',
            );
          const replies = (await pipeline.exec()) as [Error | null, (string | null)[]][] | null;
          if (replies === null) throw new StoreDataError('pipeline aborted while reading instructions');
          replies.forEach(([err, fields], j) => {
            if (err) throw err;
            const [state, code, participant, counterparty, updatedAt] = fields;
            if (state === null) return;
            found[indexes[j]] = {
              uetr: uetrs[indexes[j]],
              state: stateOf(state, 'state'),
              reasonCode: code ?? '',
              participant: participant ?? '',
              counterparty: counterparty ?? '',
              updatedAtMs: Number(updatedAt),
            };
          });
        }),
      );
      return found;
    },
  };
}
