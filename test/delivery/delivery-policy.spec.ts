import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { createCircuitBreaker } from '../../src/delivery/circuit-breaker';
import { backoffMs, exhaustedReason, isRetryable } from '../../src/delivery/retry-policy';

describe('delivery policy', () => {
  describe('circuit breaker', () => {
    it('opens after the threshold of consecutive failures, lets one trial through after the open time, and closes on its success', () => {
      let t = 0;
      const breaker = createCircuitBreaker({ failureThreshold: 3, openMs: 1000 }, () => t);
      for (let i = 0; i < 2; i++) {
        assert.equal(breaker.tryAcquire(), true);
        breaker.failed();
      }
      assert.equal(breaker.state(), 'closed');
      breaker.tryAcquire();
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      assert.equal(breaker.tryAcquire(), false);
      t = 999;
      assert.equal(breaker.tryAcquire(), false);
      t = 1000;
      assert.equal(breaker.state(), 'half-open');
      assert.equal(breaker.tryAcquire(), true, 'the trial call');
      assert.equal(breaker.tryAcquire(), false, 'only one trial at a time');
      breaker.succeeded();
      assert.equal(breaker.state(), 'closed');
      assert.equal(breaker.tryAcquire(), true);
    });

    it('reopens when the trial call fails, and a success resets the failure count', () => {
      let t = 0;
      const breaker = createCircuitBreaker({ failureThreshold: 2, openMs: 100 }, () => t);
      breaker.failed();
      breaker.succeeded();
      breaker.failed();
      assert.equal(breaker.state(), 'closed', 'the success in between reset the count');
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      t = 100;
      assert.equal(breaker.tryAcquire(), true);
      breaker.failed();
      assert.equal(breaker.state(), 'open');
      t = 150;
      assert.equal(breaker.tryAcquire(), false);
      t = 200;
      assert.equal(breaker.tryAcquire(), true);
      breaker.release();
      assert.equal(breaker.tryAcquire(), true, 'a released trial may be taken again');
    });
  });

  describe('retries', () => {
    it('retries only the transport failures after which the transfer may not have arrived', () => {
      for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]) {
        assert.equal(isRetryable(code), true, status[code]);
      }
      for (const code of [
        status.INVALID_ARGUMENT,
        status.UNIMPLEMENTED,
        status.PERMISSION_DENIED,
        status.UNAUTHENTICATED,
        status.INTERNAL,
      ]) {
        assert.equal(isRetryable(code), false, status[code]);
      }
    });

    it('backs off exponentially with jitter between half and all of the capped delay', () => {
      const settings = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
      assert.equal(
        backoffMs(settings, 2, () => 0),
        50,
      );
      assert.equal(
        backoffMs(settings, 2, () => 1),
        100,
      );
      assert.equal(
        backoffMs(settings, 3, () => 1),
        200,
      );
      assert.equal(
        backoffMs(settings, 5, () => 1),
        800,
      );
      assert.equal(
        backoffMs(settings, 9, () => 1),
        1000,
      );
      assert.equal(
        backoffMs(settings, 9, () => 0),
        500,
      );
    });

    it('gives a timeout AB05, an unreachable counterparty AB06, and other errors AB09', () => {
      assert.equal(exhaustedReason(status.DEADLINE_EXCEEDED).code, 'AB05');
      assert.equal(exhaustedReason(status.UNAVAILABLE).code, 'AB06');
      assert.equal(exhaustedReason('circuit-open').code, 'AB06');
      assert.equal(exhaustedReason(status.UNIMPLEMENTED).code, 'AB09');
      assert.match(exhaustedReason(status.UNIMPLEMENTED).description, /UNIMPLEMENTED/);
    });
  });
});
