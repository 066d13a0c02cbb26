import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Role, RoleToken } from '../config/config';
import { isSettlementError } from '../settlement/errors';
import type { Logger } from '../telemetry/logger';
import { officerOf, type CallLike, type IdentityMode, type Officer } from './caller-identity';
import { unary, type Admit, type CallScope, type Decoder } from './handlers';
import type { EdgeError } from './status';

export interface OfficerCallsOptions {
  /** Full service name, e.g. caravan.operations.v1.Operations. */
  service: string;
  role: Role;
  identity: IdentityMode;
  roleTokens: readonly RoleToken[];
  log: Logger;
}

export type OfficerUnary = <Req, Res>(
  name: string,
  type: Decoder<Req>,
  handle: (request: Req, officer: Officer, scope: CallScope) => Promise<Res | EdgeError>,
  maxRequestBytes?: number,
) => handleUnaryCall<Buffer, Res>;

/**
 * Unary methods that need an officer's role; the handler receives the authenticated officer. The
 * role is checked before the request is decoded as well: any participant may reach these services,
 * and decoding a message of many small repeated elements costs far more heap than its size.
 */
export function officerUnaryFactory(options: OfficerCallsOptions): OfficerUnary {
  const pkg = options.service.slice(0, options.service.lastIndexOf('.'));
  const identify = (call: CallLike) => officerOf(call, options.identity, options.roleTokens, options.role);
  const admit: Admit = (call) => {
    const officer = identify(call);
    return isSettlementError(officer) ? officer : () => undefined;
  };
  return function officerUnary<Req, Res>(
    name: string,
    type: Decoder<Req>,
    handle: (request: Req, officer: Officer, scope: CallScope) => Promise<Res | EdgeError>,
    maxRequestBytes?: number,
  ) {
    return unary<Req, Res>(
      `${options.service}/${name}`,
      type,
      `${pkg}.${name}Request`,
      options.log,
      async (request, scope, call) => {
        const officer = identify(call);
        if (isSettlementError(officer)) return officer;
        scope.span.setAttribute('enduser.id', officer.id);
        return handle(request, officer, scope);
      },
      admit,
      maxRequestBytes,
    );
  };
}
