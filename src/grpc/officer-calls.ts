import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Role, RoleToken } from '../config/config';
import { isSettlementError } from '../settlement/errors';
import type { Logger } from '../telemetry/logger';
import { officerOf, type IdentityMode, type Officer } from './caller-identity';
import { unary, type CallScope, type Decoder } from './handlers';
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
) => handleUnaryCall<Buffer, Res>;

/** Unary methods that need an officer's role; the handler receives the authenticated officer. */
export function officerUnaryFactory(options: OfficerCallsOptions): OfficerUnary {
  const pkg = options.service.slice(0, options.service.lastIndexOf('.'));
  return function officerUnary<Req, Res>(
    name: string,
    type: Decoder<Req>,
    handle: (request: Req, officer: Officer, scope: CallScope) => Promise<Res | EdgeError>,
  ) {
    return unary<Req, Res>(
      `${options.service}/${name}`,
      type,
      `${pkg}.${name}Request`,
      options.log,
      async (request, scope, call) => {
        const officer = officerOf(call, options.identity, options.roleTokens, options.role);
        if (isSettlementError(officer)) return officer;
        scope.span.setAttribute('enduser.id', officer.id);
        return handle(request, officer, scope);
      },
    );
  };
}
