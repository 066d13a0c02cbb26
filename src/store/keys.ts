import { crc32 } from 'node:zlib';

/**
 * The only place that knows Redis key names. All keys of one instruction, and the outbox of its
 * partition, share the hash tag `{p<N>}` so that one Lua script touches a single Redis Cluster slot.
 */
export interface InstructionKeys {
  partition: number;
  record: string;
  events: string;
  outbox: string;
  /** The partition's held instructions (sorted set: UETR by hold time). */
  holds: string;
  /** Officers who released the held instruction (set), for four-eyes. */
  releases: string;
  /** The partition's open instructions: held, or accepted and not yet delivered (sorted set). */
  open: string;
  /** The instruction's delivery attempts (stream), for operators. */
  attempts: string;
  /** The partition's failed (dead-lettered) instructions (sorted set: UETR by failure time). */
  dead: string;
  /** The partition's most recently changed instructions (sorted set: UETR by last change time). */
  recent: string;
  /** The partition's trace index (sorted set of "<trace id>:<uetr>", all scored 0, read by lex range). */
  traces: string;
  /** A counter written to confirm, with WAIT, that replicas hold the partition's earlier writes. */
  replicated: string;
  /** Audit entries of the partition's committed decisions not yet in the audit log (hash: id → JSON). */
  auditPending: string;
}

/** Keys of one screening list; every version of the list shares the list's hash tag. */
export interface ListKeys {
  /** A counter written to confirm, with WAIT, that replicas hold the list's earlier writes. */
  replicated: string;
  current: string;
  sequence: string;
  versions: string;
  entries(version: number): string;
  meta(version: number): string;
  /** InstructionKeys.auditPending's counterpart for the list's changes. */
  auditPending: string;
}

export interface KeySpace {
  readonly prefix: string;
  readonly partitions: number;
  partitionOf(uetr: string): number;
  /** The partition count the data was written with (partition-count.ts). */
  partitionCount(): string;
  instruction(uetr: string): InstructionKeys;
  outbox(partition: number): string;
  /** Pub/sub channel announcing "this instruction has a new status event" (message: the UETR). */
  eventsChannel(): string;
  holds(partition: number): string;
  open(partition: number): string;
  dead(partition: number): string;
  recent(partition: number): string;
  traces(partition: number): string;
  /** Route rules (hash: id → JSON) and the table's version, in one slot. */
  routes(): string;
  routesVersion(): string;
  /** The route table's counterpart of InstructionKeys.replicated. */
  routesReplicated(): string;
  /** Pub/sub channel announcing a new route table version (message: the version). */
  routesChannel(): string;
  /** InstructionKeys.auditPending's counterpart for route changes. */
  routesAuditPending(): string;
  /** Every partition's auditPending, then the routes' (the lists' are found through listNames). */
  auditPendingKeys(): string[];
  list(name: string): ListKeys;
  /** Set of list names. */
  listNames(): string;
  /** listNames's counterpart of ListKeys.replicated: its hash tag is listNames's whole name, so one slot. */
  listNamesReplicated(): string;
  /** Pub/sub channel announcing a list's new current version (message: JSON {list, version}). */
  listsChannel(): string;
  /** The audit log stream and its head (last sequence and hash), in one slot. */
  auditLog(): string;
  auditHead(): string;
  /** The audit log's counterpart of InstructionKeys.replicated. */
  auditReplicated(): string;
  /** Marks a pending audit entry as written to the log (its sequence), so it is never written twice. */
  auditWritten(id: string): string;
}

export function createKeySpace(prefix: string, partitions: number): KeySpace {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new Error('the Redis key prefix must not contain { or }: they would change the hash slot');
  }
  const tag = (p: number) => `${prefix}:{p${p}}`;
  const partitionOf = (uetr: string) => crc32(uetr) % partitions;
  return {
    prefix,
    partitions,
    partitionOf,
    partitionCount: () => `${prefix}:partitions`,
    instruction(uetr) {
      const p = partitionOf(uetr);
      return {
        partition: p,
        record: `${tag(p)}:ins:${uetr}`,
        events: `${tag(p)}:ev:${uetr}`,
        outbox: `${tag(p)}:outbox`,
        holds: `${tag(p)}:holds`,
        releases: `${tag(p)}:rel:${uetr}`,
        open: `${tag(p)}:open`,
        attempts: `${tag(p)}:att:${uetr}`,
        dead: `${tag(p)}:dead`,
        recent: `${tag(p)}:recent`,
        traces: `${tag(p)}:traces`,
        replicated: `${tag(p)}:replicated`,
        auditPending: `${tag(p)}:audit-pending`,
      };
    },
    outbox: (p) => `${tag(p)}:outbox`,
    eventsChannel: () => `${prefix}:events`,
    holds: (p) => `${tag(p)}:holds`,
    open: (p) => `${tag(p)}:open`,
    dead: (p) => `${tag(p)}:dead`,
    recent: (p) => `${tag(p)}:recent`,
    traces: (p) => `${tag(p)}:traces`,
    routes: () => `${prefix}:{routes}:table`,
    routesVersion: () => `${prefix}:{routes}:version`,
    routesReplicated: () => `${prefix}:{routes}:replicated`,
    routesChannel: () => `${prefix}:routes:changed`,
    routesAuditPending: () => `${prefix}:{routes}:audit-pending`,
    auditPendingKeys: () => [
      ...Array.from({ length: partitions }, (_, p) => `${tag(p)}:audit-pending`),
      `${prefix}:{routes}:audit-pending`,
    ],
    list(name) {
      const base = `${prefix}:{L:${name}}`;
      return {
        replicated: `${base}:replicated`,
        current: `${base}:current`,
        sequence: `${base}:seq`,
        versions: `${base}:versions`,
        entries: (v) => `${base}:v${v}:entries`,
        meta: (v) => `${base}:v${v}:meta`,
        auditPending: `${base}:audit-pending`,
      };
    },
    listNames: () => `${prefix}:lists`,
    listNamesReplicated: () => `{${prefix}:lists}:replicated`,
    listsChannel: () => `${prefix}:lists:changed`,
    auditLog: () => `${prefix}:{audit}:log`,
    auditHead: () => `${prefix}:{audit}:head`,
    auditReplicated: () => `${prefix}:{audit}:replicated`,
    auditWritten: (id) => `${prefix}:{audit}:written:${id}`,
  };
}
