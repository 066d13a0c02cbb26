/**
 * The reference SettlementReceiver, for the demo, tests and benchmarks, and as a starting point for
 * a bank's own: start one in-process, and read what it received.
 */
export { answerFor, type ReceiverBehaviour } from './receiver-behaviour';
export {
  RECEIVER_SETTINGS,
  loadReceiverConfig,
  type ReceiverConfig,
  type ReceiverSettings,
} from './receiver-config';
export { createReceiverLog, type Receipt, type ReceiverCounts, type ReceiverLog } from './receiver-log';
export type { DeliveryAnswer } from './receiver-store';
export { startReceiver, type ReceiverOptions, type RunningReceiver } from './reference-receiver';
