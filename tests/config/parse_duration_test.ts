import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration, parseDurationFraction } from "../../lib/config/parse_duration.ts";

describe("parseDuration()", () => {
  it("parseDuration() reads each unit", () => {
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("5s"), 5_000);
    assert.equal(parseDuration("1m"), 60_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("0s"), 0);
  });

  it("parseDuration() adds combined units", () => {
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("1h2m3s4ms"), 3_723_004);
  });

  it("parseDuration() accepts fractions that come to whole milliseconds", () => {
    assert.equal(parseDuration("1.5s"), 1_500);
    assert.equal(parseDuration("0.1s"), 100);
    assert.equal(parseDuration("0.5h"), 1_800_000);
  });

  it("parseDuration() rejects a bare number", () => {
    assert.throws(() => parseDuration("5"), {
      name: "RangeError",
      message: 'needs a unit, like "5s" or "5ms", got "5"',
    });
  });

  it("parseDuration() rejects an unknown unit", () => {
    assert.throws(() => parseDuration("5d"), { message: 'unknown unit "d" (use h, m, s or ms), got "5d"' });
    assert.throws(() => parseDuration("5S"), { message: 'unknown unit "S" (use h, m, s or ms), got "5S"' });
  });

  it("parseDuration() rejects repeated or out-of-order units", () => {
    const message = 'must use each unit once, largest first, like "1m30s", got "30s1m"';
    assert.throws(() => parseDuration("30s1m"), { message });
    assert.throws(() => parseDuration("1m1m"), { message: message.replace("30s1m", "1m1m") });
  });

  it("parseDuration() rejects negative, empty and malformed text", () => {
    assert.throws(() => parseDuration("-5s"), { message: 'must not be negative, got "-5s"' });
    const malformed = (text: string) => `must be a duration like "5s", "250ms" or "1m30s", got ${JSON.stringify(text)}`;
    for (const text of ["", "s", "5 s", " 5s", "1m 30s", "5s.", ".5s"]) {
      assert.throws(() => parseDuration(text), { message: malformed(text) }, text);
    }
  });

  it("parseDuration() rejects fractions of a millisecond", () => {
    assert.throws(() => parseDuration("1.5ms"), { message: 'must be a whole number of milliseconds, got "1.5ms"' });
  });

  it("parseDuration() rejects values too large to be exact", () => {
    assert.throws(() => parseDuration("9999999999999h"), { message: 'is too large, got "9999999999999h"' });
  });
});

describe("parseDurationFraction()", () => {
  it("parseDurationFraction() keeps a fraction of a millisecond for the caller's range check", () => {
    assert.equal(parseDurationFraction("0.5ms"), 0.5);
    assert.equal(parseDurationFraction("1.5ms"), 1.5);
    assert.equal(parseDurationFraction("0.1s"), 100);
    assert.equal(parseDurationFraction("9999999999999h"), 9999999999999 * 3_600_000);
  });

  it("parseDurationFraction() rejects what is no duration as parseDuration() does", () => {
    for (const text of ["5", "5d", "-5s", "1m1m", "5 s"]) {
      assert.throws(() => parseDurationFraction(text), { message: messageOf(() => parseDuration(text)) }, text);
    }
  });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a throw");
}
