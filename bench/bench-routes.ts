import type { Cluster, Redis } from 'ioredis';
import { createKeySpace } from '../src/store/keys';
import { createRouteStore } from '../src/store/route-store';

/** Routes every instruction to one counterparty, as an operator's PutRoute would. */
export async function putCatchAllRoute(
  redis: Redis | Cluster,
  prefix: string,
  address: string,
): Promise<void> {
  await createRouteStore(redis, createKeySpace(prefix, 16)).put({
    id: 'bench-all',
    match: { creditorAgent: '', currency: '', minAmount: '', maxAmount: '' },
    priority: 0,
    counterparties: [
      { name: 'bench-bank', address, transport: 'plaintext', serverName: '', caPem: '', deadlineMs: 0 },
    ],
    updatedBy: 'bench',
    updatedAtMs: Date.now(),
  });
}
