import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassiveHealth } from "../../lib/health/mod.ts";

/** A PassiveHealth on a clock the test moves by hand. */
function withClock(max_fails: number, fail_timeout: number) {
  const clock = { now: 1_000_000 };
  const ph = new PassiveHealth({ max_fails, fail_timeout }, () => clock.now);
  return { ph, clock };
}

describe("PassiveHealth", () => {
  it("max_fails 1: the first failure marks the server down for fail_timeout", () => {
    const { ph, clock } = withClock(1, 10_000);
    assert.equal(ph.isDown(), false);
    assert.equal(ph.downUntil, 0);
    assert.equal(ph.recordFailure(), true);
    assert.equal(ph.isDown(), true);
    assert.equal(ph.downUntil, 1_010_000);
    clock.now += 9_999;
    assert.equal(ph.isDown(), true);
    clock.now += 1;
    assert.equal(ph.isDown(), false);
    assert.equal(ph.downUntil, 0);
  });

  it("max_fails 3: three failures within fail_timeout mark it down, two do not", () => {
    const { ph, clock } = withClock(3, 10_000);
    assert.equal(ph.recordFailure(), false);
    clock.now += 4_000;
    assert.equal(ph.recordFailure(), false);
    assert.equal(ph.isDown(), false);
    clock.now += 5_999;
    assert.equal(ph.recordFailure(), true);
    assert.equal(ph.isDown(), true);
    assert.equal(ph.downUntil, clock.now + 10_000);
  });

  it("failures older than fail_timeout no longer count (the window slides)", () => {
    const { ph, clock } = withClock(3, 10_000);
    ph.recordFailure(); // t=0
    clock.now += 6_000;
    ph.recordFailure(); // t=6s
    clock.now += 4_000;
    // t=10s: the first failure is out of the window, so this is the second of three.
    assert.equal(ph.recordFailure(), false);
    assert.equal(ph.isDown(), false);
    clock.now += 5_000;
    // t=15s: the failures at 6s, 10s and 15s are within 10s.
    assert.equal(ph.recordFailure(), true);
  });

  it("recovers after fail_timeout with a clean count", () => {
    const { ph, clock } = withClock(2, 1_000);
    ph.recordFailure();
    assert.equal(ph.recordFailure(), true);
    clock.now += 1_000;
    assert.equal(ph.isDown(), false);
    assert.equal(ph.recordFailure(), false, "the failures before the down period were forgotten");
    assert.equal(ph.isDown(), false);
    assert.equal(ph.recordFailure(), true);
  });

  it("failures while down neither count nor extend the down period", () => {
    const { ph, clock } = withClock(1, 1_000);
    assert.equal(ph.recordFailure(), true);
    const until = ph.downUntil;
    clock.now += 500;
    assert.equal(ph.recordFailure(), false);
    assert.equal(ph.downUntil, until);
    clock.now += 500;
    assert.equal(ph.isDown(), false);
  });

  it("max_fails 0 never marks the server down", () => {
    const { ph } = withClock(0, 10_000);
    for (let i = 0; i < 100; i++) assert.equal(ph.recordFailure(), false);
    assert.equal(ph.isDown(), false);
    assert.equal(ph.downUntil, 0);
  });

  it("uses the real clock by default", () => {
    const ph = new PassiveHealth({ max_fails: 1, fail_timeout: 60_000 });
    const before = Date.now();
    assert.equal(ph.recordFailure(), true);
    assert.ok(ph.downUntil >= before + 60_000 && ph.downUntil <= Date.now() + 60_000);
  });
});

describe("PassiveHealth probation after a mark", () => {
  it("admits() lets one trial request through after fail_timeout, and no second one while it runs", () => {
    const { ph, clock } = withClock(1, 10_000);
    assert.equal(ph.admits(), true);
    ph.recordFailure();
    assert.equal(ph.admits(), false);
    clock.now += 10_000;
    assert.equal(ph.admits(), true);
    ph.begin();
    assert.equal(ph.admits(), false, "a second request while the trial runs");
    assert.equal(ph.end(), "up");
    assert.equal(ph.admits(), true);
    ph.begin();
    ph.begin();
    assert.equal(ph.admits(), true, "off probation: requests are not limited");
  });

  it("end() marks the server down again when the trial failed, even below max_fails", () => {
    const { ph, clock } = withClock(3, 10_000);
    ph.recordFailure();
    ph.recordFailure();
    ph.recordFailure();
    clock.now += 10_000;
    ph.begin();
    assert.equal(ph.recordFailure(), false, "one failure is below max_fails");
    assert.equal(ph.end(), "down");
    assert.equal(ph.isDown(), true);
    assert.equal(ph.downUntil, clock.now + 10_000);
  });

  it("a trial failure that reaches max_fails marks at once, and end() does not mark twice", () => {
    const { ph, clock } = withClock(1, 10_000);
    ph.recordFailure();
    clock.now += 10_000;
    ph.begin();
    assert.equal(ph.recordFailure(), true);
    assert.equal(ph.end(), null);
    assert.equal(ph.isDown(), true);
  });

  it("begin()/end() without a mark change nothing", () => {
    const { ph } = withClock(1, 10_000);
    ph.begin();
    assert.equal(ph.admits(), true);
    assert.equal(ph.end(), null);
  });

  it("end() says \"up\" once, for the trial that went well, not for the requests after it", () => {
    const { ph, clock } = withClock(1, 10_000);
    ph.recordFailure();
    clock.now += 10_000;
    ph.begin();
    assert.equal(ph.end(), "up");
    ph.begin();
    assert.equal(ph.end(), null);
  });

  it("end() says \"up\" after a failed trial's new mark ends and the next trial goes well", () => {
    const { ph, clock } = withClock(1, 10_000);
    ph.recordFailure();
    clock.now += 10_000;
    ph.begin();
    ph.recordFailure();
    assert.equal(ph.end(), null, "the failure itself reached max_fails and marked it");
    clock.now += 10_000;
    ph.begin();
    assert.equal(ph.end(), "up");
  });

  it("end() of a request that began while the server was down is no trial", () => {
    const { ph, clock } = withClock(1, 10_000);
    ph.recordFailure();
    ph.begin();
    clock.now += 10_000;
    assert.equal(ph.end(), null);
    ph.begin();
    assert.equal(ph.end(), "up", "the first request after the mark is the trial");
  });
});
