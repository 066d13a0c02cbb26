import type { WatchedEvent } from '../settlement/read-instruction';
import type { Instruction, InstructionEvent, ScreeningSummary } from '../gen/caravan/settlement/v1/gateway';
import { parseEvidence } from '../settlement/screening-step';
import { InstructionState, IsoStatus, type StatusEvent } from '../gen/caravan/settlement/v1/status';
import type { Timestamp } from '../gen/google/protobuf/timestamp';
import {
  type InstructionRecord,
  type IsoStatusCode,
  type State,
  type StatusEventRecord,
} from '../store/instruction-record';

export function stateToProto(state: State): InstructionState {
  return InstructionState[`INSTRUCTION_STATE_${state}`];
}

export function isoToProto(iso: IsoStatusCode): IsoStatus {
  return IsoStatus[`ISO_STATUS_${iso}`];
}

export function timestampOf(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function statusEventToProto(event: StatusEventRecord): StatusEvent {
  return {
    sequence: String(event.sequence),
    state: stateToProto(event.state),
    isoStatus: isoToProto(event.isoStatus),
    reason: event.reason,
    occurredAt: timestampOf(event.occurredAtMs),
    traceId: event.traceId,
  };
}

export function instructionEventToProto(uetr: string, event: WatchedEvent): InstructionEvent {
  return { uetr, event: statusEventToProto(event), terminal: event.final };
}

/** What a participant may know of screening: whether, against which versions, how many hits. */
function screeningSummary(evidenceJson: string): ScreeningSummary {
  const evidence = parseEvidence(evidenceJson);
  return {
    screened: evidence.screened,
    listVersions: evidence.versions.map((v) => ({ list: v.list, version: String(v.version) })),
    hitCount: evidence.hits.length,
  };
}

export function instructionToProto(record: InstructionRecord): Instruction {
  return {
    uetr: record.uetr,
    instruction: record.instruction,
    participant: record.participant,
    state: stateToProto(record.state),
    isoStatus: isoToProto(record.isoStatus),
    reason: record.reason,
    traceId: record.traceId,
    createdAt: timestampOf(record.createdAtMs),
    updatedAt: timestampOf(record.updatedAtMs),
    history: record.history.map(statusEventToProto),
    screening: screeningSummary(record.screening),
  };
}
