import { createHash } from 'node:crypto';
import type { DeliveryAnswer } from './receiver-store';

/** How the reference receiver answers, and which faults it simulates. */
export interface ReceiverBehaviour {
  /** Share of UETRs refused, chosen by a hash of the UETR: a retry never flips the answer. */
  rejectShare: number;
  /** ISO 20022 status reason code of a refusal. */
  rejectCode: string;
  /** Share of calls answered UNAVAILABLE before anything is recorded (an outage; drawn per call). */
  failShare: number;
  /** A first delivery is answered this long after its receipt is recorded. */
  delayMs: number;
  /** Share of first deliveries recorded and then never answered (drawn per call). */
  hangShare: number;
}

/** A UETR's fixed position in [0, 1), from its SHA-256, so every delivery of it lands alike. */
function uetrPosition(uetr: string): number {
  return createHash('sha256').update(uetr).digest().readUInt32BE(0) / 2 ** 32;
}

/** The answer to the first delivery of `uetr`: the same for the same UETR, on every receiver. */
export function answerFor(uetr: string, behaviour: ReceiverBehaviour): DeliveryAnswer {
  if (uetrPosition(uetr) < behaviour.rejectShare) {
    return {
      accepted: false,
      code: behaviour.rejectCode,
      description: 'refused by the reference receiver (its configured reject share)',
    };
  }
  return { accepted: true, code: '', description: '' };
}
