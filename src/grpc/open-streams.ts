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
  track(stream: EndableStream): void;
  endAll(): void;
}

export function createOpenStreams(): OpenStreams {
  const open = new Set<EndableStream>();
  return {
    track(stream) {
      open.add(stream);
      const forget = () => open.delete(stream);
      stream.once('cancelled', forget);
      stream.once('finish', forget);
      stream.once('close', forget);
    },
    endAll() {
      for (const stream of open) stream.end();
      open.clear();
    },
  };
}
