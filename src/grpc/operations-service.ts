import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { RoleToken } from '../config/config';
import {
  ExplainInstructionRequest,
  ListInstructionsRequest,
  ListRoutesRequest,
  PutRouteRequest,
  RemoveRouteRequest,
  ReplayInstructionRequest,
  type ListInstructionsResponse,
  type ListRoutesResponse,
  type OperationsService,
  type PutRouteResponse,
  type RemoveRouteResponse,
  type ReplayInstructionResponse,
} from '../gen/caravan/operations/v1/operations';
import { explainInstruction } from '../operations/explain-instruction';
import { findInstructions } from '../operations/find-instructions';
import { listProblems, type Problem } from '../operations/instruction-problems';
import { replayInstruction, type ReplayDeps } from '../operations/replay-instruction';
import type { RouteAdmin } from '../operations/route-admin';
import { loggableUetr } from '../settlement/read-instruction';
import { invalidArgument, isSettlementError, type FieldViolation } from '../settlement/errors';
import type { InstructionStore } from '../store/instruction-store';
import type { Logger } from '../telemetry/logger';
import { traceparentOf } from '../telemetry/tracing';
import type { IdentityMode } from './caller-identity';
import { stateToProto } from './instruction-mapping';
import { officerUnaryFactory } from './officer-calls';
import {
  explanationToProto,
  filterFromProto,
  listedToProto,
  problemFromProto,
  problemToProto,
  routeFromProto,
  routeToProto,
} from './operations-mapping';

export interface OperationsServiceDeps {
  routes: RouteAdmin;
  store: InstructionStore;
  partitions: number;
  replay: ReplayDeps;
  identity: IdentityMode;
  roleTokens: readonly RoleToken[];
  log: Logger;
  now: () => number;
}

const SERVICE = 'caravan.operations.v1.Operations';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DEFAULT_STUCK_AFTER_MS = 5 * 60_000;
const MAX_STUCK_AFTER_MS = 365 * 24 * 3_600_000;
const BIC = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;

type Method = keyof typeof OperationsService;

