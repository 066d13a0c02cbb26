import { createHash, randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import type { KeySpace } from './keys';
import { lua } from './lua-scripts';
import { parseStoredJson } from './store-data';

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

/**
 * An audit entry made before the change it records, so the change can leave it pending beside
 * itself (in its own slot, in the same atomic step): a committed change then always reaches the
 * log, written by the caller just after, or by a later sweep if the caller could not.
 */
export interface AuditIntent extends AuditInput {
  id: string;
  occurredAtMs: number;
}

export function auditIntent(input: AuditInput, nowMs: number): AuditIntent {
  return { ...input, id: randomUUID(), occurredAtMs: nowMs };
}

/** The two arguments with which a store script leaves an intent pending: ['', ''] for none. */
export function intentArgs(intent: AuditIntent | undefined): [string, string] {
  return intent === undefined ? ['', ''] : [intent.id, JSON.stringify(intent)];
}

const storedIntent = z.object({
  id: z.string(),
  occurredAtMs: z.number(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export interface AuditSweep {
  written: AuditIntent[];
  /** Pending entries that could not be parsed (key and id), left where they are. */
  malformed: string[];
}

export interface AuditRecord {
  sequence: number;
  occurredAtMs: number;
  actor: string;
  action: string;
  subject: string;
  detailsJson: string;
  previousHash: string;
  hash: string;
}

export type AuditVerification =
  | { intact: true; checked: number }
  | { intact: false; checked: number; firstBadSequence: number; problem: string };

export interface AuditLog {
  /** Writes the entry unless it is in the log already (null then). */
  write(intent: AuditIntent): Promise<AuditRecord | null>;
  /**
   * Writes the entry a committed change left pending at `pendingKey` and clears it. It never
   * throws: an entry it could not write stays pending, and a sweep writes it.
   */
  settle(pendingKey: string, intent: AuditIntent): Promise<void>;
  /** Writes every pending entry made before `madeBeforeMs`, in every slot, and clears it. */
  sweep(madeBeforeMs: number): Promise<AuditSweep>;
  /** Events after a sequence, at most `limit` and fewer when they are large; page on from the last. */
  list(afterSequence: number, limit: number): Promise<AuditRecord[]>;
  verify(): Promise<AuditVerification>;
}

/** The hash of an event covers its predecessor's hash, so changing or removing any event breaks every later link. */
export function auditHash(previousHash: string, e: Omit<AuditRecord, 'hash' | 'previousHash'>): string {
  const content = JSON.stringify([e.sequence, e.occurredAtMs, e.actor, e.action, e.subject, e.detailsJson]);
  return createHash('sha256').update(`${previousHash}\n${content}`).digest('hex');
}

function parse(fields: string[]): AuditRecord {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
  return {
    sequence: Number(f.get('seq')),
    occurredAtMs: Number(f.get('at')),
    actor: f.get('actor') ?? '',
    action: f.get('action') ?? '',
    subject: f.get('subject') ?? '',
    detailsJson: f.get('details') ?? '',
    previousHash: f.get('prev') ?? '',
    hash: f.get('hash') ?? '',
  };
}

const MAX_APPEND_ATTEMPTS = 50;
/** Times verify follows a head that moved while it read, before it answers for what it checked. */
const MAX_VERIFY_ROUNDS = 20;
/**
 * How long an entry's written-marker outlives its write: far longer than an entry stays pending
 * (until the next successful sweep), so a retried write always finds it.
 */
const WRITTEN_MARKER_MS = 30 * 24 * 3600 * 1000;
/**
 * Text one page of events may carry: a page of large events (an upserted entry with hundreds of
 * aliases is kept whole in its event) must stay well inside the 4 MiB reply limit. The caller
 * pages on with the last sequence it got.
 */
const MAX_LIST_BYTES = 1024 * 1024;

type AuditScriptClient = (Redis | Cluster) & {
  appendAuditEvent(...args: (string | number)[]): Promise<string[]>;
};

/**
 * An append-only, hash-chained log in one Redis stream. An append reads the head (last sequence
 * and hash), chains the event to it and writes it with a Lua script that checks the head is
 * unchanged: a concurrent append makes it answer 'moved' and it is retried on the new head, so the
 * chain never forks. The head and the log share the hash tag `{audit}`, so this works on a Redis
 * Cluster as on one Redis, on any connection (no WATCH state).
 */
export function createAuditLog(redis: Redis | Cluster, keys: KeySpace): AuditLog {
  const log = keys.auditLog();
  const head = keys.auditHead();
  redis.defineCommand('appendAuditEvent', { numberOfKeys: 3, lua: lua('append-audit-event') });
  const scripts = redis as AuditScriptClient;

  async function write(intent: AuditIntent): Promise<AuditRecord | null> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const [seqText, previousHash] = await redis.hmget(head, 'seq', 'hash');
      const record = {
        sequence: Number(seqText ?? 0) + 1,
        occurredAtMs: intent.occurredAtMs,
        actor: intent.actor,
        action: intent.action,
        subject: intent.subject,
        detailsJson: JSON.stringify(intent.details),
      };
      const prev = previousHash ?? '';
      const hash = auditHash(prev, record);
      const [outcome] = await scripts.appendAuditEvent(
        head,
        log,
        keys.auditWritten(intent.id),
        seqText ?? '0',
        prev,
        record.sequence,
        record.occurredAtMs,
        record.actor,
        record.action,
        record.subject,
        record.detailsJson,
        hash,
        WRITTEN_MARKER_MS,
      );
      if (outcome === 'ok') return { ...record, previousHash: prev, hash };
      if (outcome === 'written') return null;
    }
    throw new Error('audit log append kept conflicting with concurrent appends');
  }

  /** The entry written (or found written) and its pending copy cleared. */
  async function writePending(pendingKey: string, intent: AuditIntent): Promise<void> {
    await write(intent);
    await redis.hdel(pendingKey, intent.id);
  }

  async function sweepKey(key: string, madeBeforeMs: number, found: AuditSweep): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 100);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        let intent: AuditIntent;
        try {
          intent = storedIntent.parse(parseStoredJson(flat[i + 1], 'a pending audit entry'));
        } catch {
          found.malformed.push(`${key} ${flat[i]}`);
          continue;
        }
        if (intent.occurredAtMs >= madeBeforeMs) continue;
        await writePending(key, intent);
        found.written.push(intent);
      }
    } while (cursor !== '0');
  }

  return {
    write,

    async settle(pendingKey, intent) {
      await writePending(pendingKey, intent).catch(() => undefined);
    },

    async sweep(madeBeforeMs) {
      const lists = await redis.smembers(keys.listNames());
      const pending = [...keys.auditPendingKeys(), ...lists.map((name) => keys.list(name).auditPending)];
      const found: AuditSweep = { written: [], malformed: [] };
      for (const key of pending) await sweepKey(key, madeBeforeMs, found);
      return found;
    },

    async list(afterSequence, limit) {
      const out: AuditRecord[] = [];
      // Sequences never get near 2^53; a larger one (a uint64 from the wire) has nothing after it,
      // and would not make a valid stream id.
      if (!Number.isSafeInteger(afterSequence)) return out;
      let bytes = 0;
      let start = `${Math.max(0, afterSequence) + 1}-0`;
      while (out.length < limit && bytes < MAX_LIST_BYTES) {
        const page = await redis.xrange(log, start, '+', 'COUNT', Math.min(500, limit - out.length));
        if (page.length === 0) break;
        for (const [, fields] of page) {
          if (out.length === limit || bytes >= MAX_LIST_BYTES) break;
          const record = parse(fields);
          bytes += fields.reduce((n, f) => n + f.length, 0);
          out.push(record);
        }
        start = `(${page[page.length - 1][0]}`;
      }
      return out;
    },

    async verify() {
      // The chain is checked up to the head read first; events appended meanwhile (a busy gateway)
      // lie past it, and are checked too once a second read of the head accounts for them. An
      // event past a head that has not moved was written around the append script: tampering.
      let [seqText, headHash] = await redis.hmget(head, 'seq', 'hash');
      let headSequence = Number(seqText ?? 0);
      let checked = 0;
      let previousHash = '';
      let start = '-';
      for (let round = 0; ; round++) {
        while (checked < headSequence) {
          const page = await redis.xrange(log, start, '+', 'COUNT', Math.min(500, headSequence - checked));
          if (page.length === 0) break;
          for (const [, fields] of page) {
            const r = parse(fields);
            checked++;
            const bad = (problem: string): AuditVerification => ({
              intact: false,
              checked,
              firstBadSequence: checked,
              problem,
            });
            if (r.sequence !== checked)
              return bad(
                `expected event ${checked} here, found ${r.sequence}: an event is missing or out of place`,
              );
            if (r.previousHash !== previousHash)
              return bad('its previous-hash does not match the event before it');
            if (auditHash(previousHash, r) !== r.hash)
              return bad('its content does not match its hash: it was changed');
            previousHash = r.hash;
          }
          start = `(${page[page.length - 1][0]}`;
        }
        if (checked !== headSequence || (headHash ?? '') !== previousHash) {
          return {
            intact: false,
            checked,
            firstBadSequence: checked + 1,
            problem: `the log ends at event ${checked} but its head says ${headSequence}: events were removed from the end`,
          };
        }
        const [next] = await redis.xrange(log, start, '+', 'COUNT', 1);
        if (next === undefined) return { intact: true, checked };
        [seqText, headHash] = await redis.hmget(head, 'seq', 'hash');
        const moved = Number(seqText ?? 0);
        if (moved <= headSequence) {
          return {
            intact: false,
            checked,
            firstBadSequence: checked + 1,
            problem: `an event lies past the log's head (event ${checked}): it was added around the log, or the head was rolled back or removed`,
          };
        }
        // Appends faster than the check: what is checked so far stands.
        if (round === MAX_VERIFY_ROUNDS) return { intact: true, checked };
        headSequence = moved;
      }
    },
  };
}
