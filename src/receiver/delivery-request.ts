import type { DeliverInstructionRequest } from '../gen/caravan/settlement/v1/receiver';
import { checkBic } from '../settlement/bic';
import { invalidArgument, type FieldViolation, type SettlementError } from '../settlement/errors';
import { loggableUetr } from '../settlement/read-instruction';

/** The parts of a delivery the receiver acts on and may log: nothing about the parties. */
export interface DeliveryFacts {
  uetr: string;
  attempt: number;
  /** The agents' BICs when well-formed, else '': a malformed field may hold anything. */
  instructingAgent: string;
  creditorAgent: string;
}

function wellFormedBic(bic: string | undefined): string {
  return bic !== undefined && checkBic(bic) === null ? bic : '';
}

/**
 * Checks what the receiver relies on: an instruction, with a UETR to deduplicate on, and an attempt
 * number. The rest of the instruction was validated by Caravan before it was accepted.
 */
export function checkDeliveryRequest(request: DeliverInstructionRequest): DeliveryFacts | SettlementError {
  const violations: FieldViolation[] = [];
  const instruction = request.instruction;
  if (instruction === undefined) {
    violations.push({ field: 'instruction', description: 'is required: the instruction being delivered' });
  } else if (loggableUetr(instruction.uetr) === '') {
    violations.push({
      field: 'instruction.uetr',
      description:
        instruction.uetr === ''
          ? 'is required: the UETR is what repeated deliveries are recognised by'
          : 'must be a lower-case UUID version 4, e.g. 3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c',
    });
  }
  if (request.attempt < 1) {
    violations.push({
      field: 'attempt',
      description: 'must be at least 1 (the first delivery is attempt 1)',
    });
  }
  if (instruction === undefined || violations.length > 0) return invalidArgument(violations);
  return {
    uetr: instruction.uetr,
    attempt: request.attempt,
    instructingAgent: wellFormedBic(instruction.instructingAgent?.bic),
    creditorAgent: wellFormedBic(instruction.creditorAgent?.bic),
  };
}
