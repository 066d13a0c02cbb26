import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ServerReflectionService as ReflectionV1 } from '../gen/grpc/reflection/v1/reflection';
import { ServerReflectionService as ReflectionV1Alpha } from '../gen/grpc/reflection/v1alpha/reflection';
import type { Config } from '../config/config';
import type { Logger } from '../telemetry/logger';
import { serverCredentials } from './credentials';
import { guardedHealth } from './health-guard';
import { createOpenStreams } from './open-streams';
import { startHealthServer } from './health-server';
import { loadDescriptorSet, reflectionHandlers } from './reflection-service';

export interface ServiceRegistration {
  name: string;
  definition: ServiceDefinition;
  handlers: UntypedServiceImplementation;
}

export interface RunningServer {
  /** The port actually bound (useful with port 0 in tests). */
  port: number;
  /** The plaintext health port's, when one is configured. */
  healthPort: number | null;
  /**
   * Stops taking calls: health turns NOT_SERVING, `beforeDrain` runs (it ends open streams), calls
   * in flight finish, and after `graceMs` whatever is left is cut off.
   */
  shutdown(beforeDrain: () => void): Promise<void>;
}

/**
 * Service definitions whose requests reach the handler as raw bytes, so decoding failures are
 * answered by the handler (INVALID_ARGUMENT) rather than by grpc-js (INTERNAL).
 */
export function rawRequests(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = { ...method, requestDeserialize: (bytes: Buffer) => bytes };
  }
  return out as ServiceDefinition;
}

export async function startServer(
  config: Pick<
    Config,
    'listen' | 'tls' | 'maxMessageBytes' | 'keepaliveTimeMs' | 'keepaliveTimeoutMs' | 'shutdownGraceMs'
  > & { healthListen?: string | null },
  services: ServiceRegistration[],
  log: Logger,
): Promise<RunningServer> {
  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes * 4,
    'grpc.keepalive_time_ms': config.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.max_concurrent_streams': 1000,
  });

  const names = [
    ...services.map((s) => s.name),
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
  ];
  const health = new HealthImplementation({
    '': 'SERVING',
    ...Object.fromEntries(services.map((s) => [s.name, 'SERVING'])),
  });
  const streams = createOpenStreams();
  const healthService = guardedHealth(health, ['', ...services.map((s) => s.name)], streams);
  healthService.addToServer(server);
  const descriptors = loadDescriptorSet();
  server.addService(rawRequests(ReflectionV1), reflectionHandlers(descriptors, names, streams));
  server.addService(rawRequests(ReflectionV1Alpha), reflectionHandlers(descriptors, names, streams));
  for (const s of services) server.addService(s.definition, s.handlers);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(config.listen, serverCredentials(config.tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });

  const healthServer = config.healthListen
    ? await startHealthServer(config.healthListen, healthService, config.shutdownGraceMs).catch(
        (err: unknown) => {
          server.forceShutdown();
          throw err;
        },
      )
    : null;

  let stopping: Promise<void> | null = null;
  return {
    port,
    healthPort: healthServer?.port ?? null,
    shutdown(beforeDrain) {
      stopping ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        for (const s of services) health.setStatus(s.name, 'NOT_SERVING');
        beforeDrain();
        // Health watchers have been sent NOT_SERVING above; their streams and reflection's end now.
        streams.endAll();
        const force = setTimeout(() => {
          log.warn(
            { graceMs: config.shutdownGraceMs },
            'calls still in flight after the grace period; cutting them off',
          );
          server.forceShutdown();
          resolve();
        }, config.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }).then(() => healthServer?.stop());
      return stopping;
    },
  };
}
