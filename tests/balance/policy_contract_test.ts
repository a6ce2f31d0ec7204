/**
 * What every balancing policy promises, run against each one `createPolicy` knows (add a new
 * policy's name to POLICIES and it is held to the same contract).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPolicy } from "../../lib/balance/mod.ts";
import type { BalanceName } from "../../lib/config/types.ts";
import { type FakeServer, servers } from "./_fake_server.ts";

const POLICIES: BalanceName[] = ["round_robin"];

for (const name of POLICIES) {
  describe(`policy contract: ${name}`, () => {
    it("only ever picks available, non-excluded servers", () => {
      const policy = createPolicy<FakeServer>(name);
      const list = servers({ a: 1, b: 3, c: 1, d: 2 });
      list[1].up = false;
      const exclude = new Set([list[3]]);
      for (let i = 0; i < 100; i++) {
        const s = policy.pick(list, { clientAddr: `10.0.0.${i}` }, exclude);
        assert.ok(s === list[0] || s === list[2], `picked ${s?.address}`);
      }
    });

    it("eventually picks every available server", () => {
      const policy = createPolicy<FakeServer>(name);
      const list = servers({ a: 1, b: 1, c: 1 });
      const seen = new Set<string>();
      for (let i = 0; i < 100; i++) seen.add(policy.pick(list, { clientAddr: `10.0.${i}.1` })!.address);
      assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
    });

    it("returns null when nothing can be picked", () => {
      const policy = createPolicy<FakeServer>(name);
      assert.equal(policy.pick([], {}), null);
      const list = servers({ a: 1 });
      list[0].up = false;
      assert.equal(policy.pick(list, {}), null);
      list[0].up = true;
      assert.equal(policy.pick(list, {}, new Set(list)), null);
    });
  });
}
