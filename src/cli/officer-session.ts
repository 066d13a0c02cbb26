import { status } from '@grpc/grpc-js';
import type { ComplianceClient } from '../gen/caravan/compliance/v1/compliance';
import { OperationsClient } from '../gen/caravan/operations/v1/operations';
import { loadClientConfig, type ClientConfig, type Role } from '../config/config';
import { channelCredentials } from '../grpc/credentials';
import type { ExitCode } from './exit-codes';
import { channelOptions, complianceClient, isServiceError, reportServiceError } from './gateway-client';

/** The service each officer role talks to. */
interface RoleClients {
  compliance: ComplianceClient;
  operations: OperationsClient;
}

const CONNECT: { [R in Role]: (config: ClientConfig) => RoleClients[R] } = {
  compliance: complianceClient,
  operations: (config) =>
    new OperationsClient(config.address, channelCredentials(config.tls), channelOptions(config)),
};

/**
 * What to fix when the gateway does not take the officer: the credential differs by mode, and the
 * server's message cannot know which environment variable the person set.
 */
function credentialHint(role: Role, config: ClientConfig): string {
  return config.devInsecure
    ? `  CARAVAN_TOKEN must be the token of an officer with the ${role} role in the gateway's CARAVAN_ROLE_TOKENS\n`
    : `  CARAVAN_TLS_CERT must be an officer certificate: the officer id as subject CN, and OU=${role}\n`;
}

/**
 * Runs an officer's command with the client of the role's service: configuration from the
 * environment (mTLS certificate, or CARAVAN_TOKEN in development mode), the client closed
 * afterwards, and gRPC errors printed with their field violations and trace id.
 */
export async function withOfficer<R extends Role>(
  role: R,
  json: boolean,
  fn: (client: RoleClients[R], config: ClientConfig) => Promise<ExitCode>,
): Promise<ExitCode> {
  const config = loadClientConfig(process.env, 'officer');
  const client = CONNECT[role](config);
  try {
    return await fn(client, config);
  } catch (err) {
    if (!isServiceError(err)) throw err;
    const code = reportServiceError(err, config.address, json);
    if (!json && (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED)) {
      process.stderr.write(credentialHint(role, config));
    }
    return code;
  } finally {
    client.close();
  }
}

export function withCompliance(
  json: boolean,
  fn: (client: ComplianceClient, config: ClientConfig) => Promise<ExitCode>,
): Promise<ExitCode> {
  return withOfficer('compliance', json, fn);
}
