import type { Cluster, Redis } from 'ioredis';
import type { KeySpace } from './keys';

/** A process configured with another partition count than the data under its prefix. */
export class PartitionCountMismatch extends Error {
  constructor(
    readonly configured: number,
    readonly stored: number,
    prefix: string,
  ) {
    super(
      `CARAVAN_PARTITIONS is ${configured}, but the data under the Redis prefix "${prefix}" is partitioned ${stored} ways; ` +
        'the partition count is fixed for the life of the data: set CARAVAN_PARTITIONS=' +
        String(stored),
    );
    this.name = 'PartitionCountMismatch';
  }
}

/**
 * Records the partition count with the data on first start, and refuses a process configured
 * otherwise: an instruction's partition is crc32(UETR) mod the count, so a gateway counting
 * differently would not find recorded instructions (a retry would be recorded again and queued on
 * a second outbox) and a dispatcher would never read some outboxes.
 */
export async function claimPartitionCount(redis: Redis | Cluster, keys: KeySpace): Promise<void> {
  await redis.set(keys.partitionCount(), String(keys.partitions), 'NX');
  const stored = Number(await redis.get(keys.partitionCount()));
  if (stored !== keys.partitions) throw new PartitionCountMismatch(keys.partitions, stored, keys.prefix);
}
