import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SERVER_ENV_NAMES, hostPort, loadConfig } from '../../src/config/config';
import { ROOT } from '../support/cli';

type Labels = Record<string, string>;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  spec?: unknown;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
}

interface Probe {
  grpc?: { port: number; service?: string };
  [handler: string]: unknown;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Labels; limits?: Labels };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  }[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  topologySpreadConstraints?: { labelSelector: { matchLabels: Labels } }[];
}

interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Labels };
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
  template: { metadata: { labels: Labels }; spec: PodSpec };
}

interface HpaSpec {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
  metrics?: { type: string; resource?: { name: string; target: { type: string } } }[];
}

const DIR = join(ROOT, 'deploy', 'k8s');
const HEALTH_SETTING = 'CARAVAN_HEALTH_LISTEN';

/** Parses one file's documents with YAML 1.2 (this package's default) or 1.1 (what kubectl reads). */
function parseFile(file: string, version: '1.1' | '1.2'): unknown[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8'), { version }).map((doc) => {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${file}: YAML ${version} errors`,
    );
    return doc.toJS() as unknown;
  });
}

const matches = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** CPU in cores, memory in bytes, from Kubernetes quantities as these manifests write them. */
function quantity(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(value);
  assert.ok(m, `quantity ${value}`);
  const scale = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * scale;
}

/**
 * The manifests cannot be applied here (no cluster), so they are checked as data: what a reviewer
 * of a production install looks for first, and that every setting given is one Caravan reads with
 * a value its own validation (loadConfig) accepts.
 */
