import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/config';
import { loadReceiverConfig } from '../../src/receiver';

const DEV = { CARAVAN_DEV_INSECURE: 'true' };

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('receiver configuration', function () {
  it('defaults every setting but the name, which comes from the BIC', function () {
    assert.deepEqual(loadReceiverConfig({ bic: 'RZBMRUMM' }, DEV), {
      listen: '127.0.0.1:50061',
      name: 'RZBMRUMM',
      bic: 'RZBMRUMM',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'caravan',
      tls: null,
      behaviour: { rejectShare: 0, rejectCode: 'AC04', failShare: 0, delayMs: 0, hangShare: 0 },
      logLevel: 'info',
    });
  });

  it('reads each setting from its environment variable when the option is absent, the option first', function () {
    const config = loadReceiverConfig(
      { rejectShare: '0.25', name: 'bank-b' },
      {
        ...DEV,
        CARAVAN_RECEIVER_BIC: 'HSBKKZKX',
        CARAVAN_RECEIVER_NAME: 'ignored',
        CARAVAN_RECEIVER_LISTEN: '0.0.0.0:6000',
        CARAVAN_RECEIVER_REJECT_SHARE: '1',
        CARAVAN_RECEIVER_REJECT_CODE: 'AM04',
        CARAVAN_RECEIVER_FAIL_SHARE: '0.1',
        CARAVAN_RECEIVER_DELAY_MS: '250',
        CARAVAN_RECEIVER_HANG_SHARE: '0.05',
        REDIS_URL: 'redis://redis.internal:6380',
        CARAVAN_REDIS_PREFIX: 'demo',
      },
    );
    assert.equal(config.name, 'bank-b');
    assert.equal(config.bic, 'HSBKKZKX');
    assert.equal(config.listen, '0.0.0.0:6000');
    assert.equal(config.redisUrl, 'redis://redis.internal:6380');
    assert.equal(config.redisPrefix, 'demo');
    assert.deepEqual(config.behaviour, {
      rejectShare: 0.25,
      rejectCode: 'AM04',
      failShare: 0.1,
      delayMs: 250,
      hangShare: 0.05,
    });
  });

  it('lists every problem at once, named by option and environment variable', function () {
    const problems = problemsOf(() =>
      loadReceiverConfig(
        { listen: 'nowhere', rejectShare: '1.5', rejectCode: 'ac04', failShare: 'often', delayMs: '-1' },
        { CARAVAN_DEV_INSECURE: 'maybe' },
      ),
    );
    const expected = [
      /^--listen \(CARAVAN_RECEIVER_LISTEN\): must be host:port/,
      /^--reject-share \(CARAVAN_RECEIVER_REJECT_SHARE\): must be a number from 0 to 1/,
      /^--reject-code \(CARAVAN_RECEIVER_REJECT_CODE\): must be an ISO 20022 status reason code/,
      /^--fail-share \(CARAVAN_RECEIVER_FAIL_SHARE\): must be a number from 0 to 1/,
      /^--delay-ms \(CARAVAN_RECEIVER_DELAY_MS\): must not be negative/,
      /^CARAVAN_DEV_INSECURE: must be true or false/,
      /^--name \(CARAVAN_RECEIVER_NAME\) or --bic \(CARAVAN_RECEIVER_BIC\): one is required/,
    ];
    for (const pattern of expected) {
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${String(pattern)} in:\n${problems.join('\n')}`,
      );
    }
  });

  it('refuses a BIC that is not ISO 9362 and a name that would change the Redis hash slot', function () {
    const problems = problemsOf(() => loadReceiverConfig({ bic: 'rzbmrumm', name: 'a{b}' }, DEV));
    assert.ok(problems.some((p) => /^--bic \(CARAVAN_RECEIVER_BIC\): must be upper case/.test(p)));
    assert.ok(problems.some((p) => /^--name \(CARAVAN_RECEIVER_NAME\): must be 1-64 letters/.test(p)));
  });

  it('needs mTLS files unless in development mode, and not both', function () {
    const missing = problemsOf(() => loadReceiverConfig({ bic: 'RZBMRUMM' }, {}));
    assert.match(
      missing.join('\n'),
      /CARAVAN_TLS_CERT, CARAVAN_TLS_KEY, CARAVAN_TLS_CA: .*the receiver needs/,
    );
    const both = problemsOf(() =>
      loadReceiverConfig({ bic: 'RZBMRUMM' }, { ...DEV, CARAVAN_TLS_CERT: '/etc/receiver.crt' }),
    );
    assert.match(both.join('\n'), /choose one of the two/);
    const tls = loadReceiverConfig(
      { bic: 'RZBMRUMM' },
      { CARAVAN_TLS_CERT: 'r.crt', CARAVAN_TLS_KEY: 'r.key', CARAVAN_TLS_CA: 'ca.crt' },
    );
    assert.deepEqual(tls.tls, { certFile: 'r.crt', keyFile: 'r.key', caFile: 'ca.crt' });
  });
});
