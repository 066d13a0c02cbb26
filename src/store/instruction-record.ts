import type { SettlementInstruction } from '../gen/caravan/settlement/v1/instruction';

/** Life-cycle states as stored in Redis; names match the proto's InstructionState values. */
export const STATES = ['RECEIVED', 'ACCEPTED', 'HELD_FOR_REVIEW', 'REJECTED', 'DELIVERED', 'FAILED'] as const;
export type State = (typeof STATES)[number];

/** ISO 20022 pacs.002 transaction status codes. */
export const ISO_STATUSES = ['RCVD', 'ACSP', 'PDNG', 'RJCT', 'ACSC'] as const;
export type IsoStatusCode = (typeof ISO_STATUSES)[number];

export const TERMINAL_STATES: ReadonlySet<State> = new Set<State>(['REJECTED', 'DELIVERED', 'FAILED']);

/** The pacs.002 status that goes with each state. */
export const ISO_STATUS_OF: Readonly<Record<State, IsoStatusCode>> = {
  RECEIVED: 'RCVD',
  ACCEPTED: 'ACSP',
  HELD_FOR_REVIEW: 'PDNG',
  REJECTED: 'RJCT',
  DELIVERED: 'ACSC',
  FAILED: 'RJCT',
};

export interface Reason {
  code: string;
  description: string;
}

export interface StatusEventRecord {
  /** The Redis stream id, the position a watcher resumes from. */
  streamId: string;
  sequence: number;
  state: State;
  isoStatus: IsoStatusCode;
  reason: Reason;
  occurredAtMs: number;
  traceId: string;
}

export interface InstructionRecord {
  uetr: string;
  instruction: SettlementInstruction;
  participant: string;
  state: State;
  isoStatus: IsoStatusCode;
  reason: Reason;
  traceId: string;
  createdAtMs: number;
  updatedAtMs: number;
  history: StatusEventRecord[];
  /** The screening decision stored with the instruction, as the screener wrote it (JSON). */
  screening: string;
  /** Delivery attempts started so far (across dispatchers and replays). */
  attempts: number;
  /** The counterparty of the latest delivery attempt, '' before the first. */
  counterparty: string;
}

/** One delivery attempt's outcome, kept for operators. */
export interface DeliveryAttemptRecord {
  attempt: number;
  counterparty: string;
  /** 'accepted', 'rejected', or the gRPC status name of a failed call, e.g. 'UNAVAILABLE'. */
  outcome: string;
  reasonCode: string;
  detail: string;
  startedAtMs: number;
  durationMs: number;
  traceId: string;
}

/** The answer given to the first submission, repeated to every replay of it. */
export interface SubmissionAnswer {
  state: State;
  isoStatus: IsoStatusCode;
  reason: Reason;
  traceId: string;
}

export function isState(value: string): value is State {
  return (STATES as readonly string[]).includes(value);
}

export function isIsoStatus(value: string): value is IsoStatusCode {
  return (ISO_STATUSES as readonly string[]).includes(value);
}
