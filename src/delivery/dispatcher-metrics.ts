import type { RouteTable } from '../routing/route-table';
import type { Outbox } from '../store/outbox';
import { observeGauge, type Observation } from '../telemetry/metrics';
import type { BreakerRegistry, BreakerState } from './circuit-breaker';
import { counterpartyKey } from './receiver-clients';

const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * Gauges of a running dispatcher: the outbox lag per partition (entries not yet read, and read but
 * not yet settled: the same figures from every dispatcher, as they are the shared streams') and
 * each counterparty's circuit (0 closed, 1 half-open, 2 open; the worst of its channels).
 */
export function observeDispatcher(
  outbox: Outbox,
  partitions: number[],
  breakers: BreakerRegistry,
  routes: RouteTable,
): Observation {
  const lag = observeGauge(
    'caravan.outbox.lag',
    {
      unit: '{entry}',
      description:
        'Outbox entries per partition: unread (no dispatcher has them yet) and pending (read, not yet settled)',
    },
    async () => {
      const backlogs = await Promise.all(partitions.map((p) => outbox.backlog(p)));
      return backlogs.flatMap((b, p) => [
        { value: b.unread, attributes: { 'caravan.partition': p, 'caravan.outbox.entries': 'unread' } },
        { value: b.pending, attributes: { 'caravan.partition': p, 'caravan.outbox.entries': 'pending' } },
      ]);
    },
  );
  const circuits = observeGauge(
    'caravan.delivery.circuit.state',
    { unit: '1', description: "A counterparty's circuit breaker: 0 closed, 1 half-open, 2 open" },
    () => {
      const names = new Map(
        routes.rules().flatMap((r) => r.counterparties.map((c) => [counterpartyKey(c), c.name] as const)),
      );
      const worst = new Map<string, number>();
      for (const { key, state } of breakers.states()) {
        const name = names.get(key);
        if (name !== undefined) worst.set(name, Math.max(worst.get(name) ?? 0, BREAKER_VALUE[state]));
      }
      return Promise.resolve(
        [...worst].map(([name, value]) => ({ value, attributes: { 'caravan.counterparty': name } })),
      );
    },
  );
  return {
    stop() {
      lag.stop();
      circuits.stop();
    },
  };
}
