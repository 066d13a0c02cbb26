import type { ComplianceClient } from '../gen/caravan/compliance/v1/compliance';
import { loadClientConfig, type ClientConfig } from '../config/config';
import type { ExitCode } from './exit-codes';
import { complianceClient, isServiceError, reportServiceError } from './gateway-client';

/**
 * Runs an officer's command with a Compliance client: configuration from the environment (mTLS
 * certificate, or CARAVAN_TOKEN in development mode), the client closed afterwards, and gRPC
 * errors printed with their field violations and trace id.
 */
export async function withCompliance(
  json: boolean,
  fn: (client: ComplianceClient, config: ClientConfig) => Promise<ExitCode>,
): Promise<ExitCode> {
  const config = loadClientConfig(process.env, 'officer');
  const client = complianceClient(config);
  try {
    return await fn(client, config);
  } catch (err) {
    if (isServiceError(err)) return reportServiceError(err, config.address, json);
    throw err;
  } finally {
    client.close();
  }
}
