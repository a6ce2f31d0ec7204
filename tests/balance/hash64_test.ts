/** Tests of lib/balance/_hash64.ts, the hash under `hash` and `ip_hash`. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hash53, keyState, pairUnit } from "../../lib/balance/_hash64.ts";

describe("hash53", () => {
  it("matches cyrb53's published values, so every runtime and version agrees", () => {
    assert.equal(hash53("a"), 7929297801672961);
    assert.equal(hash53("b"), 8684336938537663);
    assert.equal(hash53("revenge"), 4051478007546757);
    assert.equal(hash53("revenue"), 8309097637345594);
  });

  it("returns integers in [0, 2^53)", () => {
    for (let i = 0; i < 1000; i++) {
      const h = hash53(`k${i}`);
      assert.ok(Number.isSafeInteger(h) && h >= 0, `hash53("k${i}") = ${h}`);
    }
  });
});

describe("pairUnit", () => {
  it("is strictly inside (0, 1) and pinned for a known pair", () => {
    for (let i = 0; i < 2000; i++) {
      const u = pairUnit(keyState(`key-${i}`), "10.0.0.1:8080");
      assert.ok(u > 0 && u < 1, `u = ${u}`);
      assert.ok(Number.isFinite(Math.log(u)));
    }
    // Changing this value reshuffles every hash-balanced key in a rolling upgrade: do it on purpose only.
    assert.equal(pairUnit(keyState("user-1"), "10.0.0.1:8080"), 0.4727021593255233);
  });

  it('keeps key and address apart: ("ab", "c") and ("a", "bc") differ', () => {
    assert.notEqual(pairUnit(keyState("ab"), "c"), pairUnit(keyState("a"), "bc"));
    assert.notEqual(pairUnit(keyState(""), "abc"), pairUnit(keyState("abc"), ""));
  });

  it("spreads sequential keys evenly over 10 buckets (each within ±1.5 points of 10%)", () => {
    const buckets = new Array(10).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) buckets[Math.floor(pairUnit(keyState(`${i}`), "s:1") * 10)]++;
    for (const [b, c] of buckets.entries()) assert.ok(Math.abs(c / n - 0.1) <= 0.015, `bucket ${b}: ${c / n}`);
  });

  it("gives unrelated values for addresses that differ in one character", () => {
    // P(u(a) < u(b)) must be about 1/2 across keys, or one server would win most keys.
    let below = 0;
    const n = 10000;
    for (let i = 0; i < n; i++) {
      const k = keyState(`session-${i}`);
      if (pairUnit(k, "10.0.0.1:80") < pairUnit(k, "10.0.0.2:80")) below++;
    }
    assert.ok(Math.abs(below / n - 0.5) <= 0.02, `share ${below / n}`);
  });
});
