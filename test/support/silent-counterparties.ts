import { createServer, type Socket } from 'node:net';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  SettlementReceiverService,
  type DeliverInstructionRequest,
  type DeliverInstructionResponse,
} from '../../src/gen/caravan/settlement/v1/receiver';

/**
 * A SettlementReceiver that completes the HTTP/2 and gRPC handshakes, takes every call and never
 * answers it: the counterparty whose worker pool is stuck. `recover()` makes it answer (accept)
 * from then on, as a counterparty does once its operator restarts the stuck part.
 */
export interface HangingReceiver {
  address: string;
  /** Calls taken while hanging, by UETR (the requests did arrive: only the answers never leave). */
  hungCalls: Map<string, number>;
  /** Calls answered after recover(), by UETR. */
  answered: Map<string, number>;
  /** Calls currently held open without an answer. */
  held(): number;
  recover(): void;
  stop(): Promise<void>;
}

export async function startHangingReceiver(): Promise<HangingReceiver> {
  const hungCalls = new Map<string, number>();
  const answered = new Map<string, number>();
  const open = new Set<ServerUnaryCall<DeliverInstructionRequest, DeliverInstructionResponse>>();
  let hanging = true;
  const server = new Server();
  server.addService(SettlementReceiverService, {
    deliverInstruction(
      call: ServerUnaryCall<DeliverInstructionRequest, DeliverInstructionResponse>,
      callback: sendUnaryData<DeliverInstructionResponse>,
    ) {
      const uetr = call.request.instruction?.uetr ?? '';
      const seen = hanging ? hungCalls : answered;
      seen.set(uetr, (seen.get(uetr) ?? 0) + 1);
      if (!hanging) {
        callback(null, { accepted: true, reason: undefined });
        return;
      }
      // The callback is deliberately dropped; the call ends only when the caller gives up.
      open.add(call);
      call.once('cancelled', () => open.delete(call));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    hungCalls,
    answered,
    held: () => open.size,
    recover() {
      hanging = false;
    },
    stop() {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/**
 * A TCP listener that accepts connections and never sends a byte: a counterparty behind a
 * firewall or load balancer that swallows traffic, where not even the HTTP/2 handshake completes.
 */
export interface BlackHole {
  address: string;
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    // Whatever the client sends is read and dropped, so its writes never block on a full buffer.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    address: `127.0.0.1:${address.port}`,
    connections: () => accepted,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
