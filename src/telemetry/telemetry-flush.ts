/**
 * The flush of the started telemetry SDK, reachable without loading the SDK: client commands never
 * start it and should not pay for its modules.
 */
let flush: () => Promise<void> = () => Promise.resolve();

export function setTelemetryFlush(fn: () => Promise<void>): void {
  flush = fn;
}

/** Sends the spans and metrics still buffered and stops the SDK, when one was started. */
export function flushTelemetry(): Promise<void> {
  return flush();
}
