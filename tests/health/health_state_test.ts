import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HealthState } from "../../lib/health/mod.ts";

/** Feeds `results` ("+" pass, "-" fail) and returns the transitions as a string: U, D or . */
function feed(s: HealthState, results: string): string {
  let out = "";
  for (const r of results) {
    const t = s.record(r === "+");
    out += t === "up" ? "U" : t === "down" ? "D" : ".";
  }
  return out;
}

describe("HealthState", () => {
  it("starts up, before any check", () => {
    assert.equal(new HealthState(2, 3).up, true);
  });

  it("a failed first check takes the server down at once", () => {
    const s = new HealthState(2, 3);
    assert.equal(s.record(false), "down");
    assert.equal(s.up, false);
  });

  it("a passed first check keeps the server up without a transition", () => {
    const s = new HealthState(2, 3);
    assert.equal(s.record(true), null);
    assert.equal(s.up, true);
  });

  it("after the first check an up server goes down only after `fall` failures in a row", () => {
    const s = new HealthState(2, 3);
    assert.equal(feed(s, "+--"), "...");
    assert.equal(s.up, true);
    assert.equal(feed(s, "-"), "D");
    assert.equal(s.up, false);
  });

  it("a down server comes up only after `rise` passes in a row", () => {
    const s = new HealthState(3, 2);
    assert.equal(feed(s, "-++"), "D..");
    assert.equal(s.up, false);
    assert.equal(feed(s, "+"), "U");
    assert.equal(s.up, true);
  });

  it("a pass resets the failure streak and a failure resets the pass streak", () => {
    const s = new HealthState(2, 3);
    assert.equal(feed(s, "+--+--+--+"), "..........");
    assert.equal(s.up, true);
    assert.equal(feed(s, "---"), "..D");
    assert.equal(feed(s, "+-+-+-"), "......");
    assert.equal(s.up, false);
    assert.equal(feed(s, "++"), ".U");
  });

  it("rise 1 and fall 1 follow every result after the first", () => {
    const s = new HealthState(1, 1);
    assert.equal(feed(s, "++-+--++"), "..DUD.U.");
  });

  it("streaks start afresh after every transition", () => {
    const s = new HealthState(2, 2);
    assert.equal(feed(s, "+--"), "..D");
    assert.equal(feed(s, "+"), ".");
    assert.equal(feed(s, "+"), "U");
    assert.equal(feed(s, "-"), ".");
    assert.equal(feed(s, "-"), "D");
  });

  it("rejects rise or fall below 1", () => {
    assert.throws(() => new HealthState(0, 3), /rise.*"0"/);
    assert.throws(() => new HealthState(2, 0), /fall.*"0"/);
    assert.throws(() => new HealthState(1.5, 1), /rise/);
  });
});

describe("HealthState restored across a reload", () => {
  it("HealthState(rise, fall, restored) keeps the verdict and needs full streaks to flip", () => {
    const up = new HealthState(2, 3, true);
    assert.equal(up.record(false), null);
    assert.equal(up.record(false), null);
    assert.equal(up.up, true);
    assert.equal(up.record(false), "down");
    const down = new HealthState(2, 3, false);
    assert.equal(down.up, false);
    assert.equal(down.record(true), null);
    assert.equal(down.record(true), "up");
  });
});
