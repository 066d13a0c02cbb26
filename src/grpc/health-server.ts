import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { HealthService } from './health-guard';

export interface HealthServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * grpc.health.v1 alone on a plaintext port. With mTLS on the main port a kubelet's gRPC probe
 * cannot present a client certificate, so probes use this port; it reveals nothing but serving
 * status. The health implementation is shared, so this port tells what the main one would.
 */
export async function startHealthServer(
  listen: string,
  health: HealthService,
  shutdownGraceMs: number,
): Promise<HealthServer> {
  const server = new Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    port,
    // Bounded like the main port's stop: a stream no one ends must not hold the process.
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
