import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SERVER_ENV_NAMES } from '../../src/config/config';
import { RECEIVER_SETTINGS } from '../../src/receiver/receiver-config';
import { ROOT } from '../support/cli';

type Yaml = Record<string, unknown>;

const read = (file: string) => readFileSync(join(ROOT, 'deploy', file), 'utf8');
const asMap = (value: unknown, what: string): Yaml => {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} must be a map`);
  return value as Yaml;
};

/**
 * The deployment files cannot be run here (no container runtime or images), so their essentials
 * are checked as data: what each service runs, that the settings are ones Caravan reads, and that
 * the telemetry pipeline is wired end to end.
 */
describe('deploy/: docker compose, collector and image', () => {
  const compose = asMap(parse(read('docker-compose.yml'), { merge: true }), 'compose');
  const services = asMap(compose.services, 'services');
  const collector = asMap(parse(read('otel-collector.yaml')), 'collector config');
  const known = new Set([...SERVER_ENV_NAMES, ...Object.values(RECEIVER_SETTINGS).map((s) => s.env)]);

  it('runs a gateway, a dispatcher, a receiver, Redis, the collector and Jaeger', () => {
    for (const name of ['gateway', 'dispatcher', 'receiver-rzbm', 'redis', 'otel-collector', 'jaeger']) {
      assert.ok(services[name], `service ${name}`);
    }
    const command = (name: string) => asMap(services[name], name).command as string[];
    assert.deepEqual(command('gateway'), ['serve']);
    assert.deepEqual(command('dispatcher'), ['dispatch']);
    assert.equal(command('receiver-rzbm')[0], 'receiver');
  });

  it('gives Caravan only settings it reads, and points every process at the collector', () => {
    for (const name of ['gateway', 'dispatcher', 'receiver-rzbm']) {
      const env = asMap(asMap(services[name], name).environment, `${name}.environment`);
      for (const key of Object.keys(env)) {
        if (key.startsWith('OTEL_')) continue;
        assert.ok(known.has(key), `${name}: ${key} is not a setting Caravan reads`);
      }
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318');
      assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
      assert.match(String(env.OTEL_SERVICE_NAME), /^caravan-/);
      assert.equal(env.REDIS_URL, 'redis://redis:6379');
    }
    const gateway = asMap(asMap(services.gateway, 'gateway').environment, 'gateway.environment');
    assert.equal(gateway.CARAVAN_DISPATCHER, 'off', 'delivery runs in the dispatcher service');
    JSON.parse(String(gateway.CARAVAN_ROLE_TOKENS));
  });

  it('runs Redis with AOF fsync on every write (the zero-loss setting)', () => {
    const command = asMap(services.redis, 'redis').command as string[];
    assert.deepEqual(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 4), [
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
  });

  it('wires the collector: OTLP in, traces to Jaeger over OTLP, metrics to Prometheus', () => {
    const receivers = asMap(collector.receivers, 'receivers');
    const exporters = asMap(collector.exporters, 'exporters');
    const processors = asMap(collector.processors, 'processors');
    const pipelines = asMap(asMap(collector.service, 'service').pipelines, 'pipelines');
    for (const [name, value] of Object.entries(pipelines)) {
      const pipeline = asMap(value, name);
      for (const r of pipeline.receivers as string[])
        assert.ok(receivers[r], `${name}: receiver ${r} defined`);
      for (const p of pipeline.processors as string[])
        assert.ok(processors[p], `${name}: processor ${p} defined`);
      for (const e of pipeline.exporters as string[])
        assert.ok(exporters[e], `${name}: exporter ${e} defined`);
    }
    assert.deepEqual(asMap(pipelines.traces, 'traces').exporters, ['otlp/jaeger']);
    assert.equal(asMap(exporters['otlp/jaeger'], 'otlp/jaeger').endpoint, 'jaeger:4317');
    assert.equal(
      asMap(asMap(services.jaeger, 'jaeger').environment, 'jaeger env').COLLECTOR_OTLP_ENABLED,
      'true',
    );
    assert.deepEqual(asMap(pipelines.metrics, 'metrics').exporters, ['prometheus']);
    const http = asMap(asMap(receivers.otlp, 'otlp').protocols, 'protocols').http;
    assert.equal(asMap(http, 'http').endpoint, '0.0.0.0:4318');
  });

  it('builds a small image that runs as an unprivileged user', () => {
    const dockerfile = read('Dockerfile');
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(final, /^FROM node:20-[a-z-]*slim/m);
    assert.match(final, /^USER node$/m);
    assert.match(dockerfile, /npm prune --omit=dev/);
    assert.match(final, /^ENTRYPOINT \["node", "bin\/caravan"\]$/m);
    assert.doesNotMatch(final, /COPY (--from=build \/app\/)?(src|test|bench)\b/);
  });
});
