import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { defineReceiverScripts } from '../store/lua-scripts';
import { StoreDataError } from '../store/store-data';
import type { ReceiverKeys } from './receiver-keys';

/** What the receiver answers for one UETR: the DeliverInstructionResponse, as stored. */
export interface DeliveryAnswer {
  accepted: boolean;
  /** ISO 20022 status reason code, '' when accepted. */
  code: string;
  description: string;
}

export interface Delivery {
  uetr: string;
  attempt: number;
  atMs: number;
}

export interface ReceiveResult {
  /** True for the first delivery of the UETR: the one whose receipt this call recorded. */
  first: boolean;
  /** The recorded answer: `proposed` on a first delivery, the first delivery's answer after. */
  answer: DeliveryAnswer;
  /** Deliveries of this UETR so far, this one included. */
  deliveries: number;
}

export interface ReceiverStore {
  /** Records a delivery atomically; `proposed` is kept only if this is the UETR's first delivery. */
  receive(delivery: Delivery, proposed: DeliveryAnswer): Promise<ReceiveResult>;
}

const storedAnswer = z.object({ accepted: z.boolean(), code: z.string(), description: z.string() });

/** The answer JSON the receive script wrote; anything else means the keys were tampered with. */
export function parseStoredAnswer(json: string, uetr: string): DeliveryAnswer {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new StoreDataError(`the stored answer for ${uetr} is not JSON`);
  }
  const answer = storedAnswer.safeParse(value);
  if (!answer.success) throw new StoreDataError(`the stored answer for ${uetr} is malformed`);
  return answer.data;
}

export function createReceiverStore(redis: Redis | Cluster, keys: ReceiverKeys): ReceiverStore {
  const scripts = defineReceiverScripts(redis);
  return {
    async receive(delivery, proposed) {
      const [outcome, answer, deliveries] = await scripts.receiveInstruction(
        [keys.received, keys.receipts, keys.deliveries],
        [
          delivery.uetr,
          delivery.attempt,
          delivery.atMs,
          proposed.accepted ? '1' : '0',
          proposed.code,
          proposed.description,
        ],
      );
      if ((outcome !== 'first' && outcome !== 'repeat') || typeof answer !== 'string') {
        throw new StoreDataError(`unexpected reply from the receive script: ${String(outcome)}`);
      }
      return {
        first: outcome === 'first',
        answer: parseStoredAnswer(answer, delivery.uetr),
        deliveries: Number(deliveries),
      };
    },
  };
}