describe('deploy/k8s: Kubernetes manifests', () => {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  const kustomization = parseFile('kustomization.yaml', '1.2')[0] as {
    namespace?: string;
    resources: string[];
    images?: { name: string; newTag?: string; digest?: string }[];
  };
  const objects = files.flatMap((f) => parseFile(f, '1.2') as K8sObject[]);
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string): K8sObject => {
    const found = ofKind(kind).find((o) => o.metadata.name === name);
    assert.ok(found, `${kind} ${name} is defined`);
    return found;
  };
  const deployments = ofKind('Deployment').map((d) => ({
    name: d.metadata.name,
    spec: d.spec as DeploymentSpec,
  }));
  const podContainers = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];
  const everyContainer = deployments.flatMap((d) =>
    podContainers(d.spec.template.spec).map((c) => ({ deployment: d.name, pod: d.spec.template.spec, c })),
  );
  const deployment = (name: string) => {
    const found = deployments.find((d) => d.name === name);
    assert.ok(found, `Deployment ${name} is defined`);
    return found.spec;
  };
  const known = new Set([...SERVER_ENV_NAMES, HEALTH_SETTING]);
  const isCaravanSetting = (name: string) => known.has(name) || name.startsWith('OTEL_');

  /** The environment a container starts with: its ConfigMaps, then its own env entries. */
  function environment(c: Container): Record<string, string> {
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      assert.ok(from.configMapRef, `${c.name}: envFrom only from ConfigMaps`);
      assert.equal(from.prefix, undefined, `${c.name}: no envFrom prefix`);
      const data = named('ConfigMap', from.configMapRef.name).data ?? {};
      for (const [k, v] of Object.entries(data)) env[k] = String(v);
    }
    for (const e of c.env ?? []) {
      assert.equal(e.valueFrom, undefined, `${c.name}: ${e.name} is given as a plain value`);
      env[e.name] = String(e.value);
    }
    return env;
  }
  const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
  /** The settings as `caravan serve` and `caravan dispatch` would read them; a bad value fails here. */
  function configOf(where: string, c: Container) {
    try {
      return loadConfig(environment(c));
    } catch (err) {
      assert.fail(`${where}: ${(err as Error).message}`);
    }
  }

  it('parses every file the same as YAML 1.2 and 1.1, and the kustomization lists every one', () => {
    assert.ok(files.length >= 5, `manifests found: ${files.join(', ')}`);
    for (const f of files) {
      // YAML 1.1 reads unquoted on/off/yes/no as booleans and 0440 as octal: kubectl would see
      // something other than what this test checks unless both readings agree.
      assert.deepEqual(parseFile(f, '1.1'), parseFile(f, '1.2'), `${f} reads the same in YAML 1.1`);
    }
    assert.deepEqual([...kustomization.resources].sort(), files);
    for (const o of objects) {
      assert.ok(o.apiVersion && o.kind && o.metadata.name, `${o.kind}/${o.metadata.name}: complete object`);
    }
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(ids, [...new Set(ids)], 'no object is defined twice');
    for (const kind of [
      'Namespace',
      'ConfigMap',
      'Secret',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
    ]) {
      assert.ok(ofKind(kind).length > 0, `a ${kind}`);
    }
  });

  it('puts everything in the namespace it defines, which enforces the restricted pod security profile', () => {
    const [namespace] = ofKind('Namespace');
    assert.equal(ofKind('Namespace').length, 1);
    assert.equal(kustomization.namespace, namespace.metadata.name);
    assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    for (const o of objects.filter((o) => o.kind !== 'Namespace')) {
      assert.equal(o.metadata.namespace, namespace.metadata.name, `${o.kind}/${o.metadata.name} namespace`);
    }
  });

  it('runs the gateway (serve, dispatcher off) and the dispatchers (dispatch) from one pinned image', () => {
    assert.deepEqual(deployment('caravan-gateway').template.spec.containers[0].args, ['serve']);
    assert.deepEqual(deployment('caravan-dispatcher').template.spec.containers[0].args, ['dispatch']);
    assert.equal(
      environment(deployment('caravan-gateway').template.spec.containers[0]).CARAVAN_DISPATCHER,
      'off',
    );
    for (const { deployment: d, c } of everyContainer) {
      const name = c.image.slice(c.image.lastIndexOf('/') + 1);
      const pinned = /@sha256:[0-9a-f]{64}$/.test(name) || /^[^:@]+:\w[\w.-]{0,127}$/.test(name);
      assert.ok(pinned, `${d}/${c.name}: image ${c.image} has a tag or digest`);
      assert.doesNotMatch(c.image, /:latest$/, `${d}/${c.name}: not the latest tag`);
    }
    assert.equal(new Set(everyContainer.map(({ c }) => c.image)).size, 1, 'one image for every role');
    for (const image of kustomization.images ?? []) {
      assert.ok(image.newTag !== undefined || image.digest !== undefined, `${image.name}: pinned`);
      assert.notEqual(image.newTag, 'latest', `${image.name}: not the latest tag`);
      assert.ok(
        everyContainer.some(
          ({ c }) => c.image.startsWith(`${image.name}:`) || c.image.startsWith(`${image.name}@`),
        ),
        `${image.name}: names the image the Deployments run`,
      );
    }
  });

  it('probes every container with native gRPC probes on its plaintext health port', () => {
    for (const { deployment: d, c } of everyContainer) {
      const where = `${d}/${c.name}`;
      const env = environment(c);
      const health = env[HEALTH_SETTING];
      assert.ok(health, `${where}: ${HEALTH_SETTING} is set`);
      hostPort.parse(health);
      assert.match(health, /^(0\.0\.0\.0|\[::\]):/, `${where}: health listens on the pod's address`);
      const healthPort = c.ports?.find((p) => p.name === 'health');
      assert.ok(healthPort, `${where}: a container port named health`);
      assert.equal(healthPort.containerPort, portOf(health), `${where}: health port is ${HEALTH_SETTING}'s`);
      if (env.CARAVAN_LISTEN !== undefined) {
        assert.notEqual(portOf(env.CARAVAN_LISTEN), healthPort.containerPort, `${where}: its own port`);
      }
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const probe = c[kind];
        assert.ok(probe, `${where}: ${kind}`);
        assert.deepEqual(
          Object.keys(probe).filter((k) => ['grpc', 'httpGet', 'tcpSocket', 'exec'].includes(k)),
          ['grpc'],
          `${where}: ${kind} is a gRPC probe`,
        );
        assert.equal(probe.grpc?.port, healthPort.containerPort, `${where}: ${kind} on the health port`);
      }
    }
  });

  it('gives every container CPU and memory requests and limits, and a locked-down security context', () => {
    for (const { deployment: d, pod, c } of everyContainer) {
      const where = `${d}/${c.name}`;
      for (const resource of ['cpu', 'memory']) {
        const request = c.resources?.requests?.[resource];
        const limit = c.resources?.limits?.[resource];
        assert.ok(request && limit, `${where}: ${resource} request and limit`);
        assert.ok(quantity(request) <= quantity(limit), `${where}: ${resource} request ≤ limit`);
      }
      const own = c.securityContext ?? {};
      const effective = { ...pod.securityContext, ...own };
      assert.equal(effective.runAsNonRoot, true, `${where}: runAsNonRoot`);
      // The image's user is `node` by name: the kubelet can only verify non-root with a number.
      assert.ok((effective.runAsUser ?? 0) > 0, `${where}: a numeric non-root runAsUser`);
      assert.equal(effective.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
      assert.equal(own.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`);
      assert.equal(own.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
      assert.notEqual(own.privileged, true, `${where}: not privileged`);
      assert.deepEqual(own.capabilities?.drop, ['ALL'], `${where}: drops every capability`);
      assert.equal(own.capabilities?.add, undefined, `${where}: adds none`);
    }
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      assert.equal(pod.automountServiceAccountToken, false, `${d.name}: no API token`);
      assert.equal(pod.enableServiceLinks, false, `${d.name}: no service-link variables among the settings`);
      named('ServiceAccount', String(pod.serviceAccountName));
    }
  });

  it('gives Caravan only settings it reads, with values its own validation accepts', () => {
    for (const cm of ofKind('ConfigMap')) {
      for (const [key, value] of Object.entries(cm.data ?? {})) {
        assert.ok(
          isCaravanSetting(key),
          `ConfigMap ${cm.metadata.name}: ${key} is not a setting Caravan reads`,
        );
        assert.equal(typeof value, 'string', `ConfigMap ${cm.metadata.name}: ${key} is a string`);
      }
    }
    for (const { deployment: d, c } of everyContainer) {
      for (const e of c.env ?? []) {
        assert.ok(isCaravanSetting(e.name), `${d}/${c.name}: ${e.name} is not a setting Caravan reads`);
      }
      const env = environment(c);
      assert.equal(env.CARAVAN_ROLE_TOKENS, undefined, `${d}/${c.name}: no development role tokens`);
      assert.equal(env.CARAVAN_DEV_INSECURE, undefined, `${d}/${c.name}: not development mode`);
      const config = configOf(`${d}/${c.name}`, c);
      assert.equal(config.devInsecure, false);
      assert.ok(config.tls, `${d}/${c.name}: mTLS`);
      assert.equal(config.screening.enabled, true, `${d}/${c.name}: screening on`);
      assert.equal(config.redisUrlExplicit, true, `${d}/${c.name}: REDIS_URL given`);
      // The manifests are sized for a Redis Cluster (64 partitions over 3 or 6 masters): a plain
      // redis:// URL would make a single-node client that fails every slot elsewhere.
      assert.match(config.redisUrl, /^rediss?\+cluster:\/\//, `${d}/${c.name}: REDIS_URL names the cluster`);
      assert.ok(env.OTEL_EXPORTER_OTLP_ENDPOINT, `${d}/${c.name}: telemetry goes to a collector`);
      assert.match(String(env.OTEL_SERVICE_NAME), /^caravan-/);
    }
    const gateway = configOf('caravan-gateway', deployment('caravan-gateway').template.spec.containers[0]);
    assert.equal(gateway.delivery.dispatcher, false, 'the gateway leaves delivery to the dispatchers');
    assert.match(gateway.listen, /^(0\.0\.0\.0|\[::\]):/, 'the gateway listens on the pod address');
  });

  it('mounts the TLS Secret read-only where CARAVAN_TLS_CERT, _KEY and _CA point', () => {
    for (const { deployment: d, pod, c } of everyContainer) {
      const env = environment(c);
      for (const setting of ['CARAVAN_TLS_CERT', 'CARAVAN_TLS_KEY', 'CARAVAN_TLS_CA']) {
        const where = `${d}/${c.name}: ${setting}`;
        const file = env[setting];
        assert.ok(file, `${where} is set`);
        const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
        assert.ok(mount, `${where}=${file} is under a volume mount`);
        assert.equal(mount.readOnly, true, `${where}: mounted read-only`);
        const volume = pod.volumes?.find((v) => v.name === mount.name);
        assert.ok(volume?.secret, `${where}: the mount is a Secret volume`);
        const path = file.slice(mount.mountPath.length + 1);
        const key = volume.secret.items ? volume.secret.items.find((i) => i.path === path)?.key : path;
        const secret = named('Secret', volume.secret.secretName);
        const keys = Object.keys({ ...secret.data, ...secret.stringData });
        assert.ok(key !== undefined && keys.includes(key), `${where}: ${path} is a key of the Secret`);
        const mode = volume.secret.defaultMode ?? 0o644;
        assert.equal(mode & 0o007, 0, `${where}: the key is not readable by others`);
      }
    }
  });

  it('rolls out without losing capacity and drains before stopping', () => {
    const gateway = deployment('caravan-gateway');
    assert.equal(gateway.strategy?.type, 'RollingUpdate');
    assert.equal(gateway.strategy.rollingUpdate?.maxUnavailable, 0);
    const preStop = gateway.template.spec.containers[0].lifecycle?.preStop;
    const drainSeconds = (p: typeof preStop) =>
      p?.sleep?.seconds ?? (p?.exec?.command[0] === 'sleep' ? Number(p.exec.command[1]) : 0);
    assert.ok(drainSeconds(preStop) >= 5, 'the gateway waits for the endpoints to drop it before stopping');
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const graceSeconds = configOf(d.name, pod.containers[0]).shutdownGraceMs / 1000;
      const preStops = Math.max(...pod.containers.map((c) => drainSeconds(c.lifecycle?.preStop)));
      const termination = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(termination > graceSeconds, `${d.name}: terminationGracePeriodSeconds > shutdown grace`);
      assert.ok(
        termination > preStops + graceSeconds,
        `${d.name}: terminationGracePeriodSeconds ${termination} > preStop ${preStops} s + grace ${graceSeconds} s`,
      );
    }
  });

  it("reaches the gateway's gRPC port by name through the Service, and no dispatcher", () => {
    const service = named('Service', 'caravan-gateway').spec as {
      selector: Labels;
      ports: { name: string; port: number; targetPort: unknown; appProtocol?: string }[];
    };
    const gateway = deployment('caravan-gateway');
    assert.ok(matches(service.selector, gateway.template.metadata.labels), 'selects the gateway pods');
    for (const d of deployments.filter((d) => d.name !== 'caravan-gateway')) {
      assert.ok(!matches(service.selector, d.spec.template.metadata.labels), `does not select ${d.name}`);
    }
    const container = gateway.template.spec.containers[0];
    assert.equal(service.ports.length, 1);
    const [port] = service.ports;
    assert.equal(typeof port.targetPort, 'string', 'targets the container port by name');
    const target = container.ports?.find((p) => p.name === port.targetPort);
    assert.ok(target, `the gateway has a container port named ${String(port.targetPort)}`);
    assert.equal(target.containerPort, portOf(environment(container).CARAVAN_LISTEN), 'CARAVAN_LISTEN');
    assert.equal(port.appProtocol, 'grpc');
  });

  it('covers each Deployment with one PodDisruptionBudget and one CPU-based autoscaler', () => {
    const pdbs = ofKind('PodDisruptionBudget');
    const hpas = ofKind('HorizontalPodAutoscaler');
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      assert.ok(matches(d.spec.selector.matchLabels, labels), `${d.name}: selector matches its pods`);
      for (const spread of d.spec.template.spec.topologySpreadConstraints ?? []) {
        assert.ok(matches(spread.labelSelector.matchLabels, labels), `${d.name}: spread over its own pods`);
      }
      const covering = pdbs.filter((p) =>
        matches((p.spec as { selector: { matchLabels: Labels } }).selector.matchLabels, labels),
      );
      assert.equal(covering.length, 1, `${d.name}: exactly one PodDisruptionBudget selects its pods`);
      assert.equal(covering[0].apiVersion, 'policy/v1');
      assert.deepEqual(
        (covering[0].spec as { selector: { matchLabels: Labels } }).selector.matchLabels,
        d.spec.selector.matchLabels,
        `${d.name}: the budget selects what the Deployment selects`,
      );
      const scaling = hpas.filter((h) => (h.spec as HpaSpec).scaleTargetRef.name === d.name);
      assert.equal(scaling.length, 1, `${d.name}: one HorizontalPodAutoscaler`);
      assert.equal(scaling[0].apiVersion, 'autoscaling/v2');
      const hpa = scaling[0].spec as HpaSpec;
      assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: d.name });
      assert.ok((hpa.minReplicas ?? 1) >= 2, `${d.name}: several replicas at least`);
      assert.ok(hpa.maxReplicas > (hpa.minReplicas ?? 1), `${d.name}: room to scale`);
      assert.ok(
        hpa.metrics?.some(
          (m) =>
            m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization',
        ),
        `${d.name}: scales on CPU utilisation`,
      );
      // A replicas field would reset the autoscaler's count on every apply.
      assert.equal(d.spec.replicas, undefined, `${d.name}: the autoscaler owns the replica count`);
    }
    for (const h of hpas) {
      named('Deployment', (h.spec as HpaSpec).scaleTargetRef.name);
    }
  });
});
