import type { Redis, Cluster } from 'ioredis';
import { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';
import type { KeySpace } from './keys';
import { defineInstructionScripts } from './lua-scripts';
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
  | { kind: 'conflict'; participant: string };

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
  /** Refuse while a delivery attempt is under way (answers 'in-delivery'). */
  unlessDelivering?: boolean;
}

export type TransitionResult =
  | { kind: 'ok'; sequence: number }
  | { kind: 'missing' }
  | { kind: 'stale'; state: State }
  | { kind: 'in-delivery' };

export type AttemptStart =
  { kind: 'ok'; attempt: number } | { kind: 'missing' } | { kind: 'stale'; state: State };

export interface InstructionStore {
  record(input: NewInstruction): Promise<RecordResult>;
  get(uetr: string): Promise<InstructionRecord | null>;
  /** Status events after the given stream id ('0' for all), oldest first. */
  eventsAfter(uetr: string, afterStreamId: string): Promise<StatusEventRecord[]>;
  transition(input: Transition): Promise<TransitionResult>;
  /** Held instructions, oldest first, across all partitions. */
  holds(limit: number): Promise<{ uetr: string; heldAtMs: number }[]>;
  /** Records an officer's release of a held instruction; answers who has released it so far. */
  addRelease(uetr: string, officer: string): Promise<{ state: State | null; releasedBy: string[] }>;
  releasesOf(uetr: string): Promise<string[]>;
  /** Open (held or accepted, undelivered) instructions of one partition, a page at a time. */
  openPage(partition: number, cursor: string, count: number): Promise<{ uetrs: string[]; cursor: string }>;
  /** Counts a delivery attempt of an accepted instruction and marks its delivery as under way. */
  startAttempt(uetr: string, counterparty: string, nowMs: number): Promise<AttemptStart>;
  /** Keeps an attempt's outcome for operators (the latest MAX_ATTEMPT_RECORDS per instruction). */
  recordAttempt(uetr: string, attempt: DeliveryAttemptRecord): Promise<void>;
  attemptsOf(uetr: string): Promise<DeliveryAttemptRecord[]>;
  /** One partition's instructions in a sorted set (failed, held, open), newest first, up to `limit`. */
  indexed(
    index: 'dead' | 'holds' | 'open',
    partition: number,
    limit: number,
    maxScore?: number,
  ): Promise<{ uetr: string; sinceMs: number }[]>;
}

const MAX_ATTEMPT_RECORDS = 100;

/** States whose entry puts the instruction on its partition's outbox for delivery. */
const ENQUEUED_STATES: ReadonlySet<State> = new Set<State>(['ACCEPTED']);

export class StoreDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreDataError';
  }
}

function str(value: string | number | null | undefined, what: string): string {
  if (value === null || value === undefined) throw new StoreDataError(`missing ${what} in Redis reply`);
  return String(value);
}

function stateOf(value: string, what: string): State {
  if (!isState(value)) throw new StoreDataError(`unknown ${what} ${JSON.stringify(value)} in Redis`);
  return value;
}

function parseEvent(id: string, fields: string[]): StatusEventRecord {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
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

export function createInstructionStore(redis: Redis | Cluster, keys: KeySpace): InstructionStore {
  const scripts = defineInstructionScripts(redis);
  const channel = keys.eventsChannel();

  async function readEvents(eventsKey: string, start: string): Promise<StatusEventRecord[]> {
    const entries = await redis.xrange(eventsKey, start, '+');
    return entries.map(([id, fields]) => parseEvent(id, fields));
  }

  return {
    async record(input) {
      const k = keys.instruction(input.uetr);
      const { state, reason } = input.outcome;
      const reply = await scripts.recordInstruction(
        [k.record, k.events, k.outbox, k.holds, k.open],
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
        ],
      );
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
      if (replies === null) throw new StoreDataError('transaction aborted while reading an instruction');
      const [[recordErr, hash], [eventsErr, entries]] = replies as [
        [Error | null, Record<string, string>],
        [Error | null, [string, string[]][]],
      ];
      if (recordErr) throw recordErr;
      if (eventsErr) throw eventsErr;
      if (hash.hash === undefined) return null;
      const state = stateOf(hash.state ?? '', 'state');
      const iso = hash.iso ?? '';
      return {
        uetr,
        instruction: SettlementInstruction.fromJSON(JSON.parse(str(hash.body, 'body'))),
        participant: str(hash.participant, 'participant'),
        state,
        isoStatus: isIsoStatus(iso) ? iso : ISO_STATUS_OF[state],
        reason: { code: hash.code ?? '', description: hash.desc ?? '' },
        traceId: hash.trace_id ?? '',
        createdAtMs: Number(hash.created_at),
        updatedAtMs: Number(hash.updated_at),
        history: entries.map(([id, fields]) => parseEvent(id, fields)),
        screening: hash.screening ?? '',
        attempts: Number(hash.attempts ?? 0),
        counterparty: hash.counterparty ?? '',
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

    async addRelease(uetr, officer) {
      const k = keys.instruction(uetr);
      const replies = await redis
        .multi()
        .sadd(k.releases, officer)
        .smembers(k.releases)
        .hget(k.record, 'state')
        .exec();
      if (replies === null) throw new StoreDataError('transaction aborted while recording a release');
      const releasedBy = replies[1][1] as string[];
      const state = replies[2][1] as string | null;
      return { state: state === null ? null : stateOf(state, 'state'), releasedBy: releasedBy.sort() };
    },

    async openPage(partition, cursor, count) {
      const [next, flat] = await redis.zscan(keys.open(partition), cursor, 'COUNT', count);
      return { uetrs: flat.filter((_, i) => i % 2 === 0), cursor: next };
    },

    async releasesOf(uetr) {
      return (await redis.smembers(keys.instruction(uetr).releases)).sort();
    },

    async transition(input) {
      const k = keys.instruction(input.uetr);
      const reply = await scripts.transitionInstruction(
        [k.record, k.events, k.outbox, k.holds, k.releases, k.open, k.dead],
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
        ],
      );
      switch (reply[0]) {
        case 'ok':
          return { kind: 'ok', sequence: Number(reply[1]) };
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
        default:
          throw new StoreDataError(
            `unexpected reply ${JSON.stringify(reply[0])} from start-delivery-attempt`,
          );
      }
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
      return entries.map(([, fields]) => {
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
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
      });
    },

    async indexed(index, partition, limit, maxScore) {
      const key =
        index === 'dead'
          ? keys.dead(partition)
          : index === 'holds'
            ? keys.holds(partition)
            : keys.open(partition);
      const flat = await redis.zrevrangebyscore(
        key,
        maxScore === undefined ? '+inf' : maxScore,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        0,
        limit,
      );
      const found: { uetr: string; sinceMs: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        found.push({ uetr: flat[i], sinceMs: Number(flat[i + 1]) });
      return found;
    },
  };
}
