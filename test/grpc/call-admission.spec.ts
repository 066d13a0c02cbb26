import { strict as assert } from 'node:assert';
import { createAdmission, type AdmissionRefusal, type CallLimits } from '../../src/grpc/call-admission';
import { isEdgeError } from '../../src/grpc/status';

const LIMITS: CallLimits = {
  ratePerSecond: 10,
  burst: 3,
  maxInFlight: 4,
  maxInFlightPerParticipant: 2,
  maxWatchesPerParticipant: 1,
};

/** Admission on a clock the test moves, recording every refusal's reason. */
function admission(limits: Partial<CallLimits> = {}) {
  let t = 1_000_000;
  const refusals: AdmissionRefusal[] = [];
  const a = createAdmission(
    { ...LIMITS, ...limits },
    (r) => refusals.push(r),
    () => t,
  );
  return { a, refusals, advance: (ms: number) => (t += ms) };
}

function released(slot: ReturnType<ReturnType<typeof createAdmission>['admit']>): () => void {
  assert.ok(!isEdgeError(slot), `refused: ${isEdgeError(slot) ? slot.message : ''}`);
  return slot;
}

describe('call admission: rate and in-flight limits per participant', () => {
  it('allows a burst, then refuses with the wait until the next token, and refills at the rate', () => {
    const { a, refusals, advance } = admission({ maxInFlightPerParticipant: 100, maxInFlight: 100 });
    for (let i = 0; i < 3; i++) released(a.admit('HSBKKZKX', 'unary'))();
    const refused = a.admit('HSBKKZKX', 'unary');
    assert.ok(isEdgeError(refused) && refused.kind === 'resource-exhausted');
    assert.equal(refused.retryAfterMs, 100); // one token at 10 per second
    assert.match(refused.message, /HSBKKZKX is over its limit of 10 calls per second/);
    assert.deepEqual(refusals, ['rate']);
    advance(40);
    const early = a.admit('HSBKKZKX', 'unary');
    assert.ok(isEdgeError(early) && early.kind === 'resource-exhausted');
    assert.equal(early.retryAfterMs, 60);
    advance(60);
    released(a.admit('HSBKKZKX', 'unary'))();
    // Another participant has its own bucket.
    released(a.admit('CASPKZKA', 'unary'))();
    // A long quiet spell refills only up to the burst.
    advance(60_000);
    for (let i = 0; i < 3; i++) released(a.admit('HSBKKZKX', 'unary'))();
    assert.ok(isEdgeError(a.admit('HSBKKZKX', 'unary')));
  });

  it('caps calls in progress per participant and in all, and frees a slot once, when the call ends', () => {
    const { a, refusals } = admission({ ratePerSecond: 0 });
    const first = released(a.admit('HSBKKZKX', 'unary'));
    released(a.admit('HSBKKZKX', 'unary'));
    const third = a.admit('HSBKKZKX', 'unary');
    assert.ok(isEdgeError(third) && third.kind === 'resource-exhausted' && third.retryAfterMs > 0);
    assert.match(third.message, /2 calls in progress/);
    released(a.admit('CASPKZKA', 'unary'));
    released(a.admit('CASPKZKA', 'unary'));
    const overall = a.admit('KCJBKZKX', 'unary');
    assert.ok(isEdgeError(overall));
    assert.match(overall.message, /limit of calls in progress/);
    assert.deepEqual(refusals, ['participant-in-flight', 'in-flight']);
    assert.deepEqual(a.inFlight(), { unary: 4, watches: 0 });
    first();
    first(); // twice: the second does nothing
    assert.deepEqual(a.inFlight(), { unary: 3, watches: 0 });
    released(a.admit('KCJBKZKX', 'unary'));
    assert.ok(isEdgeError(a.admit('HSBKKZKX', 'unary')));
  });

  it('gives an office one budget whether it calls as its 8- or 11-character BIC, and a branch its own', () => {
    const { a } = admission({ ratePerSecond: 0 });
    released(a.admit('HSBKKZKX', 'unary'));
    released(a.admit('HSBKKZKXXXX', 'unary'));
    const third = a.admit('HSBKKZKXXXX', 'unary');
    assert.ok(isEdgeError(third));
    assert.match(third.message, /participant HSBKKZKXXXX has 2 calls in progress/);
    assert.ok(!isEdgeError(a.admit('HSBKKZKXALM', 'unary')), 'a branch is its own participant');
  });

  it('counts watches apart from unary calls', () => {
    const { a, refusals } = admission({ ratePerSecond: 0 });
    const watch = released(a.admit('HSBKKZKX', 'watch'));
    const second = a.admit('HSBKKZKX', 'watch');
    assert.ok(isEdgeError(second));
    assert.match(second.message, /1 watches open/);
    released(a.admit('HSBKKZKX', 'unary'));
    watch();
    released(a.admit('HSBKKZKX', 'watch'));
    assert.deepEqual(refusals, ['watches']);
    assert.deepEqual(a.inFlight(), { unary: 1, watches: 1 });
  });

  it('turns the rate limit off at 0 and keeps refusals from spending tokens', () => {
    const off = admission({ ratePerSecond: 0, maxInFlightPerParticipant: 10_000, maxInFlight: 10_000 });
    for (let i = 0; i < 1000; i++) released(off.a.admit('HSBKKZKX', 'unary'))();
    // An in-flight refusal takes no token: the participant still has its burst afterwards.
    const { a } = admission({ maxInFlightPerParticipant: 1 });
    const held = released(a.admit('HSBKKZKX', 'unary'));
    for (let i = 0; i < 5; i++) assert.ok(isEdgeError(a.admit('HSBKKZKX', 'unary')));
    held();
    released(a.admit('HSBKKZKX', 'unary'))();
    released(a.admit('HSBKKZKX', 'unary'))();
  });
});
