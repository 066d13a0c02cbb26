import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { SettlementError } from '../settlement/errors';

const BIC = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
export const DEV_PARTICIPANT_HEADER = 'x-caravan-participant';

export type IdentityMode = 'mtls' | 'dev-insecure';

interface CallLike {
  metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * The calling participant's BIC. With mTLS it is the subject common name (CN) of the client
 * certificate, which the gateway's CA vouches for; in development mode it is the
 * x-caravan-participant metadata, which anyone can set — which is why that mode must be explicit.
 */
export function participantOf(call: CallLike, mode: IdentityMode): string | SettlementError {
  if (mode === 'dev-insecure') {
    const value = call.metadata.get(DEV_PARTICIPANT_HEADER)[0];
    if (typeof value !== 'string' || value === '') {
      return {
        kind: 'unauthenticated',
        message: `development mode: send the participant BIC in metadata ${DEV_PARTICIPANT_HEADER}`,
      };
    }
    if (!BIC.test(value)) {
      return {
        kind: 'unauthenticated',
        message: `${DEV_PARTICIPANT_HEADER} must be an 8 or 11 character BIC`,
      };
    }
    return value;
  }
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (cert === undefined || cert === null || Object.keys(cert).length === 0) {
    return { kind: 'unauthenticated', message: 'a client certificate is required' };
  }
  const cn = cert.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (typeof name !== 'string' || !BIC.test(name)) {
    return {
      kind: 'unauthenticated',
      message: 'the client certificate subject CN must be the participant BIC (8 or 11 characters)',
    };
  }
  return name;
}
