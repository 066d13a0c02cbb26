import { createHash } from 'node:crypto';
import { checkRoute, checkRouteId, type RouteRule } from '../routing/route-rule';
import type { RouteTable } from '../routing/route-table';
import { invalidArgument, type SettlementError } from '../settlement/errors';
import { unconfirmedDecision, type DecisionReplication } from '../settlement/decision-replication';
import { auditIntent, type AuditLog } from '../store/audit-log';
import type { RouteStore } from '../store/route-store';

export interface RouteAdmin {
  list(): Promise<{ version: number; rules: RouteRule[] }>;
  put(
    rule: Omit<RouteRule, 'updatedBy' | 'updatedAtMs'>,
    operator: string,
  ): Promise<{ rule: RouteRule; version: number; replaced: boolean } | SettlementError>;
  remove(id: string, operator: string): Promise<{ version: number } | SettlementError>;
}

export interface RouteAdminDeps {
  store: RouteStore;
  /** This replica's cache, refreshed after a change so the operator's next call sees it. */
  table: RouteTable;
  audit: AuditLog;
  now: () => number;
  /** With CARAVAN_REDIS_MIN_REPLICAS: a route change is acknowledged once replicas hold it. */
  replication?: DecisionReplication;
}

/** Route changes by operators: validated whole, stored, announced to every replica, audited. */
export function createRouteAdmin({ store, table, audit, now, replication }: RouteAdminDeps): RouteAdmin {
  const unconfirmed = (version: number) =>
    unconfirmedDecision(replication, 'routes', `the route table is at version ${version}`, 'the routes');
  return {
    async list() {
      await table.refresh();
      return { version: table.version(), rules: [...table.rules()] };
    },

    async put(input, operator) {
      const rule: RouteRule = { ...input, updatedBy: operator, updatedAtMs: now() };
      const violations = checkRoute(rule);
      if (violations.length > 0)
        return invalidArgument(violations.map((v) => ({ ...v, field: `route.${v.field}` })));
      const {
        version,
        replaced,
        audit: entry,
      } = await store.put(rule, (change) =>
        auditIntent(
          {
            actor: operator,
            action: change.replaced ? 'route.replace' : 'route.add',
            subject: rule.id,
            details: {
              version: change.version,
              match: rule.match,
              priority: rule.priority,
              // Everything that decides where and to whom a transfer goes; the CA by its
              // fingerprint, so a swapped trust anchor shows in the log without the PEM.
              counterparties: rule.counterparties.map((c) => ({
                name: c.name,
                address: c.address,
                transport: c.transport,
                serverName: c.serverName,
                deadlineMs: c.deadlineMs,
                caSha256: c.caPem === '' ? '' : createHash('sha256').update(c.caPem).digest('hex'),
              })),
            },
          },
          now(),
        ),
      );
      if (entry) await audit.settle(store.auditPending(), entry);
      await table.refresh();
      return (await unconfirmed(version)) ?? { rule, version, replaced };
    },

    async remove(id, operator) {
      const bad = checkRouteId(id);
      if (bad) return invalidArgument([bad]);
      const removed = await store.remove(id, (change) =>
        auditIntent(
          { actor: operator, action: 'route.remove', subject: id, details: { version: change.version } },
          now(),
        ),
      );
      if (removed === null) return { kind: 'not-found', message: `no route with id ${id}` };
      if (removed.audit) await audit.settle(store.auditPending(), removed.audit);
      await table.refresh();
      return (await unconfirmed(removed.version)) ?? { version: removed.version };
    },
  };
}
