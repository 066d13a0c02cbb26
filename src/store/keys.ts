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
}

export interface KeySpace {
  readonly prefix: string;
  readonly partitions: number;
  partitionOf(uetr: string): number;
  instruction(uetr: string): InstructionKeys;
  outbox(partition: number): string;
  /** Pub/sub channel announcing "this instruction has a new status event" (message: the UETR). */
  eventsChannel(): string;
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
    instruction(uetr) {
      const p = partitionOf(uetr);
      return {
        partition: p,
        record: `${tag(p)}:ins:${uetr}`,
        events: `${tag(p)}:ev:${uetr}`,
        outbox: `${tag(p)}:outbox`,
      };
    },
    outbox: (p) => `${tag(p)}:outbox`,
    eventsChannel: () => `${prefix}:events`,
  };
}
