import { connect, createServer, type Socket } from 'node:net';
import { TEST_REDIS_URL } from './redis';

/**
 * A TCP relay between one process under test and the test Redis. It can freeze the traffic from
 * the process at a chosen command, so that a test kills the process at a known point of a
 * multi-command write rather than wherever a poll happens to notice it.
 */
export interface RedisRelay {
  /** REDIS_URL for the process under test. */
  url: string;
  /**
   * Resolves when the `occurrence`-th mention of `marker` (e.g. a key name) is about to go to
   * Redis; from then on nothing more from the process reaches Redis, that mention included.
   */
  freezeAt(marker: string, occurrence: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisRelay(): Promise<RedisRelay> {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<Socket>();
  let frozen = false;
  let watch: { marker: string; left: number; resolve: () => void } | null = null;
  // The tail of what each connection sent last, so a mention split across two reads is found.
  const carries = new Map<Socket, string>();

  /** What of `chunk` may still go out: all of it, or the part before the freezing mention. */
  const forwardable = (from: Socket, chunk: Buffer): Buffer => {
    if (frozen) return chunk.subarray(0, 0);
    if (watch === null) return chunk;
    const carry = carries.get(from) ?? '';
    // latin1 maps bytes to characters one to one, so string offsets are byte offsets.
    const text = carry + chunk.toString('latin1');
    carries.set(from, text.slice(-(watch.marker.length - 1)));
    for (let at = text.indexOf(watch.marker); at !== -1; at = text.indexOf(watch.marker, at + 1)) {
      watch.left--;
      if (watch.left === 0) {
        frozen = true;
        watch.resolve();
        return chunk.subarray(0, Math.max(0, at - carry.length));
      }
    }
    return chunk;
  };

  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    sockets.add(inbound).add(outbound);
    inbound.on('data', (chunk: Buffer) => {
      const out = forwardable(inbound, chunk);
      if (out.length > 0) outbound.write(out);
    });
    outbound.pipe(inbound);
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ]) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        carries.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no relay port');
  const url = new URL(TEST_REDIS_URL);
  url.host = `127.0.0.1:${address.port}`;
  return {
    url: url.toString(),
    freezeAt(marker, occurrence) {
      return new Promise<void>((resolve) => {
        watch = { marker, left: occurrence, resolve };
      });
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
