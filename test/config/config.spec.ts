import assert from 'node:assert/strict';
import { ConfigError, loadClientConfig, loadConfig } from '../../src/config/config';
import { parseRedisUrl } from '../../src/config/redis-url';
import { redactUrl } from '../../src/store/redis-client';

type Env = Record<string, string>;

const DEV: Env = { CARAVAN_DEV_INSECURE: 'true' };
const TLS: Env = {
  CARAVAN_TLS_CERT: '/etc/caravan/gateway.crt',
  CARAVAN_TLS_KEY: '/etc/caravan/gateway.key',
  CARAVAN_TLS_CA: '/etc/caravan/participants-ca.crt',
};
const DEV_CLIENT: Env = { CARAVAN_DEV_INSECURE: 'true', CARAVAN_PARTICIPANT: 'HSBKKZKX' };

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.ok(err.problems.length > 0);
    for (const problem of err.problems)
      assert.ok(err.message.includes(problem), 'the message lists each problem');
    return err.problems;
  }
  return assert.fail('expected a ConfigError, but the configuration loaded');
}

/** Schema problems are reported as "VARIABLE: what is wrong", so an operator knows what to fix. */
function assertNamed(problems: string[], variable: string): void {
  assert.ok(
    problems.some((p) => p.startsWith(`${variable}:`)),
    `expected a problem naming ${variable}, got ${JSON.stringify(problems)}`,
  );
}

