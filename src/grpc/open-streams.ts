/** A server stream that ends with OK when told to. */
export interface EndableStream {
  end(): void;
  once(event: 'cancelled' | 'finish' | 'close', listener: () => void): unknown;
}

/**
 * The streams a graceful shutdown must end itself: health Watch and reflection streams never end
 * on their own, so without this a stop always waited out its whole grace period and then cut off
 * whatever was still in flight.
 */
export interface OpenStreams {
  /** Keeps the stream to end with the others; after endAll, ends it at once. */
  track(stream: EndableStream): void;
  endAll(): void;
}

export function createOpenStreams(): OpenStreams {
  const open = new Set<EndableStream>();
  // A stream opened once the stop has begun (a probe re-opening its Watch) would hold it open too.
  let ended = false;
  return {
    track(stream) {
      if (ended) {
        stream.end();
        return;
      }
      open.add(stream);
      const forget = () => open.delete(stream);
      stream.once('cancelled', forget);
      stream.once('finish', forget);
      stream.once('close', forget);
    },
    endAll() {
      ended = true;
      for (const stream of open) stream.end();
      open.clear();
    },
  };
}
