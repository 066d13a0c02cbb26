import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  DeliverInstructionRequest,
  type DeliverInstructionResponse,
} from '../gen/caravan/settlement/v1/receiver';
import { unary } from '../grpc/handlers';
import { MAX_INSTRUCTION_REQUEST_BYTES } from '../grpc/request-limits';
import { isSettlementError, type SettlementError } from '../settlement/errors';
import { loggableUetr } from '../settlement/read-instruction';
import { StoreDataError } from '../store/store-data';
import type { Logger } from '../telemetry/logger';
import { countRedisError } from '../telemetry/metrics';
import { checkDeliveryRequest } from './delivery-request';
import { answerFor, type ReceiverBehaviour } from './receiver-behaviour';
import type { ReceiveResult, ReceiverStore } from './receiver-store';

export const RECEIVER_SERVICE = 'caravan.settlement.v1.SettlementReceiver';

export interface ReceiverServiceDeps {
  store: ReceiverStore;
  behaviour: ReceiverBehaviour;
  log: Logger;
  /** Aborted when the receiver begins to stop: delayed and hung calls end then, so stop is prompt. */
  stopping: AbortSignal;
}

function unavailable(message: string): SettlementError {
  return { kind: 'unavailable', message, retryAfterMs: 1000 };
}

/** Waits `ms` (forever when null) unless the call ends or the receiver stops first; says which. */
function holdCall(
  call: ServerUnaryCall<Buffer, DeliverInstructionResponse>,
  stopping: AbortSignal,
  ms: number | null,
): Promise<'elapsed' | 'cancelled' | 'stopping'> {
  if (call.cancelled) return Promise.resolve('cancelled');
  if (stopping.aborted) return Promise.resolve('stopping');
  return new Promise((resolve) => {
    const end = (how: 'elapsed' | 'cancelled' | 'stopping') => {
      clearTimeout(timer);
      call.off('cancelled', onCancelled);
      stopping.removeEventListener('abort', onStopping);
      resolve(how);
    };
    const onCancelled = () => end('cancelled');
    const onStopping = () => end('stopping');
    const timer = ms === null ? undefined : setTimeout(() => end('elapsed'), ms);
    call.once('cancelled', onCancelled);
    stopping.addEventListener('abort', onStopping, { once: true });
  });
}

export function settlementReceiverHandlers(deps: ReceiverServiceDeps): UntypedServiceImplementation {
  const { store, behaviour, log } = deps;
  return {
    deliverInstruction: unary<DeliverInstructionRequest, DeliverInstructionResponse>(
      `${RECEIVER_SERVICE}/DeliverInstruction`,
      DeliverInstructionRequest,
      'caravan.settlement.v1.DeliverInstructionRequest',
      log,
      async (request, scope, call) => {
        const facts = checkDeliveryRequest(request);
        if (isSettlementError(facts)) {
          // The message names fields and rules, never the values sent.
          log.info(
            { uetr: loggableUetr(request.instruction?.uetr ?? ''), error: facts.message },
            'delivery refused: invalid request',
          );
          return facts;
        }
        scope.span.setAttributes({ 'caravan.uetr': facts.uetr, 'caravan.attempt': facts.attempt });

        if (Math.random() < behaviour.failShare) {
          log.info(facts, 'simulated outage (fail share): answered UNAVAILABLE, nothing recorded');
          return unavailable('the receiver is unavailable (simulated outage); nothing was recorded: retry');
        }

        let received: ReceiveResult;
        try {
          received = await store.receive(
            { uetr: facts.uetr, attempt: facts.attempt, atMs: Date.now() },
            answerFor(facts.uetr, behaviour),
          );
        } catch (err) {
          if (err instanceof StoreDataError) throw err;
          countRedisError('storage-unavailable');
          log.warn(
            { ...facts, err: err instanceof Error ? err.message : String(err) },
            'storage unavailable',
          );
          return unavailable("the receiver's storage is unavailable; retry with the same UETR");
        }
        const { answer } = received;
        log.info(
          {
            ...facts,
            accepted: answer.accepted,
            reason: answer.code,
            first: received.first,
            deliveries: received.deliveries,
          },
          received.first ? 'instruction received' : 'repeated delivery answered from the record',
        );

        // Only a first delivery is slow or hangs: a retry is answered from the record at once,
        // which is what lets a caller whose deadline passed recover by retrying.
        if (received.first) {
          const hang = Math.random() < behaviour.hangShare;
          if (hang || behaviour.delayMs > 0) {
            if (hang) log.info(facts, 'simulated hang (hang share): recorded, not answering');
            const ended = await holdCall(call, deps.stopping, hang ? null : behaviour.delayMs);
            if (ended === 'stopping') {
              return unavailable('the receiver is stopping; the delivery is recorded: retry for its answer');
            }
            if (ended === 'cancelled') {
              return { kind: 'cancelled', message: 'the caller went away; the delivery is recorded' };
            }
          }
        }
        return {
          accepted: answer.accepted,
          reason: answer.accepted ? undefined : { code: answer.code, description: answer.description },
        };
      },
      undefined,
      MAX_INSTRUCTION_REQUEST_BYTES,
    ),
  };
}
