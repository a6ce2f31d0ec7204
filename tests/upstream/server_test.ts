import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ServerSettings, UpstreamServer } from "../../lib/upstream/server.ts";

/** A clock the test moves by hand. */
class Clock {
  t = 1_000_000;
  readonly now = (): number => this.t;
}

function settings(over: Partial<ServerSettings> = {}): ServerSettings {
  return {
    weight: 10,
    maxConns: 0,
    maxIdle: 0,
    idleMs: 1_000,
    slowStartMs: 0,
    passive: { max_fails: 1, fail_timeout: 5_000, fail_status: [] },
    active: null,
    ...over,
  };
}

function server(over: Partial<ServerSettings> = {}, clock = new Clock()): UpstreamServer {
  return new UpstreamServer({ hostname: "10.0.0.1", port: 80, origin: "10.0.0.1:80", id: "0123456789abcdef" }, settings(over), clock.now);
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: expected ${expected}, got ${actual}`);
}

describe("UpstreamServer", () => {
  it("address is ip:port, with brackets around an IPv6 literal", () => {
    assert.equal(server().address, "10.0.0.1:80");
    const v6 = new UpstreamServer({ hostname: "2001:db8::1", port: 8080, origin: "app.test:8080", id: "x" }, settings());
    assert.equal(v6.address, "[2001:db8::1]:8080");
    assert.equal(v6.hostname, "2001:db8::1");
    assert.equal(v6.origin, "app.test:8080");
  });
});

describe("UpstreamServer slow start", () => {
  it("a server present from the start has its full weight at once", () => {
    const clock = new Clock();
    const s = server({ slowStartMs: 10_000 }, clock);
    assert.equal(s.weight, 10);
    clock.t += 1;
    assert.equal(s.weight, 10);
  });

  it("markNew() ramps the weight from a small share to the full weight over slow_start", () => {
    const clock = new Clock();
    const s = server({ slowStartMs: 10_000 }, clock);
    s.markNew();
    near(s.weight, 0.2, "at once: 2 % of the weight, never 0");
    assert.ok(s.weight > 0);
    clock.t += 2_500;
    near(s.weight, 2.5, "after a quarter");
    clock.t += 2_500;
    near(s.weight, 5, "after half");
    clock.t += 5_000;
    assert.equal(s.weight, 10, "after slow_start");
    clock.t += 60_000;
    assert.equal(s.weight, 10);
  });

  it("markNew() does nothing without slow_start", () => {
    const s = server({ slowStartMs: 0 });
    s.markNew();
    assert.equal(s.weight, 10);
  });

  it("the weight ramps again once a passive mark ends", () => {
    const clock = new Clock();
    const s = server({ slowStartMs: 10_000, passive: { max_fails: 1, fail_timeout: 5_000, fail_status: [] } }, clock);
    assert.equal(s.recordFailure(), true);
    assert.equal(s.available(), false);
    clock.t += 4_999;
    assert.equal(s.available(), false, "still marked down just before fail_timeout");
    clock.t += 1;
    assert.equal(s.available(), true, "back after fail_timeout");
    near(s.weight, 0.2, "back: a small share");
    clock.t += 2_500;
    near(s.weight, 2.5, "a quarter into the ramp");
    clock.t += 7_500;
    assert.equal(s.weight, 10, "full weight slow_start after the mark ended");
  });

  it("an active check that brings the server back up starts the ramp", () => {
    const clock = new Clock();
    const s = server({ slowStartMs: 10_000, active: { rise: 1, fall: 1 } }, clock);
    assert.equal(s.recordCheck(false), "down");
    clock.t += 30_000;
    assert.equal(s.recordCheck(true), "up");
    near(s.weight, 0.2, "just up");
    clock.t += 5_000;
    near(s.weight, 5, "half way");
    clock.t += 5_000;
    assert.equal(s.weight, 10);
  });
});

describe("UpstreamServer availability", () => {
  it("available() is true for a fresh server", () => {
    const s = server();
    assert.equal(s.available(), true);
    assert.equal(s.healthy(), true);
    assert.equal(s.activeUp(), true);
    assert.equal(s.hasRoom(), true);
  });

  it("available() is false while draining", () => {
    const s = server();
    s.draining = true;
    assert.equal(s.available(), false);
    s.draining = false;
    assert.equal(s.available(), true);
  });

  it("available() is false while max_conns requests are in flight", () => {
    const s = server({ maxConns: 2 });
    s.inflight = 1;
    assert.equal(s.hasRoom(), true);
    assert.equal(s.available(), true);
    s.inflight = 2;
    assert.equal(s.hasRoom(), false);
    assert.equal(s.available(), false);
    s.inflight = 1;
    assert.equal(s.available(), true);
  });

  it("max_conns 0 means no limit", () => {
    const s = server({ maxConns: 0 });
    s.inflight = 100_000;
    assert.equal(s.hasRoom(), true);
    assert.equal(s.available(), true);
  });

  it("available() is false while active checks say down", () => {
    const s = server({ active: { rise: 1, fall: 1 } });
    assert.equal(s.recordCheck(false), "down");
    assert.equal(s.activeUp(), false);
    assert.equal(s.healthy(), false);
    assert.equal(s.available(), false);
  });

  it("available() is false while passively marked down, and true again after fail_timeout", () => {
    const clock = new Clock();
    const s = server({ passive: { max_fails: 2, fail_timeout: 5_000, fail_status: [] } }, clock);
    assert.equal(s.recordFailure(), false, "one failure of two");
    assert.equal(s.available(), true);
    assert.equal(s.recordFailure(), true, "the second marks it down");
    assert.equal(s.available(), false);
    assert.equal(s.healthy(), false);
    assert.equal(s.activeUp(), true, "passive marks are not active verdicts");
    assert.equal(s.stats.failures, 2);
    clock.t += 5_000;
    assert.equal(s.available(), true);
    assert.equal(s.healthy(), true);
  });

  it("passiveAdmits() is false while marked down and while the trial after the mark is in flight", () => {
    const clock = new Clock();
    const s = server({ passive: { max_fails: 1, fail_timeout: 5_000, fail_status: [] } }, clock);
    assert.equal(s.passiveAdmits(), true);
    s.recordFailure();
    assert.equal(s.passiveAdmits(), false, "marked down");
    clock.t += 5_000;
    assert.equal(s.passiveAdmits(), true, "the mark ended: one request may try it");
    s.begin();
    assert.equal(s.passiveAdmits(), false, "its trial is in flight");
    assert.equal(s.healthy(), true, "no longer marked down, so healthy() cannot tell fail-open that the server is held back");
    assert.equal(s.end(), "up");
    assert.equal(s.passiveAdmits(), true);
  });

  it("recordFailure() never marks a server down with max_fails 0, but still counts", () => {
    const s = server({ passive: { max_fails: 0, fail_timeout: 5_000, fail_status: [] } });
    for (let i = 0; i < 5; i++) assert.equal(s.recordFailure(), false);
    assert.equal(s.available(), true);
    assert.equal(s.stats.failures, 5);
  });

  it("ignorePassive makes a passively-down server available, and nothing else", () => {
    const s = server({ maxConns: 1, active: { rise: 1, fall: 1 } });
    s.recordFailure();
    assert.equal(s.available(), false);
    s.ignorePassive = true;
    assert.equal(s.available(), true, "passive mark ignored");
    s.inflight = 1;
    assert.equal(s.available(), false, "still full");
    s.inflight = 0;
    s.draining = true;
    assert.equal(s.available(), false, "still draining");
    s.draining = false;
    s.recordCheck(false);
    assert.equal(s.available(), false, "still actively down");
    s.ignorePassive = false;
  });
});

describe("UpstreamServer active checks", () => {
  it("recordCheck() returns null and changes nothing without active checks", () => {
    const s = server({ active: null });
    assert.equal(s.recordCheck(false), null);
    assert.equal(s.recordCheck(false), null);
    assert.equal(s.activeUp(), true);
  });

  it("recordCheck(): the first result decides at once, then rise/fall streaks", () => {
    const s = server({ active: { rise: 2, fall: 3 } });
    assert.equal(s.recordCheck(false), "down", "first failure: down at once");
    assert.equal(s.recordCheck(true), null);
    assert.equal(s.activeUp(), false);
    assert.equal(s.recordCheck(true), "up", "rise 2");
    assert.equal(s.recordCheck(false), null);
    assert.equal(s.recordCheck(false), null);
    assert.equal(s.activeUp(), true);
    assert.equal(s.recordCheck(false), "down", "fall 3");
  });

  it("configure() with new rise/fall keeps a down verdict, and the new rise applies", () => {
    const s = server({ active: { rise: 2, fall: 3 } });
    assert.equal(s.recordCheck(false), "down");
    s.configure(settings({ active: { rise: 3, fall: 1 } }));
    assert.equal(s.activeUp(), false, "verdict kept");
    assert.equal(s.available(), false);
    assert.equal(s.recordCheck(true), null);
    assert.equal(s.recordCheck(true), null);
    assert.equal(s.recordCheck(true), "up", "rise 3");
    assert.equal(s.recordCheck(false), "down", "fall 1");
  });

  it("configure() with new rise/fall keeps an up verdict: a single failure is no longer decisive", () => {
    const s = server({ active: { rise: 2, fall: 3 } });
    assert.equal(s.recordCheck(true), null, "first check passed");
    s.configure(settings({ active: { rise: 2, fall: 2 } }));
    assert.equal(s.activeUp(), true);
    assert.equal(s.recordCheck(false), null, "restored state: one failure of fall 2");
    assert.equal(s.recordCheck(false), "down");
  });

  it("configure() with unchanged rise/fall keeps the running streak", () => {
    const s = server({ active: { rise: 2, fall: 3 } });
    assert.equal(s.recordCheck(true), null);
    assert.equal(s.recordCheck(false), null);
    assert.equal(s.recordCheck(false), null);
    s.configure(settings({ weight: 3, active: { rise: 2, fall: 3 } }));
    assert.equal(s.recordCheck(false), "down", "third failure in a row");
  });

  it("configure() without active checks brings an actively-down server up", () => {
    const s = server({ active: { rise: 2, fall: 3 } });
    s.recordCheck(false);
    s.configure(settings({ active: null }));
    assert.equal(s.activeUp(), true);
    assert.equal(s.available(), true);
  });
});

describe("UpstreamServer configure()", () => {
  it("configure() applies the new weight and max_conns, keeping counters", () => {
    const s = server({ weight: 10, maxConns: 0 });
    s.inflight = 2;
    s.stats.requests = 7;
    s.configure(settings({ weight: 4, maxConns: 2, maxIdle: 3, idleMs: 500 }));
    assert.equal(s.weight, 4);
    assert.equal(s.hasRoom(), false);
    assert.equal(s.inflight, 2);
    assert.equal(s.stats.requests, 7);
    assert.equal(s.pool.maxIdle, 3);
    assert.equal(s.pool.idleMs, 500);
  });

  it("configure() keeps a passive mark when the passive settings are unchanged", () => {
    const clock = new Clock();
    const s = server({ passive: { max_fails: 1, fail_timeout: 5_000, fail_status: [] } }, clock);
    assert.equal(s.recordFailure(), true);
    // A new settings object (as a reload builds), other fields changed, max_fails/fail_timeout equal.
    s.configure(settings({ weight: 3, passive: { max_fails: 1, fail_timeout: 5_000, fail_status: [502] } }));
    assert.equal(s.healthy(), false, "still marked down");
    assert.equal(s.available(), false);
    clock.t += 5_000;
    assert.equal(s.available(), true, "the mark ends when it would have");
  });

  it("configure() keeps the passive failure count when the passive settings are unchanged", () => {
    const s = server({ passive: { max_fails: 2, fail_timeout: 5_000, fail_status: [] } });
    assert.equal(s.recordFailure(), false);
    s.configure(settings({ passive: { max_fails: 2, fail_timeout: 5_000, fail_status: [] } }));
    assert.equal(s.recordFailure(), true, "the failure before configure() still counts");
  });
});
