import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FirstAvailable } from "../../lib/balance/mod.ts";
import { type FakeServer, servers } from "./_fake_server.ts";

describe("FirstAvailable", () => {
  it("picks the first server in list order, whatever the weights and loads", () => {
    const policy = new FirstAvailable<FakeServer>();
    const list = servers({ a: 1, b: 5, c: 9 });
    list[0].inflight = 50;
    for (let i = 0; i < 10; i++) assert.equal(policy.pick(list, { hashKey: `${i}`, clientAddr: "::1" }), list[0]);
  });

  it("falls through to the next server when the first is unavailable, and back when it recovers", () => {
    const policy = new FirstAvailable<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    list[0].up = false;
    assert.equal(policy.pick(list, {}), list[1]);
    list[1].up = false;
    assert.equal(policy.pick(list, {}), list[2]);
    list[0].up = true;
    assert.equal(policy.pick(list, {}), list[0]);
  });

  it("skips excluded servers (a retry goes to the next in order)", () => {
    const policy = new FirstAvailable<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    assert.equal(policy.pick(list, {}, new Set([list[0]])), list[1]);
    assert.equal(policy.pick(list, {}, new Set([list[0], list[1]])), list[2]);
    list[2].up = false;
    assert.equal(policy.pick(list, {}, new Set([list[0], list[1]])), null);
  });

  it("fills servers in order when each has max_conns", () => {
    const policy = new FirstAvailable<FakeServer>();
    const list = servers({ a: 1, b: 1, c: 1 });
    for (const s of list) s.maxConns = 2;
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      const s = policy.pick(list, {});
      order.push(s?.address ?? "-");
      if (s) s.inflight++;
    }
    assert.deepEqual(order, ["a", "a", "b", "b", "c", "c", "-"]);
    list[1].inflight--;
    assert.equal(policy.pick(list, {}), list[1], "the first server with room again");
  });
});
