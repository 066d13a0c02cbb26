import { setMaxListeners } from 'node:events';
import type { Config } from './config/config';
import type { SettlementInstruction } from './gen/caravan/settlement/v1/instruction';
import { createHoldReview } from './compliance/hold-review';
import { createListMaintenance, type ParseList } from './compliance/list-maintenance';
import { createRescreen, type Rescreen } from './compliance/rescreen';
import { startAuditSweeper, type AuditSweeper } from './compliance/audit-sweeper';
import { createScreeningSync, type ScreeningSync } from './compliance/screening-sync';
import { ComplianceService } from './gen/caravan/compliance/v1/compliance';
import { SettlementGatewayService } from './gen/caravan/settlement/v1/gateway';
import { complianceHandlers } from './grpc/compliance-service';
import { createAdmission } from './grpc/call-admission';
import { settlementGatewayHandlers } from './grpc/settlement-gateway-service';
import { rawRequests, startServer, type ServiceRegistration } from './grpc/server';
import { createInstructionReader } from './settlement/read-instruction';
import { acceptWithoutScreening, type ScreenInstruction } from './settlement/screening-seam';
import { createScreeningInFlight } from './settlement/screening-in-flight';
import { createScreeningStep } from './settlement/screening-step';
import { createSubmitInstruction } from './settlement/submit-instruction';
import { createAuditLog } from './store/audit-log';
import { claimPartitionCount } from './store/partition-count';
import { createEventFeed } from './store/event-feed';
import { createInstructionStore } from './store/instruction-store';
import { createKeySpace } from './store/keys';
import { createListStore } from './store/list-store';
import { createRouteStore } from './store/route-store';
import type { Dispatcher } from './delivery/dispatcher';
import { startConfiguredDispatcher } from './delivery/dispatch-settings';
import { OperationsService } from './gen/caravan/operations/v1/operations';
import { operationsHandlers } from './grpc/operations-service';
import { createRouteAdmin } from './operations/route-admin';
import { createRouteTable, type RouteTable } from './routing/route-table';
import { createRedisClient, duplicateForBlocking, waitUntilReady } from './store/redis-client';
import {
  REPLICA_WAIT_CONNECTIONS,
  createReplicaConfirmation,
  fewestConnectedReplicas,
  replicasHoldingEarlierWrites,
} from './store/replica-confirmation';
import { meteredStore, meteredSubmit } from './telemetry/instruction-metrics';
import { observeListAges } from './telemetry/list-metrics';
import type { Logger } from './telemetry/logger';
import { caravanInstruments, countConnectionErrors, type Observation } from './telemetry/metrics';

export interface Gateway {
  port: number;
  /** The plaintext health port (CARAVAN_HEALTH_LISTEN), null when not configured. */
  healthPort: number | null;
  /** The screening indexes' sync, null when screening is off. */
  screening: ScreeningSync | null;
  routes: RouteTable;
  /** The in-process dispatcher, null when CARAVAN_DISPATCHER=off. */
  dispatcher: Dispatcher | null;
  /** Graceful stop: see RunningServer.shutdown; then the Redis connections close. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  config: Config;
  log: Logger;
  /** Turns list files into entries (the importers); injected so the gateway core stays format-agnostic. */
  parseList: ParseList;
  /** Replaces the configured screening step (tests use it to hold a call in flight). */
  screen?: ScreenInstruction;
  /** Replaces the audit sweep's timing (tests sweep at once). */
  auditSweep?: { intervalMs: number; graceMs: number };
  now?: () => number;
}

const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
/** A re-screening pass that failed (Redis away) runs again after this pause. */
const RESCREEN_RETRY_MS = 2_000;
/** A submission's record step ends within its timeouts, seconds at most: this is a bug's bound. */
const RESCREEN_DRAIN_BOUND_MS = 60_000;
/** A watch outlives a Redis restart or failover, up to this long without an answer. */
const WATCH_OUTAGE_BOUND_MS = 60_000;
/** Audit entries of committed changes left unwritten are looked for this often… */
const AUDIT_SWEEP_MS = 10_000;
/** …once this old: their own gateway writes them within milliseconds of the change. */
const AUDIT_SWEEP_GRACE_MS = 5_000;