describe('loadConfig', () => {
  it('defaults to loopback, the local Redis and 16 partitions', () => {
    const config = loadConfig(DEV);
    assert.equal(config.listen, '127.0.0.1:50051');
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(config.redisUrlExplicit, false);
    assert.equal(config.redisPrefix, 'caravan');
    assert.equal(config.partitions, 16);
    assert.equal(config.devInsecure, true);
    assert.equal(config.tls, null);
    assert.equal(config.logLevel, 'info');
  });

  it('reads explicit values, numbers included', () => {
    const config = loadConfig({
      ...TLS,
      CARAVAN_LISTEN: '0.0.0.0:6000',
      REDIS_URL: 'rediss://user:secret@redis.internal:6380/2',
      CARAVAN_PARTITIONS: '64',
      CARAVAN_WATCH_POLL_MS: '250',
      CARAVAN_LOG_LEVEL: 'debug',
    });
    assert.equal(config.listen, '0.0.0.0:6000');
    assert.equal(config.redisUrl, 'rediss://user:secret@redis.internal:6380/2');
    assert.equal(config.redisUrlExplicit, true);
    assert.equal(config.partitions, 64);
    assert.equal(config.watchPollMs, 250);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.devInsecure, false);
    assert.deepEqual(config.tls, {
      certFile: TLS.CARAVAN_TLS_CERT,
      keyFile: TLS.CARAVAN_TLS_KEY,
      caFile: TLS.CARAVAN_TLS_CA,
    });
  });

  it('accepts an IPv6 listen address', () => {
    assert.equal(loadConfig({ ...DEV, CARAVAN_LISTEN: '[::1]:50051' }).listen, '[::1]:50051');
  });

  it('reads true/false, 1/0 and yes/no for CARAVAN_DEV_INSECURE', () => {
    for (const value of ['true', '1', 'yes'])
      assert.equal(loadConfig({ CARAVAN_DEV_INSECURE: value }).devInsecure, true);
    for (const value of ['false', '0', 'no']) {
      assert.equal(loadConfig({ ...TLS, CARAVAN_DEV_INSECURE: value }).devInsecure, false);
    }
  });

  for (const value of ['localhost', '127.0.0.1', ':50051', '127.0.0.1:70000', 'http://127.0.0.1:50051', '']) {
    it(`refuses CARAVAN_LISTEN=${JSON.stringify(value)}`, () => {
      assertNamed(
        problemsOf(() => loadConfig({ ...DEV, CARAVAN_LISTEN: value })),
        'CARAVAN_LISTEN',
      );
    });
  }

  for (const value of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', '']) {
    it(`refuses REDIS_URL=${JSON.stringify(value)}: not a redis:// URL`, () => {
      const problems = problemsOf(() => loadConfig({ ...DEV, REDIS_URL: value }));
      assertNamed(problems, 'REDIS_URL');
      assert.match(problems.join('\n'), /redis:\/\//);
    });
  }

  it('accepts a Redis Cluster as REDIS_URL: redis+cluster:// or rediss+cluster:// and its seed nodes', () => {
    const url = 'rediss+cluster://caravan:s%40cret@10.0.0.1:7000,redis-2.internal:7001,[::1]:7002';
    assert.equal(loadConfig({ ...DEV, REDIS_URL: url }).redisUrl, url);
    assert.deepEqual(parseRedisUrl(url), {
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-2.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: true,
      username: 'caravan',
      password: 's@cret',
    });
    assert.deepEqual(parseRedisUrl('redis+cluster://127.0.0.1:7000'), {
      kind: 'cluster',
      nodes: [{ host: '127.0.0.1', port: 7000 }],
      tls: false,
      username: undefined,
      password: undefined,
    });
  });

  for (const value of [
    'redis+cluster://',
    'redis+cluster://10.0.0.1',
    'redis+cluster://10.0.0.1:7000,',
    'redis+cluster://10.0.0.1:70000',
    'redis+cluster://10.0.0.1:7000/2',
    'cluster://10.0.0.1:7000',
  ]) {
    it(`refuses REDIS_URL=${JSON.stringify(value)}, naming the cluster form`, () => {
      const problems = problemsOf(() => loadConfig({ ...DEV, REDIS_URL: value }));
      assertNamed(problems, 'REDIS_URL');
      assert.match(problems.join('\n'), /redis\+cluster:\/\//);
    });
  }

  for (const value of ['0', '-1', '1.5', 'sixteen', '2000', '']) {
    it(`refuses CARAVAN_PARTITIONS=${JSON.stringify(value)}`, () => {
      assertNamed(
        problemsOf(() => loadConfig({ ...DEV, CARAVAN_PARTITIONS: value })),
        'CARAVAN_PARTITIONS',
      );
    });
  }

  // Read as 0 these would silently turn replica confirmation, the rate limit or the grace off.
  for (const variable of ['CARAVAN_REDIS_MIN_REPLICAS', 'CARAVAN_RATE_LIMIT', 'CARAVAN_SHUTDOWN_GRACE_MS']) {
    for (const value of ['', ' ', '1e3']) {
      it(`refuses ${variable}=${JSON.stringify(value)} rather than read it as a number`, () => {
        assertNamed(
          problemsOf(() => loadConfig({ ...DEV, [variable]: value })),
          variable,
        );
      });
    }
  }

  for (const value of [
    'redis://:50%off-Secret@redis.internal:6379',
    'redis+cluster://default:50%off@10.0.0.1:7000,10.0.0.2:7000',
  ]) {
    it(`refuses a password with a bare % in REDIS_URL=${JSON.stringify(value)}, without echoing it`, () => {
      const problems = problemsOf(() => loadConfig({ ...DEV, REDIS_URL: value }));
      assertNamed(problems, 'REDIS_URL');
      assert.match(problems.join('\n'), /percent-encoded/);
      assert.doesNotMatch(problems.join('\n'), /50%off/);
    });
  }

  it('keeps every form of a Redis password out of what it prints', () => {
    for (const [url, shown] of [
      ['redis://default:Tr0ub4dor@3xK9-secret@redis.internal:6379', 'redis://***@redis.internal:6379'],
      [
        'redis://redis.internal:6379/0?password=hunter2-hunter2',
        'redis://redis.internal:6379/0?password=***',
      ],
      [
        'rediss+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7000',
        'rediss+cluster://***@10.0.0.1:7000,10.0.0.2:7000',
      ],
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ]) {
      assert.equal(redactUrl(url), shown);
    }
  });

  for (const value of ['maybe', 'on', '']) {
    it(`refuses CARAVAN_DEV_INSECURE=${JSON.stringify(value)}`, () => {
      const problems = problemsOf(() => loadConfig({ ...TLS, CARAVAN_DEV_INSECURE: value }));
      assertNamed(problems, 'CARAVAN_DEV_INSECURE');
      assert.match(problems.join('\n'), /true or false/);
    });
  }

  it('refuses other bad values, each under its own name', () => {
    const cases: Env = {
      CARAVAN_REDIS_PREFIX: 'has{braces}',
      CARAVAN_MAX_MESSAGE_BYTES: '10',
      CARAVAN_SHUTDOWN_GRACE_MS: '-5',
      CARAVAN_KEEPALIVE_TIME_MS: '10',
      CARAVAN_KEEPALIVE_TIMEOUT_MS: 'soon',
      CARAVAN_WATCH_POLL_MS: '1',
      CARAVAN_REDIS_TIMEOUT_MS: '0',
      CARAVAN_REDIS_MIN_REPLICAS: '-1',
      CARAVAN_REDIS_REPLICA_TIMEOUT_MS: '5',
      CARAVAN_LOG_LEVEL: 'verbose',
    };
    for (const [variable, value] of Object.entries(cases)) {
      assertNamed(
        problemsOf(() => loadConfig({ ...DEV, [variable]: value })),
        variable,
      );
    }
  });

  it('waits for replicas only within the Redis command timeout', () => {
    const problems = problemsOf(() =>
      loadConfig({
        ...DEV,
        CARAVAN_REDIS_MIN_REPLICAS: '1',
        CARAVAN_REDIS_REPLICA_TIMEOUT_MS: '2000',
        CARAVAN_REDIS_TIMEOUT_MS: '2000',
      }),
    );
    assertNamed(problems, 'CARAVAN_REDIS_REPLICA_TIMEOUT_MS');
    const config = loadConfig({ ...DEV, CARAVAN_REDIS_MIN_REPLICAS: '1' });
    assert.deepEqual(config.redisReplication, { replicas: 1, timeoutMs: 500 });
    assert.deepEqual(loadConfig(DEV).redisReplication, { replicas: 0, timeoutMs: 500 });
  });

  it('lists every bad variable at once, not just the first', () => {
    const problems = problemsOf(() =>
      loadConfig({
        ...DEV,
        CARAVAN_LISTEN: 'nowhere',
        REDIS_URL: 'http://redis',
        CARAVAN_PARTITIONS: '0',
      }),
    );
    for (const variable of ['CARAVAN_LISTEN', 'REDIS_URL', 'CARAVAN_PARTITIONS'])
      assertNamed(problems, variable);
  });

  it('reports a bad address and missing TLS settings in the same run', () => {
    const problems = problemsOf(() => loadConfig({ CARAVAN_LISTEN: 'nowhere', CARAVAN_TLS_CERT: '/x.pem' }));
    assertNamed(problems, 'CARAVAN_LISTEN');
    assertNamed(problems, 'CARAVAN_TLS_KEY, CARAVAN_TLS_CA');
  });

  it('requires mTLS by default: with nothing set it names all three TLS variables and the dev switch', () => {
    const text = problemsOf(() => loadConfig({})).join('\n');
    for (const variable of [
      'CARAVAN_TLS_CERT',
      'CARAVAN_TLS_KEY',
      'CARAVAN_TLS_CA',
      'CARAVAN_DEV_INSECURE',
    ]) {
      assert.ok(text.includes(variable), `${variable} in ${text}`);
    }
  });

  it('names exactly the missing TLS settings when only some are given', () => {
    const onlyCert = problemsOf(() => loadConfig({ CARAVAN_TLS_CERT: TLS.CARAVAN_TLS_CERT })).join('\n');
    assert.match(onlyCert, /^CARAVAN_TLS_KEY, CARAVAN_TLS_CA: mTLS is on by default and these are not set/);
    assert.doesNotMatch(onlyCert, /CARAVAN_TLS_CERT/);

    const noCa = problemsOf(() =>
      loadConfig({ CARAVAN_TLS_CERT: TLS.CARAVAN_TLS_CERT, CARAVAN_TLS_KEY: TLS.CARAVAN_TLS_KEY }),
    ).join('\n');
    assert.match(noCa, /^CARAVAN_TLS_CA: mTLS is on by default and this is not set/);
    assert.doesNotMatch(noCa, /CARAVAN_TLS_(CERT|KEY)/);
  });

  it('refuses an empty TLS path rather than treating it as unset', () => {
    assertNamed(
      problemsOf(() => loadConfig({ ...TLS, CARAVAN_TLS_KEY: '' })),
      'CARAVAN_TLS_KEY',
    );
  });

  it('refuses TLS settings together with development mode: the operator must choose one', () => {
    for (const tls of [TLS, { CARAVAN_TLS_CA: TLS.CARAVAN_TLS_CA }]) {
      const text = problemsOf(() => loadConfig({ ...DEV, ...tls })).join('\n');
      assert.match(text, /CARAVAN_DEV_INSECURE=true/);
      assert.match(text, /CARAVAN_TLS_\*/);
    }
  });
});

describe('loadClientConfig', () => {
  it('defaults to the local gateway and a 10 s deadline', () => {
    const config = loadClientConfig(DEV_CLIENT);
    assert.equal(config.address, '127.0.0.1:50051');
    assert.equal(config.deadlineMs, 10_000);
    assert.equal(config.devInsecure, true);
    assert.equal(config.participant, 'HSBKKZKX');
    assert.equal(config.tls, null);
  });

  it('takes the participant from the certificate under mTLS, so none is needed', () => {
    const config = loadClientConfig({
      ...TLS,
      CARAVAN_ADDR: 'gateway.caravan.internal:443',
      CARAVAN_DEADLINE_MS: '2000',
    });
    assert.equal(config.address, 'gateway.caravan.internal:443');
    assert.equal(config.deadlineMs, 2000);
    assert.equal(config.devInsecure, false);
    assert.equal(config.participant, null);
    assert.deepEqual(config.tls, {
      certFile: TLS.CARAVAN_TLS_CERT,
      keyFile: TLS.CARAVAN_TLS_KEY,
      caFile: TLS.CARAVAN_TLS_CA,
    });
  });

  it('accepts an 11-character branch BIC as the participant', () => {
    assert.equal(loadClientConfig({ ...DEV, CARAVAN_PARTICIPANT: 'HSBKKZKXXXX' }).participant, 'HSBKKZKXXXX');
  });

  it('refuses development mode without CARAVAN_PARTICIPANT', () => {
    const text = problemsOf(() => loadClientConfig(DEV)).join('\n');
    assert.match(text, /CARAVAN_PARTICIPANT is not set/);
  });

  for (const value of ['hsbkkzkx', 'HSBK', 'HSBKKZKX1', 'HSBK KZKX', '']) {
    it(`refuses CARAVAN_PARTICIPANT=${JSON.stringify(value)}: not a BIC`, () => {
      assertNamed(
        problemsOf(() => loadClientConfig({ ...DEV, CARAVAN_PARTICIPANT: value })),
        'CARAVAN_PARTICIPANT',
      );
    });
  }

  for (const value of ['nonsense', 'http://127.0.0.1:50051', '127.0.0.1:99999']) {
    it(`refuses CARAVAN_ADDR=${JSON.stringify(value)}`, () => {
      assertNamed(
        problemsOf(() => loadClientConfig({ ...DEV_CLIENT, CARAVAN_ADDR: value })),
        'CARAVAN_ADDR',
      );
    });
  }

  for (const value of ['50', '0', 'ten', '600001']) {
    it(`refuses CARAVAN_DEADLINE_MS=${JSON.stringify(value)}`, () => {
      assertNamed(
        problemsOf(() => loadClientConfig({ ...DEV_CLIENT, CARAVAN_DEADLINE_MS: value })),
        'CARAVAN_DEADLINE_MS',
      );
    });
  }

  it('refuses CARAVAN_DEV_INSECURE=maybe', () => {
    assertNamed(
      problemsOf(() => loadClientConfig({ ...DEV_CLIENT, CARAVAN_DEV_INSECURE: 'maybe' })),
      'CARAVAN_DEV_INSECURE',
    );
  });

  it('requires mTLS by default and names the missing TLS settings for a client', () => {
    const text = problemsOf(() => loadClientConfig({ CARAVAN_TLS_CA: TLS.CARAVAN_TLS_CA })).join('\n');
    assert.match(text, /^CARAVAN_TLS_CERT, CARAVAN_TLS_KEY: mTLS is on by default and these are not set/);
    assert.match(text, /participant certificate/);
    assert.doesNotMatch(text, /CARAVAN_TLS_CA/);
  });

  it('refuses TLS settings together with development mode', () => {
    const text = problemsOf(() => loadClientConfig({ ...DEV_CLIENT, ...TLS })).join('\n');
    assert.match(text, /choose one of the two/);
  });
});
