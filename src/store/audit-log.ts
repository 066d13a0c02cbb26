import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { KeySpace } from './keys';
import { lua } from './lua-scripts';

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
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
  append(input: AuditInput, nowMs: number): Promise<AuditRecord>;
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
  redis.defineCommand('appendAuditEvent', { numberOfKeys: 2, lua: lua('append-audit-event') });
  const scripts = redis as AuditScriptClient;
  return {
    async append(input, nowMs) {
      for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
        const [seqText, previousHash] = await redis.hmget(head, 'seq', 'hash');
        const record = {
          sequence: Number(seqText ?? 0) + 1,
          occurredAtMs: nowMs,
          actor: input.actor,
          action: input.action,
          subject: input.subject,
          detailsJson: JSON.stringify(input.details),
        };
        const prev = previousHash ?? '';
        const hash = auditHash(prev, record);
        const [outcome] = await scripts.appendAuditEvent(
          head,
          log,
          seqText ?? '0',
          prev,
          record.sequence,
          nowMs,
          record.actor,
          record.action,
          record.subject,
          record.detailsJson,
          hash,
        );
        if (outcome === 'ok') return { ...record, previousHash: prev, hash };
      }
      throw new Error('audit log append kept conflicting with concurrent appends');
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
      let checked = 0;
      let previousHash = '';
      let start = '-';
      for (;;) {
        const page = await redis.xrange(log, start, '+', 'COUNT', 500);
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
      const [seqText, headHash] = await redis.hmget(head, 'seq', 'hash');
      if (Number(seqText ?? 0) !== checked || (headHash ?? '') !== previousHash) {
        return {
          intact: false,
          checked,
          firstBadSequence: checked + 1,
          problem: `the log ends at event ${checked} but its head says ${seqText ?? 0}: events were removed from the end`,
        };
      }
      return { intact: true, checked };
    },
  };
}
