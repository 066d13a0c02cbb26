import { createHash } from 'node:crypto';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';

/**
 * One writer for every hash: a fresh one grows its buffer from nothing on each submission, and the
 * encoding is synchronous, so no two hashes ever share it at once. A writer grown by an outsized
 * instruction is let go rather than kept at that size.
 */
let writer = new BinaryWriter();
const RETAINED_BYTES = 64 * 1024;

/**
 * The idempotency fingerprint of an instruction: SHA-256 over its re-encoding by the generated
 * encoder, which writes fields in field-number order whatever order the client sent them in and
 * leaves out default values, so two submissions differing only in wire order or in explicitly sent
 * defaults hash alike.
 */
export function canonicalBodyHash(instruction: SettlementInstruction): string {
  let encoded: Uint8Array;
  try {
    encoded = SettlementInstruction.encode(instruction, writer).finish();
  } catch (err) {
    // finish() also resets the writer, so a half-written message cannot prefix the next one.
    writer.finish();
    throw err;
  }
  if (encoded.length > RETAINED_BYTES) writer = new BinaryWriter();
  return createHash('sha256').update(encoded).digest('hex');
}
