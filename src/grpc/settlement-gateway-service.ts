import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  GetInstructionRequest,
  SubmitInstructionRequest,
  WatchInstructionRequest,
  type Instruction,
  type InstructionEvent,
  type SubmitInstructionResponse,
} from '../gen/caravan/settlement/v1/gateway';
import { isSettlementError } from '../settlement/errors';
import { loggableUetr, type InstructionReader } from '../settlement/read-instruction';
import type { SubmitInstruction } from '../settlement/submit-instruction';
import { ISO_STATUS_OF } from '../store/instruction-record';
import type { Logger } from '../telemetry/logger';
import { traceparentOf } from '../telemetry/tracing';
import type { Admission, CallKind } from './call-admission';
import { serverStreaming, unary, type Admit } from './handlers';
import { instructionEventToProto, instructionToProto, isoToProto, stateToProto } from './instruction-mapping';
import { participantOf, type IdentityMode } from './caller-identity';
import { MAX_INSTRUCTION_REQUEST_BYTES } from './request-limits';

export interface GatewayServiceDeps {
  submit: SubmitInstruction;
  reader: InstructionReader;
  identity: IdentityMode;
  log: Logger;
  /** Aborted when the server begins shutting down: open watch streams end then. */
  shutdown: AbortSignal;
  /** Per-participant rate and in-flight limits, checked before a request is decoded. */
  admission: Admission;
}

const SERVICE = 'caravan.settlement.v1.SettlementGateway';

export function settlementGatewayHandlers(deps: GatewayServiceDeps): UntypedServiceImplementation {
  const { log } = deps;
  // A caller without an identity is let through: the handler answers UNAUTHENTICATED.
  const admit =
    (kind: CallKind): Admit =>
    (call) => {
      const participant = participantOf(call, deps.identity);
      return isSettlementError(participant) ? () => undefined : deps.admission.admit(participant, kind);
    };
  return {
    submitInstruction: unary<SubmitInstructionRequest, SubmitInstructionResponse>(
      `${SERVICE}/SubmitInstruction`,
      SubmitInstructionRequest,
      'caravan.settlement.v1.SubmitInstructionRequest',
      log,
      async (request, scope, call) => {
        const participant = participantOf(call, deps.identity);
        if (isSettlementError(participant)) return participant;
        scope.span.setAttribute('caravan.participant', participant);
        const uetr = loggableUetr(request.instruction?.uetr ?? '');
        if (uetr !== '') scope.span.setAttribute('caravan.uetr', uetr);
        const outcome = await deps.submit(
          {
            participant,
            traceId: scope.traceId,
            traceparent: traceparentOf(scope.span),
            isCancelled: () => call.cancelled,
          },
          request.instruction,
        );
        if (isSettlementError(outcome)) {
          log.info({ uetr, participant, error: outcome.kind }, 'submission refused');
          return outcome;
        }
        scope.span.setAttribute('caravan.state', outcome.state);
        if (outcome.reason.code !== '') scope.span.setAttribute('caravan.reason', outcome.reason.code);
        log.info(
          {
            uetr,
            participant,
            state: outcome.state,
            reason: outcome.reason.code,
            replayed: outcome.replayed,
          },
          'instruction submitted',
        );
        return {
          uetr: outcome.uetr,
          state: stateToProto(outcome.state),
          isoStatus: isoToProto(ISO_STATUS_OF[outcome.state]),
          reason: outcome.reason,
          traceId: outcome.traceId,
          replayed: outcome.replayed,
        };
      },
      admit('unary'),
      MAX_INSTRUCTION_REQUEST_BYTES,
    ),

    getInstruction: unary<GetInstructionRequest, Instruction>(
      `${SERVICE}/GetInstruction`,
      GetInstructionRequest,
      'caravan.settlement.v1.GetInstructionRequest',
      log,
      async (request, scope, call) => {
        const participant = participantOf(call, deps.identity);
        if (isSettlementError(participant)) return participant;
        scope.span.setAttributes({
          'caravan.participant': participant,
          'caravan.uetr': loggableUetr(request.uetr),
        });
        const record = await deps.reader.get(participant, request.uetr);
        return isSettlementError(record) ? record : instructionToProto(record);
      },
      admit('unary'),
    ),

    watchInstruction: serverStreaming<WatchInstructionRequest, InstructionEvent>(
      `${SERVICE}/WatchInstruction`,
      WatchInstructionRequest,
      'caravan.settlement.v1.WatchInstructionRequest',
      log,
      async (request, scope, call) => {
        const participant = participantOf(call, deps.identity);
        if (isSettlementError(participant)) return participant;
        scope.span.setAttributes({
          'caravan.participant': participant,
          'caravan.uetr': loggableUetr(request.uetr),
        });
        const controller = new AbortController();
        const stop = () => controller.abort();
        call.on('cancelled', stop);
        deps.shutdown.addEventListener('abort', stop);
        // A call cancelled (or a shutdown begun) before these listeners existed fires no event.
        if (call.cancelled || deps.shutdown.aborted) stop();
        try {
          const events = await deps.reader.watch({ participant, signal: controller.signal }, request.uetr);
          if (isSettlementError(events)) return events;
          for await (const event of events) {
            if (isSettlementError(event)) return event;
            // Leaving the loop returns the generator, which stops its poll timer and listeners; a
            // watch waiting for a drain that never comes would keep them (and the process) alive.
            if (controller.signal.aborted) break;
            if (!call.write(instructionEventToProto(request.uetr, event))) {
              await new Promise<void>((resolve) => {
                const done = () => {
                  call.off('drain', done);
                  controller.signal.removeEventListener('abort', done);
                  resolve();
                };
                call.once('drain', done);
                controller.signal.addEventListener('abort', done, { once: true });
                if (controller.signal.aborted) done();
              });
            }
          }
          if (deps.shutdown.aborted && !call.cancelled) {
            return {
              kind: 'unavailable',
              message: 'the gateway is shutting down; watch again to continue from the current state',
              retryAfterMs: 0,
            };
          }
          return null;
        } finally {
          call.removeListener('cancelled', stop);
          deps.shutdown.removeEventListener('abort', stop);
        }
      },
      admit('watch'),
    ),
  };
}