/**
 * The composition root of the gateway process: Redis connections, the screening indexes, the
 * settlement and compliance use cases, and the gRPC edge, started and stopped in order.
 */
export async function startGateway({
  config,
  log,
  parseList,
  screen: override,
  auditSweep = { intervalMs: AUDIT_SWEEP_MS, graceMs: AUDIT_SWEEP_GRACE_MS },
  now = Date.now,
}: GatewayOptions): Promise<Gateway> {
  const redis = createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
  // Subscriptions hold per-connection state, so they get a connection of their own.
  const subscriber = duplicateForBlocking(redis);
  const connections = [redis, subscriber];
  // WAIT blocks its connection, so replicated writes get their own (see replica-confirmation.ts).
  const { replicas, timeoutMs } = config.redisReplication;
  const confirmers = Array.from({ length: replicas > 0 ? REPLICA_WAIT_CONNECTIONS : 0 }, () =>
    createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs }),
  );
  connections.push(...confirmers);
  for (const c of connections) {
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    countConnectionErrors(c);
  }
  const closeAll = () => Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  let sync: ScreeningSync | null = null;
  let rescreen: Rescreen | null = null;
  let auditSweeper: AuditSweeper | null = null;
  const inFlight = createScreeningInFlight();
  let routes: RouteTable | null = null;
  let listAges: Observation | null = null;
  try {
    // A subscription sent before the connection is ready races ioredis's own ready check (INFO),
    // which Redis refuses in subscriber mode: both connections must be ready first.
    await Promise.all(connections.map((c) => waitUntilReady(c, config.redisUrl, 10_000)));
    const keys = createKeySpace(config.redisPrefix, config.partitions);
    await claimPartitionCount(redis, keys);
    if (confirmers.length > 0) {
      const connected = await fewestConnectedReplicas(confirmers[0]);
      if (connected < replicas) {
        log.warn(
          { connected, required: replicas },
          'CARAVAN_REDIS_MIN_REPLICAS exceeds the replicas connected to a Redis primary: submissions will answer UNAVAILABLE until enough replicas are connected',
        );
      }
    }
    const confirmation =
      confirmers.length > 0 ? createReplicaConfirmation(confirmers, { replicas, timeoutMs }) : null;
    const store = meteredStore(
      createInstructionStore(redis, keys, {
        recordTimeoutMs: config.redisCommandTimeoutMs,
        replication: confirmation ? { confirmation, replicas, timeoutMs } : undefined,
      }),
    );
    // A decision is written by several commands (a transition, a release, a list version, a route,
    // the audit entry); a marker in each slot it touched, audit log included, confirms them all.
    const confirmedBy = (markersOf: (subject: string) => { group: string; key: string }[]) =>
      confirmation
        ? {
            replicasHolding: (subject: string) =>
              replicasHoldingEarlierWrites(confirmation, [
                ...markersOf(subject),
                { group: 'audit', key: keys.auditReplicated() },
              ]),
            required: replicas,
            timeoutMs,
          }
        : undefined;
    const decisionReplication = confirmedBy((uetr) => {
      const k = keys.instruction(uetr);
      return [{ group: `p${k.partition}`, key: k.replicated }];
    });
    const routeReplication = confirmedBy(() => [{ group: 'routes', key: keys.routesReplicated() }]);
    const listReplication = confirmedBy((list) => [
      { group: `L:${list}`, key: keys.list(list).replicated },
      { group: 'list-names', key: keys.listNamesReplicated() },
    ]);
    const lists = createListStore(redis, keys);
    const audit = createAuditLog(redis, keys);
    auditSweeper = startAuditSweeper({ audit, log, now, ...auditSweep });
    const sweeper = auditSweeper;
    const feed = await createEventFeed(subscriber, keys);
    const identity = config.devInsecure ? 'dev-insecure' : 'mtls';
    const shutdown = new AbortController();
    // Every open watch listens for the shutdown; their number is bounded by the admission limits.
    setMaxListeners(0, shutdown.signal);
    const screeningOptions = { reviewThreshold: config.screening.reviewThreshold };
    const services: ServiceRegistration[] = [];
    const routeStore = createRouteStore(redis, keys);
    routes = await createRouteTable({
      store: routeStore,
      keys,
      subscriber,
      log,
      pollMs: config.delivery.routesPollMs,
    });
    const routeTable = routes;
    const hasRoute = (instruction: SettlementInstruction) => routeTable.find(instruction) !== null;

    if (config.screening.enabled) {
      listAges = observeListAges(lists, now);
      const passes = createRescreen({
        store,
        partitions: keys.partitions,
        log,
        now,
        options: screeningOptions,
        inFlight,
        retryMs: RESCREEN_RETRY_MS,
        drainBoundMs: RESCREEN_DRAIN_BOUND_MS,
      });
      rescreen = passes;
      const currentSync = await createScreeningSync({
        lists,
        keys,
        subscriber,
        log,
        now: () => performance.now(),
        stalenessMs: config.screening.stalenessMs,
        pollMs: config.screening.pollMs,
        onChange: (changed, indexes, generation) => passes.changed(changed, indexes, generation),
      });
      sync = currentSync;
      services.push({
        name: 'caravan.compliance.v1.Compliance',
        definition: rawRequests(ComplianceService),
        handlers: complianceHandlers({
          maintenance: createListMaintenance({
            lists,
            audit,
            parse: parseList,
            now,
            maxDropShare: config.screening.maxDropShare,
            keepVersions: config.screening.keepVersions,
            replication: listReplication,
          }),
          lists,
          holds: createHoldReview({
            store,
            audit,
            now,
            releasesRequired: config.screening.releasesRequired,
            replication: decisionReplication,
            screening: { snapshot: () => currentSync.snapshot(), options: screeningOptions, inFlight },
          }),
          audit,
          sync,
          identity,
          roleTokens: config.roleTokens,
          log,
          reviewThreshold: config.screening.reviewThreshold,
          maxImportBytes: MAX_IMPORT_BYTES,
        }),
      });
    }
    const screeningSync = sync;
    const observation = listAges;
    const screen =
      override ??
      (screeningSync
        ? createScreeningStep(() => screeningSync.snapshot(), screeningOptions, inFlight)
        : acceptWithoutScreening);

    services.push({
      name: 'caravan.operations.v1.Operations',
      definition: rawRequests(OperationsService),
      handlers: operationsHandlers({
        routes: createRouteAdmin({
          store: routeStore,
          table: routeTable,
          audit,
          now,
          replication: routeReplication,
        }),
        store,
        partitions: config.partitions,
        replay: { store, screen, hasRoute, audit, now, replication: decisionReplication },
        identity,
        roleTokens: config.roleTokens,
        log,
        now,
      }),
    });
    services.unshift({
      name: 'caravan.settlement.v1.SettlementGateway',
      definition: rawRequests(SettlementGatewayService),
      handlers: settlementGatewayHandlers({
        submit: meteredSubmit(createSubmitInstruction({ store, screen, hasRoute, now })),
        reader: createInstructionReader({
          store,
          feed,
          pollMs: config.watchPollMs,
          outageBoundMs: WATCH_OUTAGE_BOUND_MS,
          now,
        }),
        identity,
        log,
        shutdown: shutdown.signal,
        admission: createAdmission(config.limits, (reason) =>
          caravanInstruments().callsRefused.add(1, { 'caravan.limit': reason }),
        ),
      }),
    });
    const server = await startServer(config, services, log);
    const dispatcher = config.delivery.dispatcher
      ? await startConfiguredDispatcher(config, { redis, keys, store, routes: routeTable, log, now }).catch(
          async (err: unknown) => {
            await server.shutdown(() => shutdown.abort());
            throw err;
          },
        )
      : null;
    return {
      port: server.port,
      healthPort: server.healthPort,
      screening: screeningSync,
      routes: routeTable,
      dispatcher,
      async stop() {
        await Promise.all([
          server.shutdown(() => shutdown.abort()),
          dispatcher?.stop(config.shutdownGraceMs),
        ]);
        observation?.stop();
        await routeTable.close();
        await screeningSync?.close();
        await rescreen?.close();
        await sweeper.close();
        await feed.close();
        await closeAll();
      },
    };
  } catch (err) {
    listAges?.stop();
    await routes?.close();
    await sync?.close();
    await rescreen?.close();
    await auditSweeper?.close();
    await closeAll();
    throw err;
  }
}
