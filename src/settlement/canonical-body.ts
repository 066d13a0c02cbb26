import { createHash } from 'node:crypto';
import { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';

/**
 * The idempotency fingerprint of an instruction: SHA-256 over its re-encoding by the generated
 * encoder, which writes fields in field-number order whatever order the client sent them in and
 * leaves out default values, so two submissions differing only in wire order or in explicitly sent
 * defaults hash alike.
 */
export function canonicalBodyHash(instruction: SettlementInstruction): string {
  return createHash('sha256').update(SettlementInstruction.encode(instruction).finish()).digest('hex');
}
