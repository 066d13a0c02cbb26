import assert from 'node:assert/strict';
import { HealthCheckResponse_ServingStatus } from '../../src/gen/grpc/health/v1/health';
import { healthCheck } from '../support/health';
import type { ServerProcess } from '../support/processes';
import { describeFailure, mib, stopWithin, type FuzzReport } from './harness';

/** How much a server's RSS may grow past its warm-up peak during the timed run. */
export const RSS_GROWTH_BOUND = 100 * 1024 * 1024;
/** A server's shutdown grace (10 s by default) and then some: a liveness bound, not a latency one. */
const STOP_WITHIN_MS = 60_000;

/**
 * The assertions every fuzzed server process must pass, whatever it serves. `label` names it in
 * messages ("gateway", "receiver").
 */
export interface ServerChecks {
  stillServing(report: FuzzReport | null, address: string): Promise<void>;
  wellFormedAnswers(report: FuzzReport | null): void;
  memoryBounded(report: FuzzReport | null): void;
  noErrorLogs(server: ServerProcess | null): void;
  stopsCleanly(server: ServerProcess | null): Promise<void>;
}

export function serverChecks(label: string, seed: number): ServerChecks {
  return {
    async stillServing(report: FuzzReport | null, address: string): Promise<void> {
      assert.ok(report !== null);
      assert.equal(report.processExited, false, `the ${label} process exited during the run (seed ${seed})`);
      assert.equal(
        report.healthChecks.failed,
        0,
        `${report.healthChecks.failed} health checks failed during the run`,
      );
      assert.equal(await healthCheck(address), HealthCheckResponse_ServingStatus.SERVING);
    },

    wellFormedAnswers(report: FuzzReport | null): void {
      assert.ok(report !== null);
      const all = report.failures;
      assert.equal(
        all.length + report.moreFailures,
        0,
        `${all.length + report.moreFailures} bad answers (seed ${seed}); the first ones:\n\n${all.slice(0, 12).map(describeFailure).join('\n\n')}`,
      );
    },

    memoryBounded(report: FuzzReport | null): void {
      assert.ok(report !== null);
      assert.ok(report.rss !== null && report.rss.samples > 0, 'no RSS samples');
      const worst = report.rss.worst;
      console.log(
        `  ${report.calls} calls; worst RSS ${mib(worst)} (warm-up peak ${mib(report.rss.baseline)})`,
      );
      assert.ok(
        worst - report.rss.baseline < RSS_GROWTH_BOUND,
        `RSS grew from ${mib(report.rss.baseline)} to ${mib(worst)} over the run (seed ${seed})`,
      );
    },

    noErrorLogs(server: ServerProcess | null): void {
      assert.ok(server !== null);
      const unexpected = server
        .stdout()
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line));
      assert.deepEqual(unexpected.slice(0, 5), [], `${unexpected.length} error-level log lines`);
    },

    async stopsCleanly(server: ServerProcess | null): Promise<void> {
      assert.ok(server !== null);
      const ended = await stopWithin(server, STOP_WITHIN_MS);
      assert.ok(
        ended !== null,
        `the ${label} was still running ${STOP_WITHIN_MS / 1000} s after SIGTERM (seed ${seed})`,
      );
      assert.equal(
        ended.code,
        0,
        `the ${label} exited with ${ended.code ?? ended.signal}:\n${ended.stderr.slice(-4000)}`,
      );
      const cutOff = server
        .stdout()
        .split('\n')
        .filter((line) => line.includes('cutting them off'));
      if (cutOff.length > 0)
        console.log(`  the ${label}'s graceful stop used its whole grace period (connections still open)`);
    },
  };
}