export function operationsHandlers(deps: OperationsServiceDeps): UntypedServiceImplementation {
  const { log } = deps;
  const officerUnary = officerUnaryFactory({
    service: SERVICE,
    role: 'operations',
    identity: deps.identity,
    roleTokens: deps.roleTokens,
    log,
  });

  const handlers: Record<Method, UntypedServiceImplementation[string]> = {
    listRoutes: officerUnary('ListRoutes', ListRoutesRequest, async (): Promise<ListRoutesResponse> => {
      const { version, rules } = await deps.routes.list();
      return { routes: rules.map(routeToProto), version: String(version) };
    }),

    putRoute: officerUnary('PutRoute', PutRouteRequest, async (request, officer) => {
      if (request.route === undefined)
        return invalidArgument([{ field: 'route', description: 'is required' }]);
      const rule = routeFromProto(request.route);
      if (Array.isArray(rule)) return invalidArgument(rule);
      const stored = await deps.routes.put(rule, officer.id);
      if (isSettlementError(stored)) return stored;
      log.info({ route: rule.id, officer: officer.id, version: stored.version }, 'route stored');
      const reply: PutRouteResponse = {
        route: routeToProto(stored.rule),
        version: String(stored.version),
        replaced: stored.replaced,
      };
      return reply;
    }),

    removeRoute: officerUnary('RemoveRoute', RemoveRouteRequest, async (request, officer) => {
      const removed = await deps.routes.remove(request.id, officer.id);
      if (isSettlementError(removed)) return removed;
      log.info({ route: request.id, officer: officer.id, version: removed.version }, 'route removed');
      const reply: RemoveRouteResponse = { version: String(removed.version) };
      return reply;
    }),

    listInstructions: officerUnary('ListInstructions', ListInstructionsRequest, async (request) => {
      const violations: FieldViolation[] = [];
      const problems: Problem[] = [];
      request.problems.forEach((p, i) => {
        const problem = problemFromProto(p);
        if (problem === null)
          violations.push({ field: `problems[${i}]`, description: 'must be FAILED, STUCK or HELD' });
        else problems.push(problem);
      });
      const stuckAfter = request.stuckAfterMs === '0' ? DEFAULT_STUCK_AFTER_MS : Number(request.stuckAfterMs);
      if (!Number.isSafeInteger(stuckAfter) || stuckAfter > MAX_STUCK_AFTER_MS) {
        violations.push({ field: 'stuck_after_ms', description: 'must be at most a year in milliseconds' });
      }
      if (request.participant !== '' && !BIC.test(request.participant)) {
        violations.push({ field: 'participant', description: 'must be an 8 or 11 character BIC' });
      }
      if (request.limit > 1000) violations.push({ field: 'limit', description: 'must be at most 1000' });
      const filter = request.filter === undefined ? null : filterFromProto(request.filter);
      if (Array.isArray(filter)) violations.push(...filter);
      if (filter !== null && (request.problems.length > 0 || request.stuckAfterMs !== '0')) {
        violations.push({
          field: 'filter',
          description: 'list by problem or by filter, not both: leave problems and stuck_after_ms unset',
        });
      }
      if (violations.length > 0 || Array.isArray(filter)) return invalidArgument(violations);
      const participant = request.participant === '' ? null : request.participant;
      const limit = request.limit === 0 ? 100 : request.limit;
      if (filter !== null) {
        const found = await findInstructions(deps.store, deps.partitions, { ...filter, participant, limit });
        const reply: ListInstructionsResponse = {
          instructions: found.instructions.map((i) => listedToProto(i)),
          truncated: found.truncated,
          partial: found.partial,
        };
        return reply;
      }
      const found = await listProblems(
        deps.store,
        deps.partitions,
        {
          problems: problems.length > 0 ? problems : ['failed', 'stuck'],
          stuckAfterMs: stuckAfter,
          participant,
          limit,
        },
        deps.now(),
      );
      const reply: ListInstructionsResponse = {
        instructions: found.instructions.map(problemToProto),
        truncated: found.truncated,
        partial: false,
      };
      return reply;
    }),

    explainInstruction: officerUnary(
      'ExplainInstruction',
      ExplainInstructionRequest,
      async (request, officer, scope) => {
        if (!UUID_V4.test(request.uetr)) {
          return invalidArgument([{ field: 'uetr', description: 'must be a lower-case UUID v4' }]);
        }
        scope.span.setAttribute('caravan.uetr', request.uetr);
        const explanation = await explainInstruction(deps.store, request.uetr, {
          showHits: officer.roles.includes('compliance'),
        });
        if (explanation === null) {
          return { kind: 'not-found' as const, message: `no instruction with UETR ${request.uetr}` };
        }
        return explanationToProto(explanation);
      },
    ),

    replayInstruction: officerUnary(
      'ReplayInstruction',
      ReplayInstructionRequest,
      async (request, officer, scope) => {
        const violations: FieldViolation[] = [];
        if (!UUID_V4.test(request.uetr))
          violations.push({ field: 'uetr', description: 'must be a lower-case UUID v4' });
        const comment = request.comment.trim();
        if (comment.length === 0 || comment.length > 500) {
          violations.push({
            field: 'comment',
            description: 'is required: 1-500 characters saying why (a ticket number)',
          });
        }
        if (violations.length > 0) return invalidArgument(violations);
        scope.span.setAttribute('caravan.uetr', request.uetr);
        const replayed = await replayInstruction(deps.replay, {
          uetr: request.uetr,
          operator: officer.id,
          comment,
          traceId: scope.traceId,
          traceparent: traceparentOf(scope.span),
        });
        if (isSettlementError(replayed)) return replayed;
        log.info(
          { uetr: loggableUetr(request.uetr), officer: officer.id, state: replayed.state },
          'instruction replayed',
        );
        const reply: ReplayInstructionResponse = {
          uetr: request.uetr,
          state: stateToProto(replayed.state),
          reason: replayed.reason,
        };
        return reply;
      },
    ),
  };
  return handlers;
}
