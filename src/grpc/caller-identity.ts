import type { Metadata } from '@grpc/grpc-js';
import { timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { Role, RoleToken } from '../config/config';
import type { SettlementError } from '../settlement/errors';

const BIC = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
export const DEV_PARTICIPANT_HEADER = 'x-caravan-participant';

export type IdentityMode = 'mtls' | 'dev-insecure';

export interface CallLike {
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
  const names = commonNames(cert);
  if (names.length > 1) return { kind: 'unauthenticated', message: SEVERAL_CNS };
  const name = names[0];
  if (name === undefined || !BIC.test(name)) {
    return {
      kind: 'unauthenticated',
      message: 'the client certificate subject CN must be the participant BIC (8 or 11 characters)',
    };
  }
  return name;
}

const SEVERAL_CNS =
  'the client certificate has several subject CNs: it must name exactly one participant or officer';

/** The subject's CNs: more than one is refused, since TLS libraries disagree on which counts. */
function commonNames(cert: PeerCertificate | undefined | null): string[] {
  const cn: unknown = cert?.subject?.CN;
  if (Array.isArray(cn)) return cn.filter((n): n is string => typeof n === 'string');
  return typeof cn === 'string' && cn !== '' ? [cn] : [];
}

export interface Officer {
  id: string;
  roles: Role[];
}

/**
 * The officer behind a Compliance or Operations call, if they hold the role. With mTLS the officer
 * is the certificate's subject CN and the roles are its OU values; in development mode a bearer
 * token from CARAVAN_ROLE_TOKENS stands for both.
 */
export function officerOf(
  call: CallLike,
  mode: IdentityMode,
  tokens: readonly RoleToken[],
  role: Role,
): Officer | SettlementError {
  let officer: Officer | null = null;
  if (mode === 'dev-insecure') {
    const header = call.metadata.get('authorization')[0];
    const token = typeof header === 'string' ? header.replace(/^Bearer\s+/i, '') : '';
    const found = token === '' ? undefined : tokens.find((t) => timingSafeEqualText(t.token, token));
    if (found) officer = { id: found.id, roles: found.roles };
    if (officer === null) {
      return { kind: 'unauthenticated', message: 'send an officer token as "authorization: Bearer <token>"' };
    }
  } else {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    const names = commonNames(cert);
    if (names.length > 1) return { kind: 'unauthenticated', message: SEVERAL_CNS };
    const id = names[0];
    if (id === undefined || id.trim() === '') {
      return {
        kind: 'unauthenticated',
        message: 'a client certificate with the officer id as subject CN is required',
      };
    }
    const ou = cert?.subject?.OU;
    const units = (Array.isArray(ou) ? ou : ou === undefined ? [] : [ou]).map((u) => u.toLowerCase());
    // A participant's certificate (its CN a BIC) is never an officer's, whatever OU a bank's CA
    // request carried ("Operations" is a common department name).
    const roles = BIC.test(id)
      ? []
      : (['compliance', 'operations'] as const).filter((r) => units.includes(r));
    officer = { id, roles };
  }
  // Four-eyes counts officers by id: Alice and alice are one person.
  officer = { ...officer, id: officer.id.trim().toLowerCase() };
  if (!officer.roles.includes(role)) {
    return {
      kind: 'permission-denied',
      message: `this call needs the ${role} role, which ${officer.id} does not have`,
    };
  }
  return officer;
}

function timingSafeEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
