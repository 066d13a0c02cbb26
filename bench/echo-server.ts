/**
 * The baseline for the intake target: a bare grpc-js server on the gateway's SubmitInstruction
 * path that answers every call with the same pre-encoded bytes. Run as its own process:
 *
 *   ECHO_LISTEN=127.0.0.1:50099 ECHO_RESPONSE_BASE64=<bytes> node --import tsx bench/echo-server.ts
 *
 * Requests and responses stay raw Buffers, so the only work left is grpc-js and HTTP/2 — what the
 * gateway's throughput is compared against, at the same message sizes.
 */
import { Server, ServerCredentials, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { SettlementGatewayService } from '../src/gen/caravan/settlement/v1/gateway';

const identity = (b: Buffer): Buffer => b;

function main(): void {
  const listen = process.env.ECHO_LISTEN ?? '127.0.0.1:0';
  const response = Buffer.from(process.env.ECHO_RESPONSE_BASE64 ?? '', 'base64');
  const serviceName = process.env.ECHO_SERVICE_NAME ?? 'caravan.settlement.v1.SettlementGateway';

  // The gateway's server options (src/grpc/server.ts), so the transport is configured alike.
  const server = new Server({
    'grpc.max_receive_message_length': 1024 * 1024,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.max_concurrent_streams': 1000,
  });
  const method = SettlementGatewayService.submitInstruction;
  const definition: ServiceDefinition = {
    SubmitInstruction: {
      path: method.path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const echo: handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, response);
  server.addService(definition, { SubmitInstruction: echo });
  new HealthImplementation({ '': 'SERVING', [serviceName]: 'SERVING' }).addToServer(server);

  server.bindAsync(listen, ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`echo server: cannot listen on ${listen}: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`echo server listening on port ${port}, answering ${response.length} bytes\n`);
  });

  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
