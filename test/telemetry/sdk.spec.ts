import assert from 'node:assert/strict';
import { exportRequested } from '../../src/telemetry/sdk';

describe('telemetry export choice (OTEL_* environment)', () => {
  it('exports nothing when nothing is configured, rather than to a collector that is not there', () => {
    assert.equal(exportRequested({}, 'TRACES'), false);
    assert.equal(exportRequested({}, 'METRICS'), false);
    assert.equal(exportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }, 'TRACES'), false);
  });

  it('exports over OTLP once an endpoint is set, for every signal or for one', () => {
    const all = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    assert.equal(exportRequested(all, 'TRACES'), true);
    assert.equal(exportRequested(all, 'METRICS'), true);
    const traces = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' };
    assert.equal(exportRequested(traces, 'TRACES'), true);
    assert.equal(exportRequested(traces, 'METRICS'), false);
  });

  it('follows OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER when they are set', () => {
    assert.equal(exportRequested({ OTEL_METRICS_EXPORTER: 'prometheus' }, 'METRICS'), true);
    assert.equal(exportRequested({ OTEL_TRACES_EXPORTER: 'console' }, 'TRACES'), true);
    const off = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' };
    assert.equal(exportRequested(off, 'TRACES'), false);
    assert.equal(exportRequested(off, 'METRICS'), true);
  });
});
