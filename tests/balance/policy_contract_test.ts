/**
 * What every balancing policy promises, run against each one `createPolicy` knows. CAPABILITIES
 * is keyed by BalanceName, so a new policy name does not type-check until it is listed here and
 * held to the same contract.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPolicy, type PickContext, type Policy } from "../../lib/balance/mod.ts";
import type { BalanceName } from "../../lib/config/types.ts";
import { FakeServer, servers } from "./_fake_server.ts";
import { mulberry32 } from "../_helpers/seeded_random.ts";

interface Capabilities {
  /** Why the policy's traffic shares do not follow the weights, or null when they do. */
  weightsExempt: string | null;
}

const CAPABILITIES: Record<BalanceName, Capabilities> = {
  round_robin: { weightsExempt: null },
  least_conn: { weightsExempt: null },
  random_two: { weightsExempt: null },
  hash: { weightsExempt: null },
  ip_hash: { weightsExempt: null },
  first: {
    weightsExempt: "first sends everything to the first server with room (HAProxy's balance first): " +
      "list order and max_conns place the traffic, weights do not",
  },
};

const POLICIES = Object.keys(CAPABILITIES) as BalanceName[];

/** Request i's context: a different hash key and client address for every i. */
function ctx(i: number): PickContext {
  return { hashKey: `user-${i}`, clientAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
}

/**
 * Share of `picks` requests each server gets under steady load: every request stays in flight
 * for the next `concurrency` picks (equal response times), so load-aware policies see real
 * in-flight counts.
 */
function shares(policy: Policy<FakeServer>, list: FakeServer[], picks: number, concurrency: number): number[] {
  const counts = new Map<FakeServer, number>(list.map((s) => [s, 0]));
  const inFlight: FakeServer[] = [];
  for (let i = 0; i < picks; i++) {
    const s = policy.pick(list, ctx(i));
    assert.ok(s, `pick ${i} returned null`);
    counts.set(s, counts.get(s)! + 1);
    s.inflight++;
    inFlight.push(s);
    if (inFlight.length > concurrency) inFlight.shift()!.inflight--;
  }
  return list.map((s) => counts.get(s)! / picks);
}

for (const name of POLICIES) {
  const make = () => createPolicy<FakeServer>(name, { random: mulberry32(42) });

  describe(`policy contract: ${name}`, () => {
    it("only ever picks available, non-excluded servers", () => {
      const policy = make();
      const list = servers({ a: 1, b: 3, c: 1, d: 2 });
      list[1].up = false;
      const exclude = new Set([list[3]]);
      for (let i = 0; i < 300; i++) {
        const s = policy.pick(list, ctx(i), exclude);
        assert.ok(s === list[0] || s === list[2], `picked ${s?.address}`);
      }
      for (let i = 0; i < 100; i++) {
        const s = policy.pick(list, {}, exclude);
        assert.ok(s === list[0] || s === list[2], `picked ${s?.address} without a key`);
      }
    });

    it("never picks a server that is full (max_conns reached)", () => {
      const policy = make();
      const list = servers({ a: 1, b: 1, c: 1 });
      list[0].maxConns = 0;
      for (let i = 0; i < 200; i++) assert.notEqual(policy.pick(list, ctx(i))?.address, "a");
    });

    it("eventually picks every available server", () => {
      const policy = make();
      const list = servers({ a: 1, b: 1, c: 1 });
      const seen = new Set<string>();
      for (let i = 0; i < 100; i++) seen.add(policy.pick(list, ctx(i))!.address);
      // `first` reaches the later servers only when the earlier ones cannot take the request.
      list[0].up = false;
      for (let i = 0; i < 100; i++) seen.add(policy.pick(list, ctx(i))!.address);
      list[1].up = false;
      for (let i = 0; i < 100; i++) seen.add(policy.pick(list, ctx(i))!.address);
      assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
    });

    it("returns null for an empty list, all unavailable, or all excluded", () => {
      const policy = make();
      for (const c of [{}, ctx(1)]) {
        assert.equal(policy.pick([], c), null);
        const list = servers({ a: 1, b: 2 });
        for (const s of list) s.up = false;
        assert.equal(policy.pick(list, c), null);
        for (const s of list) s.up = true;
        assert.equal(policy.pick(list, c, new Set(list)), null);
        assert.ok(policy.pick(list, c), "picks again once a server can take it");
      }
    });

    it("picks the only eligible server whatever its load or weight", () => {
      const policy = make();
      const list = servers({ a: 1, b: 0.25, c: 1 });
      list[0].up = false;
      list[1].inflight = 1000;
      for (let i = 0; i < 20; i++) assert.equal(policy.pick(list, ctx(i), new Set([list[2]])), list[1]);
    });

    const exempt = CAPABILITIES[name].weightsExempt;
    if (exempt === null) {
      it("honours weights 1:2:3 over 6000 picks (each share within ±2.5 points)", () => {
        const got = shares(make(), servers({ a: 1, b: 2, c: 3 }), 6000, 30);
        const want = [1 / 6, 2 / 6, 3 / 6];
        for (let i = 0; i < 3; i++) {
          assert.ok(Math.abs(got[i] - want[i]) <= 0.025, `share of ${"abc"[i]}: ${got[i]}, want ${want[i]}`);
        }
      });

      it("honours fractional weights 0.5:1 (slow start) over 3000 picks (within ±2.5 points)", () => {
        const got = shares(make(), servers({ a: 0.5, b: 1 }), 3000, 30);
        assert.ok(Math.abs(got[0] - 1 / 3) <= 0.025, `share of a: ${got[0]}, want 1/3`);
      });
    } else {
      it(`fills servers in list order instead of by weight (exempt from the weights case: ${exempt})`, () => {
        const policy = make();
        const list = servers({ a: 1, b: 2, c: 3 });
        for (const s of list) s.maxConns = 10;
        const inFlight: FakeServer[] = [];
        for (let i = 0; i < 3000; i++) {
          const s = policy.pick(list, ctx(i))!;
          const firstWithRoom = list.find((x) => x.inflight < x.maxConns);
          assert.equal(s, firstWithRoom, `pick ${i}: in flight ${list.map((x) => x.inflight)}`);
          s.inflight++;
          inFlight.push(s);
          if (inFlight.length > 15) inFlight.shift()!.inflight--;
        }
        assert.equal(list[2].inflight, 0, "c, the heaviest, stays idle while a and b have room");
      });
    }
  });
}
