/**
 * Requests refused before they are decoded when larger than these: decoding a message of many small
 * repeated elements costs about 140 bytes of heap per byte, far more than any valid request needs.
 */

/**
 * A SubmitInstructionRequest or DeliverInstructionRequest: the largest valid instruction (every text
 * at its ISO 20022 limit in 4-byte characters, ten identifiers per party, wallets at their longest)
 * encodes to 3.5 KiB (test/grpc/settlement-gateway.spec.ts); four times that leaves room for fields
 * added later.
 */
export const MAX_INSTRUCTION_REQUEST_BYTES = 16 * 1024;

/** A ScreenPartyRequest: one party of an instruction at most (a 1,000-character name, 20 BICs, a card). */
export const MAX_SCREEN_PARTY_REQUEST_BYTES = 16 * 1024;
