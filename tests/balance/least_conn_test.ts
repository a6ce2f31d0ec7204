import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LeastConn } from "../../lib/balance/mod.ts";
import { type FakeServer, servers } from "./_fake_server.ts";
import { mulberry32 } from "../_helpers/seeded_random.ts";

const make = (seed = 7) => new LeastConn<FakeServer>({ random: mulberry32(seed) });

function count(policy: LeastConn<FakeServer>, list: FakeServer[], n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const a = policy.pick(list, {})!.address;
    out[a] = (out[a] ?? 0) + 1;
  }
  return out;
}

describe("LeastConn", () => {
  it("picks the server with the fewest requests in flight", () => {
    const list = servers({ a: 1, b: 1, c: 1 });
    list[0].inflight = 4;
    list[1].inflight = 1;
    list[2].inflight = 3;
    const policy = make();
    for (let i = 0; i < 20; i++) assert.equal(policy.pick(list, {}), list[1]);
  });

  it("compares in-flight counts relative to weight", () => {
    const list = servers({ a: 1, b: 3 });
    // a: 2/1 = 2, b: 5/3 ≈ 1.67 → b, although it has more in flight.
    list[0].inflight = 2;
    list[1].inflight = 5;
    assert.equal(make().pick(list, {}), list[1]);
    // b: 7/3 ≈ 2.33 > 2 → a.
    list[1].inflight = 7;
    assert.equal(make().pick(list, {}), list[0]);
  });

  it("compares fractional (slow-start) weights exactly enough: 1/0.5 = 2 < 3/1", () => {
    const list = servers({ a: 0.5, b: 1 });
    list[0].inflight = 1;
    list[1].inflight = 3;
    assert.equal(make().pick(list, {}), list[0]);
    list[1].inflight = 1;
    assert.equal(make().pick(list, {}), list[1]);
  });

  it("fills servers to in-flight counts in the ratio of their weights", () => {
    const policy = make();
    const list = servers({ a: 1, b: 2, c: 3 });
    for (let i = 0; i < 60; i++) policy.pick(list, {})!.inflight++;
    assert.deepEqual(list.map((s) => s.inflight), [10, 20, 30]);
  });

  it("breaks ties at random: each of three tied servers gets about a third (±5 points of 3000)", () => {
    const list = servers({ a: 1, b: 1, c: 1, d: 1 });
    list[3].inflight = 1;
    const got = count(make(), list, 3000);
    assert.equal(got.d, undefined, "the loaded server is never picked");
    for (const a of ["a", "b", "c"]) assert.ok(Math.abs(got[a] / 3000 - 1 / 3) <= 0.05, `${a}: ${got[a]}`);
  });

  it("breaks a tie between weighted servers by weight (1/1 vs 3/3 → 1:3, ±5 points of 4000)", () => {
    const list = servers({ a: 1, b: 3 });
    list[0].inflight = 1;
    list[1].inflight = 3;
    const got = count(make(), list, 4000);
    assert.ok(Math.abs(got.a / 4000 - 0.25) <= 0.05, `a ${got.a}, b ${got.b}`);
  });

  it("shares idle servers by weight: 2:1:1 with nothing in flight gives 50 %, 25 %, 25 % (±5 points of 4000)", () => {
    const list = servers({ a: 2, b: 1, c: 1 });
    const got = count(make(), list, 4000);
    for (const [a, want] of [["a", 0.5], ["b", 0.25], ["c", 0.25]] as const) {
      assert.ok(Math.abs(got[a] / 4000 - want) <= 0.05, `${a}: ${got[a]} of 4000, expected ${want * 100} %`);
    }
  });

  it("draws tie-breaks from the given random source (same seed, same picks)", () => {
    const list = servers({ a: 1, b: 1, c: 1 });
    const seq = (p: LeastConn<FakeServer>) => Array.from({ length: 50 }, () => p.pick(list, {})!.address).join("");
    assert.equal(seq(make(3)), seq(make(3)));
    assert.notEqual(seq(make(3)), seq(make(4)));
  });
});
