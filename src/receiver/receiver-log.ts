import type { Cluster, Redis } from 'ioredis';
import { receiverKeys } from './receiver-keys';
import { parseStoredAnswer } from './receiver-store';

/** One first delivery of a UETR, as the receiver recorded it. */
export interface Receipt {
  uetr: string;
  /** The attempt number the first delivery carried. */
  attempt: number;
  accepted: boolean;
  /** ISO 20022 reason code of a refusal, '' when accepted. */
  code: string;
  atMs: number;
}

export interface ReceiverCounts {
  /** Distinct UETRs received. */
  received: number;
  accepted: number;
  rejected: number;
  /** Every delivery, first and repeated: `deliveries - received` were duplicates. */
  deliveries: number;
}

/** What a receiver has received, read from Redis: for tests, the demo and benchmarks. */
export interface ReceiverLog {
  /** First deliveries in the order they were recorded. */
  received(): Promise<Receipt[]>;
  /** How many deliveries of the UETR arrived (0 if none). */
  deliveries(uetr: string): Promise<number>;
  counts(): Promise<ReceiverCounts>;
}

const PAGE = 1000;

function fieldsOf(flat: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i], flat[i + 1]);
  return fields;
}

export function createReceiverLog(redis: Redis | Cluster, prefix: string, name: string): ReceiverLog {
  const keys = receiverKeys(prefix, name);
  return {
    async received() {
      const receipts: Receipt[] = [];
      let start = '-';
      for (;;) {
        const page = await redis.xrange(keys.receipts, start, '+', 'COUNT', PAGE);
        for (const [, flat] of page) {
          const f = fieldsOf(flat);
          receipts.push({
            uetr: f.get('uetr') ?? '',
            attempt: Number(f.get('attempt')),
            accepted: f.get('accepted') === '1',
            code: f.get('code') ?? '',
            atMs: Number(f.get('at')),
          });
        }
        if (page.length < PAGE) return receipts;
        start = `(${page[page.length - 1][0]}`;
      }
    },

    async deliveries(uetr) {
      return Number((await redis.hget(keys.deliveries, uetr)) ?? 0);
    },

    async counts() {
      const [answers, perUetr] = await Promise.all([
        redis.hgetall(keys.received),
        redis.hvals(keys.deliveries),
      ]);
      const accepted = Object.entries(answers).filter(
        ([uetr, json]) => parseStoredAnswer(json, uetr).accepted,
      ).length;
      const received = Object.keys(answers).length;
      return {
        received,
        accepted,
        rejected: received - accepted,
        deliveries: perUetr.reduce((sum, n) => sum + Number(n), 0),
      };
    },
  };
}
