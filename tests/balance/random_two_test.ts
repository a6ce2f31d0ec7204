import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RandomTwo } from "../../lib/balance/mod.ts";
import { type FakeServer, servers } from "./_fake_server.ts";
import { mulberry32 } from "../_helpers/seeded_random.ts";

const make = (seed = 11) => new RandomTwo<FakeServer>({ random: mulberry32(seed) });

function count(policy: RandomTwo<FakeServer>, list: FakeServer[], n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const a = policy.pick(list, {})!.address;
    out[a] = (out[a] ?? 0) + 1;
  }
  return out;
}

describe("RandomTwo", () => {
  it("never picks the most loaded server while another is eligible", () => {
    const list = servers({ a: 1, b: 1, c: 1, d: 1 });
    list[2].inflight = 100;
    const got = count(make(), list, 2000);
    assert.equal(got.c, undefined);
    for (const a of ["a", "b", "d"]) assert.ok(got[a] > 500, `${a}: ${got[a]}`);
  });

  it("avoids a heavily loaded server even when its weight is highest", () => {
    const list = servers({ a: 1, b: 1, c: 10 });
    list[2].inflight = 500; // 50 per unit of weight against 0
    assert.equal(count(make(), list, 1000).c, undefined);
  });

  it("with two servers always takes the less loaded one", () => {
    const list = servers({ a: 1, b: 1 });
    list[0].inflight = 3;
    list[1].inflight = 2;
    assert.deepEqual(count(make(), list, 200), { b: 200 });
  });

  it("with one eligible server takes it, however loaded", () => {
    const list = servers({ a: 1, b: 1 });
    list[0].inflight = 1000;
    assert.equal(make().pick(list, {}, new Set([list[1]])), list[0]);
    list[1].up = false;
    assert.equal(make().pick(list, {}), list[0]);
  });

  it("on equal loads takes the first drawn, so idle shares follow weights 1:3 (±3 points of 4000)", () => {
    const got = count(make(), servers({ a: 1, b: 3 }), 4000);
    assert.ok(Math.abs(got.a / 4000 - 0.25) <= 0.03, `a: ${got.a}`);
  });

  it("draws from the given random source (same seed, same picks)", () => {
    const list = servers({ a: 1, b: 2, c: 3 });
    const seq = (p: RandomTwo<FakeServer>) => Array.from({ length: 50 }, () => p.pick(list, {})!.address).join("");
    assert.equal(seq(make(5)), seq(make(5)));
    assert.notEqual(seq(make(5)), seq(make(6)));
  });
});
