import { Metadata, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { ComplianceClient } from '../gen/caravan/compliance/v1/compliance';
import { SettlementGatewayClient } from '../gen/caravan/settlement/v1/gateway';
import type { ClientConfig } from '../config/config';
import { channelCredentials } from '../grpc/credentials';
import { DEV_PARTICIPANT_HEADER } from '../grpc/caller-identity';
import { decodeStatusDetails } from '../grpc/status';
import { EXIT, type ExitCode } from './exit-codes';
import { paint, printError } from './terminal-output';

/** Channel options every CLI client shares: keepalive pings find a gateway that went silent. */
export function channelOptions(config: ClientConfig): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': config.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.keepaliveTimeoutMs,
  };
}

export function gatewayClient(config: ClientConfig): SettlementGatewayClient {
  return new SettlementGatewayClient(config.address, channelCredentials(config.tls), {
    ...channelOptions(config),
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
}

/**
 * Per-call metadata: in development mode the participant (or the officer's token) travels here
 * instead of in a certificate.
 */
export function callMetadata(config: ClientConfig): Metadata {
  const metadata = new Metadata();
  if (config.devInsecure && config.participant !== null)
    metadata.set(DEV_PARTICIPANT_HEADER, config.participant);
  if (config.devInsecure && config.token !== null) metadata.set('authorization', `Bearer ${config.token}`);
  return metadata;
}

export function complianceClient(config: ClientConfig): ComplianceClient {
  return new ComplianceClient(config.address, channelCredentials(config.tls), {
    ...channelOptions(config),
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 8 * 1024 * 1024,
  });
}

export function deadline(config: ClientConfig): Date {
  return new Date(Date.now() + config.deadlineMs);
}

const EXIT_BY_STATUS: Partial<Record<status, ExitCode>> = {
  [status.INVALID_ARGUMENT]: EXIT.usage,
  [status.NOT_FOUND]: EXIT.notFound,
  [status.UNAVAILABLE]: EXIT.unavailable,
  [status.DEADLINE_EXCEEDED]: EXIT.unavailable,
  [status.RESOURCE_EXHAUSTED]: EXIT.unavailable,
  [status.UNAUTHENTICATED]: EXIT.denied,
  [status.PERMISSION_DENIED]: EXIT.denied,
  [status.ALREADY_EXISTS]: EXIT.conflict,
  [status.FAILED_PRECONDITION]: EXIT.conflict,
};

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** Prints a gRPC error the way a person at a terminal needs it, and picks the exit code. */
export function reportServiceError(err: ServiceError, address: string, json: boolean): ExitCode {
  const details = decodeStatusDetails(err.metadata);
  const traceId = details.errorInfo?.metadata.trace_id ?? '';
  if (json) {
    process.stderr.write(
      `${JSON.stringify({
        code: status[err.code],
        message: err.details,
        traceId,
        fieldViolations: details.badRequest?.fieldViolations ?? [],
      })}\n`,
    );
  } else {
    const hint =
      err.code === status.UNAVAILABLE && details.errorInfo === null
        ? ` (is the gateway running at ${address}? set CARAVAN_ADDR to reach another)`
        : '';
    printError(`${status[err.code]}: ${err.details}${hint}`);
    for (const v of details.badRequest?.fieldViolations ?? []) {
      process.stderr.write(
        `  ${paint('yellow', v.field || '(request)', process.stderr)}: ${v.description}\n`,
      );
    }
    if (traceId !== '') process.stderr.write(`  trace id: ${traceId}\n`);
  }
  return EXIT_BY_STATUS[err.code] ?? EXIT.failure;
}
